"""Requirements 2, 4 and 8 on PostgreSQL: restore in the background (here the task runs
in-process, eagerly), with validation first, a safety backup, migrations for an older backup,
row counts checked and the safety backup put back on failure."""

import hashlib
import json
import zipfile
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import connection
from django.db.migrations.recorder import MigrationRecorder

from backups.restore_flag import (
    is_database_restore_in_progress,
    set_database_restore_in_progress,
)
from backups.selectors import backup_list, restore_status_get
from backups.services import backup_create, backup_restore, restore_request
from backups.types import BackupRejected, RestoreInProgress
from exports.tests.factories import at, entry
from timetracker.models import TimeEntry

from .factories import entries_of, rewrite_archive, three_entries

CASE_14 = Path(__file__).resolve().parents[3] / "shared" / "cases" / "14_zip_slip_backup.zip"


def test_a_restore_puts_back_rows_and_stored_files(restorable_db, alice, private_storage):
    three_entries(alice)
    (private_storage / "exports").mkdir()
    (private_storage / "exports" / "report.csv").write_bytes(b"before")
    backup = backup_create()
    TimeEntry.objects.filter(notes="day 1").delete()
    entry(alice, start=at("2024-03-09 09:00"), end=at("2024-03-09 10:00"), notes="after the backup")
    get_user_model().objects.create_user("mallory")
    (private_storage / "exports" / "report.csv").write_bytes(b"changed")
    (private_storage / "exports" / "new.csv").write_bytes(b"new")

    status = restore_request(archive_path=backup.path, requested_by="charlie")

    assert status.state == "completed", status.message
    row_counts = json.loads(zipfile.ZipFile(backup.path).read("manifest.json"))["row_counts"]
    safety = [b for b in backup_list() if b.trigger == "safety"]
    assert len(safety) == 1
    assert status.message == (
        f"Restored {backup.name}: {sum(row_counts.values())} rows in {len(row_counts)} tables, 1 stored files, "
        f"0 migrations applied. Safety backup: {safety[0].name}.")
    assert (status.archive_name, status.requested_by, status.step) == (backup.name, "charlie", "done")
    assert status.started_at <= status.finished_at
    assert entries_of(alice) == [("day 1", 5400, []), ("day 2", 5400, ["deep work"]), ("day 3", 5400, [])]
    assert list(get_user_model().objects.values_list("username", flat=True)) == ["alice"]
    assert (private_storage / "exports" / "report.csv").read_bytes() == b"before"
    assert not (private_storage / "exports" / "new.csv").exists()
    assert is_database_restore_in_progress() is False
    assert restore_status_get() == status
    manifest = json.loads(zipfile.ZipFile(safety[0].path).read("manifest.json"))
    assert (manifest["row_counts"]["timetracker_timeentry"], manifest["row_counts"]["auth_user"]) == (3, 2)
    # New rows get new ids: the sequences came back with the dump.
    created = entry(alice, start=at("2024-03-10 09:00"), end=at("2024-03-10 10:00"))
    assert created.pk > max(TimeEntry.objects.exclude(pk=created.pk).values_list("pk", flat=True))


def test_an_older_backup_is_migrated_forward(restorable_db, alice):
    three_entries(alice)
    call_command("migrate", "exports", "zero", interactive=False, verbosity=0)
    backup = backup_create()
    call_command("migrate", interactive=False, verbosity=0)
    assert json.loads(zipfile.ZipFile(backup.path).read("manifest.json"))["migrations"].get("exports") is None

    status = backup_restore(archive_path=backup.path)

    assert status.state == "completed", status.message
    assert ", 1 migrations applied." in status.message
    assert ("exports", "0001_initial") in MigrationRecorder(connection).applied_migrations()
    assert "exports_dataexport" in connection.introspection.table_names()
    assert entries_of(alice) == [("day 1", 5400, []), ("day 2", 5400, ["deep work"]), ("day 3", 5400, [])]


