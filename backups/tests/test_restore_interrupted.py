"""A `manage.py backup_restore` killed while it applies migrations: nothing runs it again, so
the site stays in maintenance (never a half-restored database) until the admin starts the
restore again, which works in that state; if the archive can no longer be restored, that run
puts the safety backup back instead."""

import os
import signal
import subprocess
import sys
import time
from io import StringIO

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.migrations.recorder import MigrationRecorder
from django.test import Client as HttpClient

from backups.restore_flag import is_database_restore_in_progress, restore_flag_is_set
from backups.selectors import backup_list, restore_status_get
from backups.services import backup_create
from backups.status import restore_unfinished_exists
from conftest import REPO_ROOT
from exports.tests.factories import at, entry

from .factories import entries_of, three_entries

SOURCE_DATE = ("timetracker", "0004_time_entry_source_date")
BEFORE_THE_RESTORE = [("day 1", 5400, []), ("day 2", 5400, ["deep work"]), ("day 3", 5400, []),
                      ("after the backup", 3600, [])]
THE_ARCHIVES = BEFORE_THE_RESTORE[:3]


def wait_for(condition, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def interrupted_restore(migrations_held, alice, charlie, tmp_path):
    """An older backup (without timetracker 0004 and 0005) restored by manage.py, killed -9
    while applying migrations. Returns the backup and a logged-in admin's client."""
    three_entries(alice)
    admin = HttpClient()
    admin.force_login(charlie)
    assert admin.get("/admin/backups/backup/").status_code == 200  # hands out the status cookie
    call_command("migrate", "timetracker", "0003", interactive=False, verbosity=0)
    backup = backup_create()
    call_command("migrate", interactive=False, verbosity=0)
    entry(alice, start=at("2024-03-09 09:00"), end=at("2024-03-09 10:00"), notes="after the backup")
    hold = migrations_held()
    db = connection.settings_dict
    env = dict(os.environ, RESTORE_FLAG_TTL_SECONDS="2", BACKUP_DIR=str(settings.BACKUP_DIR),
               PRIVATE_STORAGE_DIR=str(settings.PRIVATE_STORAGE_DIR),
               DATABASE_URL=f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST']}:{db['PORT']}/{db['NAME']}")
    with open(tmp_path / "backup_restore.log", "wb") as log:
        command = subprocess.Popen(
            [sys.executable, "manage.py", "backup_restore", backup.name, "--yes", "--no-progress"],
            cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            wait_for(hold.migration_waiting, 60, "the restore to apply migrations")
        finally:
            os.killpg(command.pid, signal.SIGKILL)
            command.wait(timeout=10)
            hold.release()
    wait_for(lambda: not restore_flag_is_set(), 10, "the flag to expire")
    return backup, admin


def test_the_site_stays_in_maintenance_until_the_restore_is_started_again(interrupted_restore, alice):
    backup, admin = interrupted_restore
    assert SOURCE_DATE not in MigrationRecorder(connection).applied_migrations()  # half-restored
    assert [admin.get(page).status_code for page in ("/", "/admin/timetracker/timeentry/", "/portal/")] == [503] * 3
    status = admin.get("/admin/backups/backup/status.json").json()  # the admin still sees what to do
    [safety] = [b for b in backup_list() if b.trigger == "safety"]
    assert (status["state"], status["restore_running"], status["message"]) == ("failed", True, (
        f"The restore of {backup.name} was interrupted while applying migrations (the process running it stopped). "
        "It had begun replacing the database, which may hold the backup's data without its later migrations, so "
        "the site stays in maintenance (503) until the database is restored again. The database must be restored "
        f"again: run manage.py backup_restore {backup.name} --yes (if that archive is gone or damaged, the same "
        f"command puts back the safety backup {safety.name})."))

    call_command("backup_restore", backup.name, "--yes", "--no-progress", stdout=StringIO())

    status = restore_status_get()
    [safety] = [b for b in backup_list() if b.trigger == "safety"]  # the interrupted run's, not a second one
    assert status.state == "completed", status.message
    assert status.message.endswith(f", 2 migrations applied. Safety backup: {safety.name}.")
    assert SOURCE_DATE in MigrationRecorder(connection).applied_migrations()
    assert entries_of(alice) == THE_ARCHIVES
    assert (is_database_restore_in_progress(), restore_unfinished_exists()) == (False, False)


def test_started_again_with_an_archive_that_cannot_be_restored_it_puts_the_safety_backup_back(
        interrupted_restore, alice):
    backup, _ = interrupted_restore
    backup.path.write_bytes(b"not a zip any more")
    [safety] = [b for b in backup_list() if b.trigger == "safety"]

    with pytest.raises(CommandError) as failed:
        call_command("backup_restore", str(backup.path), "--yes", "--no-progress")

    assert str(failed.value) == (
        f"The interrupted restore of {backup.name} cannot run again: Backup rejected: not a backup archive "
        f"(not a readable ZIP file). The database and stored files were put back from the safety backup {safety.name}.")
    assert restore_status_get().state == "failed"
    assert SOURCE_DATE in MigrationRecorder(connection).applied_migrations()
    assert entries_of(alice) == BEFORE_THE_RESTORE
    assert (is_database_restore_in_progress(), restore_unfinished_exists()) == (False, False)


def test_started_again_after_its_archive_was_deleted_it_puts_the_safety_backup_back(interrupted_restore, alice):
    backup, _ = interrupted_restore
    backup.path.unlink()
    [safety] = [b for b in backup_list() if b.trigger == "safety"]

    # The very command the status page gives: the name of an archive that no longer exists.
    with pytest.raises(CommandError) as failed:
        call_command("backup_restore", backup.name, "--yes", "--no-progress")

    assert str(failed.value) == (
        f'The interrupted restore of {backup.name} cannot run again: Backup rejected: no such archive "{backup.name}". '
        f"The database and stored files were put back from the safety backup {safety.name}.")
    assert SOURCE_DATE in MigrationRecorder(connection).applied_migrations()
    assert entries_of(alice) == BEFORE_THE_RESTORE
    assert (is_database_restore_in_progress(), restore_unfinished_exists()) == (False, False)
    with pytest.raises(CommandError) as unknown:  # once nothing is unfinished, a missing name is just missing
        call_command("backup_restore", backup.name, "--yes", "--no-progress")
    assert str(unknown.value) == f"No such file: {backup.name}"
