"""The admin's backup pages while a real restore runs on a real Celery worker. The restore is
held in "replacing the database" by a read lock on the time-entry table (its DROP SCHEMA waits
for it), so the test looks at the pages at a known point. There the schema's other tables may
already be locked: any query would hang or fail, so the pages must make none."""

import json
import time

import psycopg
import pytest
from django.db import connection

from backups.restore_flag import is_database_restore_in_progress
from backups.selectors import backup_list, restore_status_get
from backups.services import RESTORE_RUNNING_MESSAGE, backup_create
from timetracker.models import Client

LIST_URL = "/admin/backups/backup/"
CREATE_URL = "/admin/backups/backup/create/"
RESTORE_URL = "/admin/backups/backup/restore/"
STATUS_URL = "/admin/backups/backup/status/"
STATUS_JSON_URL = "/admin/backups/backup/status.json"


def wait_for(condition, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def restore_waiting_for_the_lock() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'psql' "
                       "AND wait_event_type = 'Lock' AND datname = current_database()")  # fmt: skip
        return cursor.fetchone()[0] == 1


@pytest.mark.celery_worker
def test_status_polls_and_409s_while_a_worker_restores(celery_worker, charlie_client, django_assert_num_queries):
    Client.objects.create(name="Acme")
    assert charlie_client.get(LIST_URL).status_code == 200  # hands out the status cookie
    backup = backup_create(trigger="manual")
    Client.objects.create(name="After the backup")
    db = connection.settings_dict
    blocker = psycopg.connect(host=db["HOST"], port=db["PORT"], user=db["USER"], password=db["PASSWORD"] or None,
                              dbname=db["NAME"])  # fmt: skip
    blocker.execute("SELECT count(*) FROM timetracker_timeentry")  # a read lock until rollback
    try:
        response = charlie_client.post(RESTORE_URL, {"backup": backup.name, "confirm": "on"})
        assert response.status_code == 302
        assert response["Location"] == STATUS_URL
        wait_for(restore_waiting_for_the_lock, 60, "the restore to wait for the lock\n" + celery_worker.log)
        assert is_database_restore_in_progress() is True

        with django_assert_num_queries(0):
            polled = [json.loads(charlie_client.get(STATUS_JSON_URL).content) for _ in range(3)]
            page = charlie_client.get(STATUS_URL)
            create = charlie_client.post(CREATE_URL)
            again = charlie_client.post(RESTORE_URL, {"backup": backup.name, "confirm": "on"})
            listed = charlie_client.get(LIST_URL)
        for status in polled:
            assert (status["state"], status["step"], status["archive_name"]) == (
                "running", "replacing the database", backup.name)  # fmt: skip
            assert status["progress_percent"] == 33  # step 3 of 6
            assert (status["active"], status["finished"], status["restore_running"]) == (True, False, True)
        assert page.status_code == 200
        assert '<progress id="restore-progress" max="100" value="33">33%</progress>' in page.content.decode()
        for refused in (create, again):
            assert refused.status_code == 409
            assert f'<p class="errornote" id="refusal">{RESTORE_RUNNING_MESSAGE}</p>' in refused.content.decode()
        assert (listed.status_code, listed["Location"]) == (302, STATUS_URL)
    finally:
        blocker.rollback()
        blocker.close()

    wait_for(lambda: restore_status_get().state in ("completed", "failed"), 60, "the restore\n" + celery_worker.log)
    wait_for(lambda: not is_database_restore_in_progress(), 10, "the flag to clear")
    status = json.loads(charlie_client.get(STATUS_JSON_URL).content)
    assert status["state"] == "completed", status["message"]
    assert (status["progress_percent"], status["active"], status["finished"]) == (100, False, True)
    assert list(Client.objects.values_list("name", flat=True)) == ["Acme"]
    assert sorted(b.trigger for b in backup_list()) == ["manual", "safety"]
