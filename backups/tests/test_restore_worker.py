"""Requirement 8: a real Celery worker killed in the middle of a restore. Once the restore has
begun replacing the database the site stays in maintenance after the flag (TTL 3 s here) runs
out, since the database may be half-restored; the next worker to start runs the restore again
at once, which finishes it and clears the flag.

To kill the worker at a known point the first test holds a read lock on the time-entry table
(the restore's DROP SCHEMA waits for it), the second an event trigger that holds the first
migration (conftest.MigrationsHold); the worker is killed while it waits."""

import time

import psycopg
import pytest
from django.core.management import call_command
from django.db import connection
from django.db.migrations.recorder import MigrationRecorder
from django.test import Client as HttpClient

from backups.restore_flag import is_database_restore_in_progress, restore_flag_is_set
from backups.selectors import backup_list, restore_status_get
from backups.services import backup_create, restore_request
from backups.status import restore_unfinished_exists
from exports.tests.factories import at, entry

from .factories import entries_of, three_entries

MAIN_AND_PORTAL_PAGES = ["/", "/admin/", "/admin/timetracker/timeentry/", "/portal/", "/portal/reports/", "/api/v1/exports"]


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
def test_a_worker_killed_while_replacing_the_database_leaves_the_old_data_then_the_next_worker_finishes(
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

    wait_for(lambda: not restore_flag_is_set(), 10, "the flag to expire")
    # The replacement is one transaction: killed before its commit, the old data is there. But
    # the restore cannot know whether it committed, so the site stays in maintenance.
    assert entries_of(alice) == [("day 1", 5400, []), ("day 2", 5400, ["deep work"]), ("day 3", 5400, []),
                                 ("after the backup", 3600, [])]
    assert is_database_restore_in_progress() is True

    interrupted = restore_status_get()
    assert (interrupted.state, interrupted.message) == ("failed", (
        f"The restore of {backup.name} was interrupted while replacing the database (the process running it "
        "stopped). It had begun replacing the database, which may hold the backup's data without its later "
        "migrations, so the site stays in maintenance (503) until the database is restored again. The database "
        "is restored again, from the start, as soon as a worker starts (or when the broker delivers the task "
        "again)."))

    celery_worker.start()
    wait_for(lambda: restore_status_get().state == "completed", 60, "the restore run again\n" + celery_worker.log)
    status = restore_status_get()
    assert status.state == "completed", status.message + celery_worker.log
    assert entries_of(alice) == [("day 1", 5400, []), ("day 2", 5400, ["deep work"]), ("day 3", 5400, [])]
    assert is_database_restore_in_progress() is False
    assert sorted(b.trigger for b in backup_list()) == ["manual", "safety"]  # the first safety backup, kept


@pytest.fixture
def slow_redelivery_env(worker_env, monkeypatch):
    # The broker would deliver the killed task again after 20 s: the new worker must not wait for that.
    monkeypatch.setenv("CELERY_VISIBILITY_TIMEOUT", "20")


@pytest.mark.celery_worker
def test_a_worker_killed_while_applying_migrations_keeps_the_site_in_maintenance_until_a_new_worker_finishes(
        slow_redelivery_env, migrations_held, celery_worker, alice, charlie, dana):
    three_entries(alice)
    visitors = {"anonymous": HttpClient(), "charlie": HttpClient(), "dana": HttpClient()}
    visitors["charlie"].force_login(charlie)  # sessions the archive holds, so still valid in the gap
    visitors["dana"].force_login(dana)
    call_command("migrate", "timetracker", "0003", interactive=False, verbosity=0)
    backup = backup_create()  # made by older code: without timetracker 0004 and 0005
    call_command("migrate", interactive=False, verbosity=0)
    entry(alice, start=at("2024-03-09 09:00"), end=at("2024-03-09 10:00"), notes="after the backup")
    hold = migrations_held()

    restore_request(archive_path=backup.path, requested_by="charlie")
    wait_for(hold.migration_waiting, 60, "the restore to apply migrations\n" + celery_worker.log)
    assert (restore_status_get().state, restore_status_get().step) == ("running", "applying migrations")
    celery_worker.kill()
    hold.release()

    wait_for(lambda: not restore_flag_is_set(), 10, "the flag to expire")
    # The gap: the archive's rows without the later migrations. Every page answers 503, none 500.
    assert ("timetracker", "0004_time_entry_source_date") not in MigrationRecorder(connection).applied_migrations()
    answers = {(who, page): visitor.get(page).status_code
               for who, visitor in visitors.items() for page in MAIN_AND_PORTAL_PAGES}
    assert set(answers.values()) == {503}, answers
    interrupted = restore_status_get()
    assert (interrupted.state, interrupted.message) == ("failed", (
        f"The restore of {backup.name} was interrupted while applying migrations (the process running it "
        "stopped). It had begun replacing the database, which may hold the backup's data without its later "
        "migrations, so the site stays in maintenance (503) until the database is restored again. The database "
        "is restored again, from the start, as soon as a worker starts (or when the broker delivers the task "
        "again)."))
    killed_log = celery_worker.log

    celery_worker.start()  # long before the broker would deliver the task again
    wait_for(lambda: restore_status_get().state == "completed", 15, "the restore run again\n" + celery_worker.log)
    status = restore_status_get()
    [safety] = [b for b in backup_list() if b.trigger == "safety"]
    assert status.message.startswith(f"Restored {backup.name}: ")
    assert status.message.endswith(f", 0 stored files, 2 migrations applied. Safety backup: {safety.name}.")
    applied = MigrationRecorder(connection).applied_migrations()
    assert {("timetracker", "0004_time_entry_source_date"), ("timetracker", "0005_travel_dates_within_years")} <= set(
        applied)
    assert entries_of(alice) == [("day 1", 5400, []), ("day 2", 5400, ["deep work"]), ("day 3", 5400, [])]
    assert (is_database_restore_in_progress(), restore_unfinished_exists()) == (False, False)
    assert "queued again" in celery_worker.log[len(killed_log):]
    assert visitors["anonymous"].get("/portal/login/").status_code == 200

    # The killed worker's task, delivered again, finds its restore finished and does nothing.
    wait_for(lambda: "skipped: superseded or already finished" in celery_worker.log, 30,
             "the task delivered again\n" + celery_worker.log)
    assert restore_status_get() == status
