"""Requirement 8: a real Celery worker killed in the middle of a restore. The database
replacement is one transaction, so the old data is still there; the flag (TTL 3 s here) runs
out; the task, acknowledged late, is delivered again to a new worker, which finishes the
restore and clears the flag.

To kill the worker at a known point the test holds a read lock on the time-entry table: the
restore's DROP SCHEMA waits for it, and the worker is killed while it waits."""

import time

import psycopg
import pytest
from django.db import connection

from backups.restore_flag import is_database_restore_in_progress
from backups.selectors import backup_list, restore_status_get
from backups.services import backup_create, restore_request
from exports.tests.factories import at, entry

from .factories import entries_of, three_entries


@pytest.fixture
def worker_env(monkeypatch):
    monkeypatch.setenv("CELERY_VISIBILITY_TIMEOUT", "2")
    monkeypatch.setenv("CELERY_UNACKED_RESTORE_INTERVAL", "1")
    monkeypatch.setenv("CELERY_UNACKED_RESTORE_THROTTLE", "1")
    monkeypatch.setenv("RESTORE_FLAG_TTL_SECONDS", "3")


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
                       "AND wait_event_type = 'Lock' AND datname = current_database()")
        return cursor.fetchone()[0] == 1


@pytest.mark.celery_worker
def test_a_worker_killed_mid_restore_leaves_the_old_data_then_the_redelivered_task_finishes(
        worker_env, celery_worker, alice):
    three_entries(alice)
    backup = backup_create()
    entry(alice, start=at("2024-03-09 09:00"), end=at("2024-03-09 10:00"), notes="after the backup")
    db = connection.settings_dict
    blocker = psycopg.connect(host=db["HOST"], port=db["PORT"], user=db["USER"], password=db["PASSWORD"] or None,
                              dbname=db["NAME"])
    blocker.execute("SELECT count(*) FROM timetracker_timeentry")  # holds a read lock until rollback

    restore_request(archive_path=backup.path, requested_by="charlie")

    wait_for(restore_waiting_for_the_lock, 60, "the restore to wait for the lock\n" + celery_worker.log)
    status = restore_status_get()
    assert (status.state, status.step) == ("running", "replacing the database")
    time.sleep(4)  # longer than the flag's TTL: the running restore keeps it fresh
    assert is_database_restore_in_progress() is True
    # The backup list and the status come from BACKUP_DIR while the database is locked.
    assert sorted(b.trigger for b in backup_list()) == ["manual", "safety"]
    celery_worker.kill()
    blocker.rollback()
    blocker.close()

    wait_for(lambda: not is_database_restore_in_progress(), 10, "the flag to expire")
    assert entries_of(alice) == [("day 1", 5400, []), ("day 2", 5400, ["deep work"]), ("day 3", 5400, []),
                                 ("after the backup", 3600, [])]

    interrupted = restore_status_get()
    assert (interrupted.state, interrupted.message) == ("failed", (
        f"The restore of {backup.name} was interrupted while replacing the database (the process running it "
        "stopped). Replacing the database is all or nothing; the restore may run again when its task is "
        "redelivered to a worker."))

    celery_worker.start()
    wait_for(lambda: restore_status_get().state == "completed", 60, "the redelivered restore\n" + celery_worker.log)
    status = restore_status_get()
    assert status.state == "completed", status.message + celery_worker.log
    assert entries_of(alice) == [("day 1", 5400, []), ("day 2", 5400, ["deep work"]), ("day 3", 5400, [])]
    assert is_database_restore_in_progress() is False