def test_a_backup_from_newer_code_is_refused_before_anything_changes(restorable_db, alice, tmp_path):
    three_entries(alice)
    backup = backup_create()

    def add_future_migration(manifest):
        manifest["version"] = "0.2.0"
        manifest["migrations"]["timetracker"].append("0002_future_fields")

    newer = rewrite_archive(backup.path, tmp_path / "newer.zip", manifest_change=add_future_migration)
    with pytest.raises(BackupRejected) as rejected:
        restore_request(archive_path=newer, requested_by="charlie")
    assert str(rejected.value) == ("Backup rejected: it was made by newer code (version 0.2.0; migrations this "
                                   "version does not know: timetracker.0002_future_fields)")
    assert restore_status_get().state == "idle"
    assert [b.name for b in backup_list()] == [backup.name]  # no safety backup: nothing began


@pytest.mark.parametrize("damage, message", [
    ("truncated", "Backup rejected: not a backup archive (not a readable ZIP file)"),
    ("flipped byte", 'Backup rejected: checksum mismatch for "database.pgdump"'),
    ("no manifest", "Backup rejected: no manifest.json (not a TimeTracker backup)"),
])
def test_a_corrupt_archive_leaves_the_database_untouched(restorable_db, alice, tmp_path, damage, message):
    three_entries(alice)
    backup = backup_create()
    damaged = tmp_path / "damaged.zip"
    if damage == "truncated":
        damaged.write_bytes(backup.path.read_bytes()[: backup.size // 2])
    elif damage == "flipped byte":
        rewrite_archive(backup.path, damaged, member_change=lambda name, content: (
            content[:100] + bytes([content[100] ^ 0xFF]) + content[101:] if name == "database.pgdump" else content))
    else:
        with zipfile.ZipFile(backup.path) as old, zipfile.ZipFile(damaged, "w") as new:
            new.writestr("database.pgdump", old.read("database.pgdump"))
    TimeEntry.objects.filter(notes="day 3").delete()

    if damage == "flipped byte":  # the request checks the structure only; the task unpacks and checks sums
        queued = restore_request(archive_path=damaged, requested_by="charlie")
        assert (queued.state, queued.message) == ("failed", message)
    else:
        with pytest.raises(BackupRejected) as rejected:
            restore_request(archive_path=damaged, requested_by="charlie")
        assert str(rejected.value) == message

    status = backup_restore(archive_path=damaged)  # the task's own check, if the file changed after queueing
    assert (status.state, status.message, status.archive_name) == ("failed", message, "damaged.zip")
    assert entries_of(alice) == [("day 1", 5400, []), ("day 2", 5400, ["deep work"])]
    assert [b.name for b in backup_list()] == [backup.name]
    assert is_database_restore_in_progress() is False


def test_the_zip_slip_archive_is_rejected_and_nothing_is_written(restorable_db, alice, private_storage):
    three_entries(alice)
    outside = [Path("/tmp/zip_slip_proof.txt"), Path("/tmp/zip_slip_absolute.txt"),
               settings.BACKUP_DIR.parent / "zip_slip_backslash.txt", private_storage.parent / "zip_slip_backslash.txt"]
    existed = {path: path.exists() for path in outside}
    expected = 'Backup rejected: unsafe path "../../../../tmp/zip_slip_proof.txt"'

    with pytest.raises(BackupRejected) as rejected:
        restore_request(archive_path=CASE_14, requested_by="charlie")
    assert str(rejected.value) == expected
    status = backup_restore(archive_path=CASE_14)

    assert (status.state, status.message) == ("failed", expected)
    assert {path: path.exists() for path in outside} == existed
    assert sorted(p.name for p in settings.BACKUP_DIR.iterdir()) == ["restore-status.json"]
    assert list(private_storage.iterdir()) == []
    assert entries_of(alice) == [("day 1", 5400, []), ("day 2", 5400, ["deep work"]), ("day 3", 5400, [])]


@pytest.mark.parametrize("entry_name, mode, message", [
    ("files/link", 0o120777, 'Backup rejected: link or special file "files/link"'),
    ("files/a\\..\\..\\b", 0o100600, 'Backup rejected: unsafe path "files/a\\..\\..\\b"'),
    ("C:/windows/x", 0o100600, 'Backup rejected: unsafe path "C:/windows/x"'),
    ("files/extra.txt", 0o100600, 'Backup rejected: unexpected member "files/extra.txt"'),
    ("media/avatar.png", 0o100600, 'Backup rejected: unexpected member "media/avatar.png"'),
])
def test_hostile_members_of_an_otherwise_valid_backup(restorable_db, alice, tmp_path, entry_name, mode, message):
    backup = backup_create()
    hostile = tmp_path / "hostile.zip"
    rewrite_archive(backup.path, hostile)
    with zipfile.ZipFile(hostile, "a") as archive:
        info = zipfile.ZipInfo(entry_name)
        info.external_attr = mode << 16
        archive.writestr(info, b"/etc/passwd")
    with pytest.raises(BackupRejected) as rejected:
        restore_request(archive_path=hostile, requested_by="charlie")
    assert str(rejected.value) == message


def test_too_many_members_or_too_large_is_refused(restorable_db, alice, settings):
    backup = backup_create()
    settings.BACKUP_MAX_MEMBERS = 1
    with pytest.raises(BackupRejected) as rejected:
        restore_request(archive_path=backup.path, requested_by="charlie")
    assert str(rejected.value) == "Backup rejected: too many members (2 > 1)"
    settings.BACKUP_MAX_MEMBERS = 10
    settings.BACKUP_MAX_UNCOMPRESSED_BYTES = 100
    with pytest.raises(BackupRejected) as rejected:
        restore_request(archive_path=backup.path, requested_by="charlie")
    assert str(rejected.value).startswith("Backup rejected: too large when unpacked (")


def test_a_failure_after_the_database_was_replaced_puts_the_safety_backup_back(restorable_db, alice, tmp_path):
    three_entries(alice)
    backup = backup_create()

    def wrong_count(manifest):
        manifest["row_counts"]["timetracker_timeentry"] = 4

    lying = rewrite_archive(backup.path, tmp_path / "lying.zip", manifest_change=wrong_count)
    TimeEntry.objects.filter(notes="day 1").delete()

    status = backup_restore(archive_path=lying)

    safety = next(b for b in backup_list() if b.trigger == "safety")
    assert status.state == "failed"
    assert status.message == (
        "Restore of lying.zip failed while replacing the database: row counts differ from the manifest: "
        "timetracker_timeentry has 3 rows, the backup 4. The database and stored files were put back from the "
        f"safety backup {safety.name}.")
    assert entries_of(alice) == [("day 2", 5400, ["deep work"]), ("day 3", 5400, [])]
    assert is_database_restore_in_progress() is False


def test_one_restore_at_a_time(restorable_db, alice):
    backup = backup_create()
    set_database_restore_in_progress(True)
    try:
        with pytest.raises(RestoreInProgress) as refused:
            restore_request(archive_path=backup.path, requested_by="charlie")
        assert str(refused.value) == "A restore is in progress; try again when it has finished."
        with pytest.raises(RestoreInProgress):
            backup_create()
    finally:
        set_database_restore_in_progress(False)
    assert restore_status_get().state == "idle"


def test_a_queued_restore_blocks_another_request(restorable_db, alice, settings):
    from timetracker.celery import app as celery_app

    backup = backup_create()
    celery_app.conf.task_always_eager = False  # queued in Redis, no worker takes it
    settings.CELERY_BROKER_URL = celery_app.conf.broker_url
    try:
        status = restore_request(archive_path=backup.path, requested_by="charlie")
        assert (status.state, status.message) == ("queued", f"Restore of {backup.name} queued by charlie.")
        with pytest.raises(RestoreInProgress):
            restore_request(archive_path=backup.path, requested_by="dana")
    finally:
        celery_app.conf.task_always_eager = True
        celery_app.control.purge()


def test_a_manifest_without_the_database_member_is_refused(restorable_db, alice, tmp_path):
    backup = backup_create()
    hollow = tmp_path / "hollow.zip"
    with zipfile.ZipFile(backup.path) as old, zipfile.ZipFile(hollow, "w") as new:
        manifest = json.loads(old.read("manifest.json"))
        del manifest["members"]["database.pgdump"]
        new.writestr("manifest.json", json.dumps(manifest))
    with pytest.raises(BackupRejected) as rejected:
        restore_request(archive_path=hollow, requested_by="charlie")
    assert str(rejected.value) == 'Backup rejected: invalid manifest (no "database.pgdump")'


def test_a_restore_removes_work_folders_left_by_a_killed_restore(restorable_db, alice):
    backup = backup_create()
    leftover = settings.BACKUP_DIR / ".work-restore-0123"
    (leftover / "files").mkdir(parents=True)
    (leftover / "database").write_bytes(b"half")

    assert backup_restore(archive_path=backup.path).state == "completed"
    assert not leftover.exists()
    assert sorted(p.name for p in settings.BACKUP_DIR.iterdir() if p.name.startswith(".work")) == []


def test_in_the_embedded_default_the_restore_runs_in_a_background_thread(restorable_db, alice):
    import time

    from timetracker.celery import app as celery_app

    three_entries(alice)
    backup = backup_create()
    TimeEntry.objects.all().delete()
    celery_app.conf.task_run_in_thread = True
    try:
        status = restore_request(archive_path=backup.path, requested_by="charlie")
        assert status.state in ("queued", "running")
        deadline = time.monotonic() + 30
        while restore_status_get().state not in ("completed", "failed") and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        celery_app.conf.task_run_in_thread = False
    assert restore_status_get().state == "completed", restore_status_get().message
    assert is_database_restore_in_progress() is False
    assert entries_of(alice) == [("day 1", 5400, []), ("day 2", 5400, ["deep work"]), ("day 3", 5400, [])]


def test_a_link_in_the_storage_folder_does_not_lead_restored_files_outside(restorable_db, alice, private_storage,
                                                                           tmp_path):
    (private_storage / "exports").mkdir()
    (private_storage / "exports" / "report.csv").write_bytes(b"kept")
    backup = backup_create()
    (private_storage / "exports" / "report.csv").unlink()
    (private_storage / "exports").rmdir()
    outside = tmp_path / "outside"
    outside.mkdir()
    (private_storage / "exports").symlink_to(outside)

    assert backup_restore(archive_path=backup.path).state == "completed"
    assert list(outside.iterdir()) == []
    assert not (private_storage / "exports").is_symlink()
    assert (private_storage / "exports" / "report.csv").read_bytes() == b"kept"


@pytest.mark.parametrize("current", [
    {"state": "completed", "restore_id": "a-later-request", "archive_name": "other.zip"},
    {"state": "queued", "restore_id": "a-later-request", "archive_name": "other.zip"},
    {"state": "completed", "restore_id": "this-request", "archive_name": "x.zip"},
])
def test_a_task_delivered_again_after_another_restore_or_its_own_end_restores_nothing(restorable_db, alice, current):
    from backups.status import status_write
    from backups.tasks import backup_restore_task
    from backups.types import RestoreStatus

    three_entries(alice)
    backup = backup_create()
    TimeEntry.objects.filter(notes="day 1").delete()
    status_write(RestoreStatus(message="as it was", **current))

    backup_restore_task.apply(args=(str(backup.path), "this-request"))

    assert restore_status_get() == RestoreStatus(message="as it was", **current)
    assert entries_of(alice) == [("day 2", 5400, ["deep work"]), ("day 3", 5400, [])]
    assert [b.name for b in backup_list()] == [backup.name]


@pytest.mark.parametrize("change, problem", [
    (lambda m: m.update(row_counts={}), "row_counts: no auth_user, django_content_type"),
    (lambda m: m["row_counts"].update(auth_user="abc"), 'row_counts: "auth_user" must be a non-negative integer, not \'abc\''),
    (lambda m: m["row_counts"].update(auth_user=-1), 'row_counts: "auth_user" must be a non-negative integer, not -1'),
    (lambda m: m.update(migrations={"timetracker": "0001"}), 'migrations: "timetracker" must be a list of migration names'),
    (lambda m: m.update(migrations={"timetracker": ["0001_initial"]}), "migrations: no auth, contenttypes migrations"),
    (lambda m: m.update(created_at="yesterday"),
     "created_at must be an ISO 8601 date and time with a UTC offset, not 'yesterday'"),
    (lambda m: m.update(created_at="2020-01-01T00:00:00"),
     "created_at must be an ISO 8601 date and time with a UTC offset, not '2020-01-01T00:00:00'"),
])
def test_a_manifest_of_the_wrong_shape_is_refused_up_front(restorable_db, alice, tmp_path, change, problem):
    backup = backup_create()
    odd = rewrite_archive(backup.path, tmp_path / "odd.zip", manifest_change=change)

    with pytest.raises(BackupRejected) as rejected:
        restore_request(archive_path=odd, requested_by="charlie")
    assert str(rejected.value) == f"Backup rejected: invalid manifest ({problem})"
    assert [b.name for b in backup_list()] == [backup.name]


@pytest.mark.parametrize("change, problem", [
    (lambda m: m["migrations"].pop("exports"),
     "the restored database's migrations differ from the manifest (not in the manifest: exports.0001_initial)"),
    (lambda m: m["row_counts"].update(no_such_table=0), "row counts differ from the manifest: no_such_table missing"),
])
def test_a_database_other_than_the_manifest_describes_is_rolled_back(restorable_db, alice, tmp_path, change, problem):
    three_entries(alice)
    backup = backup_create()
    other = rewrite_archive(backup.path, tmp_path / "other.zip", manifest_change=change)
    TimeEntry.objects.filter(notes="day 1").delete()

    status = backup_restore(archive_path=other)

    safety = next(b for b in backup_list() if b.trigger == "safety")
    assert (status.state, status.message) == ("failed", (
        f"Restore of other.zip failed while replacing the database: {problem}. The database and stored files were "
        f"put back from the safety backup {safety.name}."))
    assert entries_of(alice) == [("day 2", 5400, ["deep work"]), ("day 3", 5400, [])]
    assert list(get_user_model().objects.values_list("username", flat=True)) == ["alice"]


def test_a_member_that_compresses_too_well_is_refused_in_the_request(restorable_db, alice, tmp_path, settings):
    settings.BACKUP_COMPRESSION_RATIO_MIN_BYTES = 1024 * 1024
    backup = backup_create()
    zeros = b"\0" * (2 * 1024 * 1024)

    def add_member(manifest):
        manifest["members"]["files/zeros.bin"] = {"size": len(zeros), "sha256": hashlib.sha256(zeros).hexdigest()}

    bomb = rewrite_archive(backup.path, tmp_path / "bomb.zip", manifest_change=add_member)
    with zipfile.ZipFile(bomb, "a", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("files/zeros.bin", zeros)
    compressed = zipfile.ZipFile(bomb).getinfo("files/zeros.bin").compress_size

    with pytest.raises(BackupRejected) as rejected:
        restore_request(archive_path=bomb, requested_by="charlie")
    assert str(rejected.value) == (f'Backup rejected: "files/zeros.bin" compresses too well for a backup '
                                   f"({len(zeros)} bytes from {compressed}, more than 200:1)")
    settings.BACKUP_MAX_COMPRESSION_RATIO = 10_000
    assert restore_request(archive_path=bomb, requested_by="charlie").state == "completed"


def test_a_foreign_database_file_with_a_correct_checksum_is_rolled_back(restorable_db, alice, tmp_path):
    import subprocess

    from backups import database

    three_entries(alice)
    backup = backup_create()
    foreign_dump = tmp_path / "foreign.pgdump"  # one table of ours, no django_migrations, no users
    args, env = database._pg_args_and_env()
    subprocess.run([database.pg_program("pg_dump"), *args, "--format=custom", "--no-owner", "-t", "timetracker_client",
                    "-f", str(foreign_dump), connection.settings_dict["NAME"]], env=env, check=True)
    content = foreign_dump.read_bytes()

    def describe_foreign(manifest):
        manifest["members"]["database.pgdump"] = {"size": len(content), "sha256": hashlib.sha256(content).hexdigest()}

    foreign = rewrite_archive(backup.path, tmp_path / "foreign.zip", manifest_change=describe_foreign,
                              member_change=lambda name, old: content if name == "database.pgdump" else old)
    migrations = sorted(f"{app}.{name}" for app, name in MigrationRecorder(connection).applied_migrations())

    status = backup_restore(archive_path=foreign)

    safety = next(b for b in backup_list() if b.trigger == "safety")
    assert (status.state, status.message) == ("failed", (
        "Restore of foreign.zip failed while replacing the database: the restored database's migrations differ "
        f"from the manifest (missing from the database: {', '.join(migrations[:3])} and {len(migrations) - 3} "
        f"more). The database and stored files were put back from the safety backup {safety.name}."))
    assert list(get_user_model().objects.values_list("username", flat=True)) == ["alice"]
    assert entries_of(alice) == [("day 1", 5400, []), ("day 2", 5400, ["deep work"]), ("day 3", 5400, [])]
