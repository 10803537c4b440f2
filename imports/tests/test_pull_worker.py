"""Requirement 7: a real Celery worker killed in the middle of a pull; a new worker finishes
the import with every entry exactly once.

Redelivery: the task is acknowledged late, so the killed worker's message stays unacked in
Redis and is handed out again once the broker's visibility timeout has passed. The worker
process reads that timeout from CELERY_VISIBILITY_TIMEOUT, which this test shortens to
2 seconds (and the restore sweep to every second) in the environment the `celery_worker`
fixture copies."""

import time

import pytest

from imports.models import DataImport
from imports.pulls import pull_start
from timetracker.models import TimeEntry

from .fake_toggl import TOGGL_TOKEN, Canned

pytest_plugins = ["imports.tests.pull_fixtures"]


@pytest.fixture
def worker_env(fake_toggl, monkeypatch):
    monkeypatch.setenv("CELERY_VISIBILITY_TIMEOUT", "2")
    monkeypatch.setenv("CELERY_UNACKED_RESTORE_INTERVAL", "1")
    monkeypatch.setenv("CELERY_UNACKED_RESTORE_THROTTLE", "1")
    monkeypatch.setenv("TOGGL_MIN_REQUEST_INTERVAL", "0")
    monkeypatch.setenv("TOGGL_REPORT_PAGE_SIZE", "3")
    return fake_toggl


def wait_for(condition, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.celery_worker
def test_a_killed_worker_leaves_an_import_that_a_new_worker_finishes_exactly_once(worker_env, celery_worker, alice):
    fake = worker_env
    for n in range(10):
        fake.add_entry(entry_id=4_000_000_000 + n, start=f"2024-04-{n + 1:02d}T08:00:00+00:00",
                       stop=f"2024-04-{n + 1:02d}T09:00:00+00:00", description=f"entry {n}")
    fake.hold_row_number = 7  # the third page waits until the test releases it

    data_import = pull_start(user=alice, source="toggl", params={
        "token": TOGGL_TOKEN, "workspace_id": "2000002", "start": "2024-04-01", "end": "2024-04-30"})

    assert fake.held.wait(timeout=30), celery_worker.log
    data_import.refresh_from_db()
    assert (data_import.status, data_import.processed_records, data_import.created_records) == ("processing", 6, 6)
    assert data_import.checkpoint["cursor"]["first_row_number"] == 7

    celery_worker.kill()
    fake.release.set()
    assert TimeEntry.objects.filter(owner=alice).count() == 6
    celery_worker.start()

    wait_for(lambda: DataImport.objects.get(pk=data_import.pk).is_finished, 60, "the import to finish")
    data_import.refresh_from_db()
    assert data_import.status == "completed", data_import.status_message
    assert (data_import.processed_records, data_import.created_records, data_import.total_records) == (10, 10, 10)
    assert (data_import.updated_records, data_import.unchanged_records) == (0, 0)
    ids = list(TimeEntry.objects.filter(owner=alice).values_list("source_id", flat=True))
    assert sorted(ids) == [str(4_000_000_000 + n) for n in range(10)]
    report_pages = [r for r in fake.requests if r.path.endswith("/search/time_entries")]
    # Pages 1 and 2 were written before the kill and not fetched again.
    assert [r.body.count(b"first_row_number") for r in report_pages] == [0, 1, 1, 1, 1]


@pytest.mark.celery_worker
def test_toggl_quota_pause_requeues_the_task_for_the_reset_time(worker_env, celery_worker, alice):
    fake = worker_env
    for n in range(7):
        fake.add_entry(entry_id=8000 + n, start=f"2024-05-0{n + 1}T08:00:00+00:00",
                       stop=f"2024-05-0{n + 1}T09:00:00+00:00")
    report = "/reports/api/v3/workspace/2000002/search/time_entries"
    fake.script(report, [Canned(status=0), Canned(status=402, headers={
        "X-Toggl-Quota-Remaining": "0", "X-Toggl-Quota-Resets-In": "2"}, body='"hourly limit"')])

    data_import = pull_start(user=alice, source="toggl", params={
        "token": TOGGL_TOKEN, "workspace_id": "2000002", "start": "2024-05-01", "end": "2024-05-31"})

    waiting = wait_for(lambda: DataImport.objects.filter(pk=data_import.pk, status="waiting").first(), 30,
                       "the quota pause")
    assert waiting.status_message.startswith("waiting for Toggl quota until ")
    assert waiting.processed_records == 3
    wait_for(lambda: DataImport.objects.get(pk=data_import.pk).is_finished, 30, "the import to finish")
    data_import.refresh_from_db()
    assert data_import.status == "completed"
    assert (data_import.processed_records, data_import.created_records) == (7, 7)
    assert TimeEntry.objects.filter(owner=alice).count() == 7
    requests = fake.requests_to(report)
    assert [r.body.count(b"first_row_number") for r in requests] == [0, 1, 1, 1]
    # The same page was asked again only once the quota had reset (2 s later).
    assert requests[2].body == requests[1].body
    assert requests[2].received_at - requests[1].received_at >= 1.5
