"""Portal requests fired throughout a real restore get 200 or 503, never a 500.

A real HTTP server (live_server) answers a thread that keeps asking for portal pages while
backups.services.backup_restore replaces the PostgreSQL schema from a real backup.
"""

import threading
import time
from collections import Counter

import pytest
import requests
from django.db import connection, connections

from backups.services import backup_create, backup_restore
from timetracker.models import TimeEntry

pytestmark = pytest.mark.django_db(transaction=True)

PORTAL_PATHS = ["/portal/?days=30", "/portal/reports/?format=csv&days=30", "/portal/login/"]


def portal_session(base_url: str) -> requests.Session:
    session = requests.Session()
    session.get(f"{base_url}/portal/login/", timeout=10).raise_for_status()
    response = session.post(
        f"{base_url}/portal/login/",
        data={"username": "dana", "password": "dana-password", "csrfmiddlewaretoken": session.cookies["csrftoken"]},
        headers={"Referer": f"{base_url}/portal/login/"},
        allow_redirects=False,
        timeout=10,
    )
    assert (response.status_code, response.headers["Location"]) == (302, "/portal/")
    return session


class PortalVisitor(threading.Thread):
    """Requests portal pages in a loop and keeps every (path, status, body start)."""

    def __init__(self, session: requests.Session, base_url: str):
        super().__init__(daemon=True)
        self.session, self.base_url = session, base_url
        self.answers: list[tuple[str, int, str]] = []
        self.stop = threading.Event()

    def run(self):
        while not self.stop.is_set():
            for path in PORTAL_PATHS:
                try:
                    response = self.session.get(self.base_url + path, timeout=150, allow_redirects=False)
                except requests.RequestException as error:  # counted as a failure, status 0
                    self.answers.append((path, 0, repr(error)))
                    continue
                self.answers.append((path, response.status_code, response.text[:300]))

    def wait_for(self, status: int, *, after: int = 0, timeout: float = 60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(answer[1] == status for answer in self.answers[after:]):
                return
            time.sleep(0.05)
        raise AssertionError(f"no {status} within {timeout} s: {Counter(a[1] for a in self.answers)}")


def test_portal_answers_200_or_503_throughout_a_restore(live_server, dana, acme_hours):
    if connection.vendor != "postgresql":
        pytest.skip("needs the PostgreSQL that scripts/test.sh starts")
    session = portal_session(live_server.url)  # before the backup: the session survives the restore
    backup = backup_create()
    TimeEntry.objects.filter(notes="Landing page").delete()  # the restore brings it back
    # Two visitors at once (the live server is threaded), so requests are in flight when the
    # flag goes up and when the schema is dropped.
    second_session = requests.Session()
    second_session.cookies.update(session.cookies)
    visitor, second = PortalVisitor(session, live_server.url), PortalVisitor(second_session, live_server.url)
    visitor.start()
    second.start()
    try:
        visitor.wait_for(200)
        status = backup_restore(archive_path=backup.path)
        visitor.wait_for(200, after=len(visitor.answers))
    finally:
        for thread in (visitor, second):
            thread.stop.set()
            thread.join(timeout=160)
    visitor.answers += second.answers

    assert status.state == "completed", status.message
    statuses = Counter(answer[1] for answer in visitor.answers)
    assert set(statuses) == {200, 503}, [a for a in visitor.answers if a[1] not in (200, 503)][:3]
    restore_pages = [a for a in visitor.answers if a[1] == 503]
    assert all("Restore in progress" in text for _, _, text in restore_pages)
    assert {path for path, _, _ in restore_pages} == set(PORTAL_PATHS) - {"/portal/login/"}
    assert all(status == 200 for path, status, _ in visitor.answers if path == "/portal/login/")
    csv = session.get(f"{live_server.url}/portal/reports/?format=csv&days=30", timeout=10)
    assert "Total Hours,5.50\r\n" in csv.text  # the restored data, Landing page included


def test_a_request_already_past_the_flag_check_gets_503_when_its_table_goes_away(live_server, dana, acme_hours):
    """The race the flag check alone leaves open: a request checked the flag just before the
    restore began, then its query meets the replaced schema."""
    if connection.vendor != "postgresql":
        pytest.skip("needs the PostgreSQL that scripts/test.sh starts")
    from backups.restore_flag import set_database_restore_in_progress

    session = portal_session(live_server.url)
    restorer = connections.create_connection("default")  # plays the restore's psql session
    restorer.set_autocommit(False)
    with restorer.cursor() as cursor:
        cursor.execute("LOCK TABLE timetracker_timeentry IN ACCESS EXCLUSIVE MODE")
    answers = []
    request = threading.Thread(target=lambda: answers.append(session.get(f"{live_server.url}/portal/", timeout=60)))
    request.start()
    try:
        wait_until_a_query_waits_for_a_lock()
        set_database_restore_in_progress(True)
        with restorer.cursor() as cursor:
            cursor.execute("ALTER TABLE timetracker_timeentry RENAME TO timetracker_timeentry_replaced")
        restorer.commit()
        request.join(timeout=60)
    finally:
        set_database_restore_in_progress(False)
        with restorer.cursor() as cursor:
            cursor.execute("ALTER TABLE IF EXISTS timetracker_timeentry_replaced RENAME TO timetracker_timeentry")
        restorer.commit()
        restorer.close()

    (response,) = answers
    assert (response.status_code, response.headers["Retry-After"]) == (503, "30")
    assert "Restore in progress" in response.text


def wait_until_a_query_waits_for_a_lock(timeout: float = 30):
    deadline = time.monotonic() + timeout
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
            )
            if cursor.fetchone()[0]:
                return
            time.sleep(0.05)
    raise AssertionError("no request waited for the table lock")
