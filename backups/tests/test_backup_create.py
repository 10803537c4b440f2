"""Requirement 1: one archive with a manifest, a consistent database snapshot and the stored
files; and the portable JSON-lines format, one file per model in dependency order."""

import hashlib
import json
import zipfile

import pytest
from django.conf import settings
from django.db import connection
from django.db.migrations.recorder import MigrationRecorder

from backups.restore_flag import set_database_restore_in_progress
from backups.selectors import backup_get, backup_list
from backups.services import backup_create, backup_delete
from backups.types import BackupNotFound, RestoreInProgress
from timetracker.models import Tag, TimeEntry

from .factories import three_entries

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def stored_files(private_storage):
    (private_storage / "exports").mkdir()
    (private_storage / "exports" / "report.csv").write_bytes(b"a,b\r\n1,2\r\n")
    (private_storage / "imports").mkdir()
    (private_storage / "imports" / "upload.csv").write_bytes(b"\xef\xbb\xbfstart,end\n")
    (private_storage / "imports" / "link.csv").symlink_to("/etc/passwd")
    return private_storage


def test_native_backup_holds_manifest_dump_and_stored_files(alice, stored_files):
    three_entries(alice)
    progress = []

    info = backup_create(progress=lambda done, total: progress.append((done, total)))

    assert info.path.parent == settings.BACKUP_DIR and info.name.endswith("-manual.zip")
    assert (info.engine, info.version, info.portable, info.trigger) == (connection.vendor, "0.1.0", False, "manual")
    assert info.size == info.path.stat().st_size
    assert progress[-1] == (3, 3)
    with zipfile.ZipFile(info.path) as archive:
        names = sorted(archive.namelist())
        manifest = json.loads(archive.read("manifest.json"))
        assert names == ["database.pgdump", "files/exports/report.csv", "files/imports/upload.csv", "manifest.json"]
        assert archive.read("files/exports/report.csv") == b"a,b\r\n1,2\r\n"
        for name in names[:-1]:
            content = archive.read(name)
            assert manifest["members"][name] == {"sha256": hashlib.sha256(content).hexdigest(), "size": len(content)}
        assert archive.read("database.pgdump").startswith(b"PGDMP")
    assert (manifest["product"], manifest["format"], manifest["engine"], manifest["trigger"]) == (
        "TimeTracker", "native", "postgresql", "manual")
    assert manifest["created_at"] == info.created_at.isoformat()
    applied = MigrationRecorder(connection).applied_migrations()
    assert manifest["migrations"]["timetracker"] == sorted(name for app, name in applied if app == "timetracker")
    assert manifest["migrations"]["timetracker"][0] == "0001_initial"
    assert manifest["migrations"]["auth"][0] == "0001_initial"
    counts = manifest["row_counts"]
    assert (counts["timetracker_timeentry"], counts["timetracker_timeentry_tags"], counts["auth_user"]) == (3, 1, 1)
    assert counts["timetracker_userprofile"] == 1 and "django_migrations" not in counts
    assert not list(settings.BACKUP_DIR.glob(".*partial")) and not list(settings.BACKUP_DIR.glob(".work-*"))


def test_portable_backup_has_one_json_lines_file_per_model_in_dependency_order(alice):
    three_entries(alice)

    info = backup_create(portable=True)

    assert info.portable and info.name.endswith("-manual-portable.zip")
    with zipfile.ZipFile(info.path) as archive:
        manifest = json.loads(archive.read("manifest.json"))
        models = manifest["models"]
        for later, earlier in [("timetracker.timeentry", "timetracker.project"), ("timetracker.project", "timetracker.client"),
                               ("timetracker.timeentry", "auth.user"), ("timetracker.timeentry", "timetracker.tag"),
                               ("auth.permission", "contenttypes.contenttype"), ("timetracker.task", "timetracker.project")]:
            assert models.index(earlier) < models.index(later), (earlier, later)
        assert sorted(archive.namelist()) == sorted(["manifest.json", *(f"data/{label}.jsonl" for label in models)])
        lines = archive.read("data/timetracker.timeentry.jsonl").decode().splitlines()
    rows = [json.loads(line) for line in lines]
    assert [row["fields"]["notes"] for row in rows] == ["day 1", "day 2", "day 3"]
    assert [row["pk"] for row in rows] == sorted(TimeEntry.objects.values_list("pk", flat=True))
    assert rows[1]["fields"]["tags"] == [Tag.objects.get(name="deep work").pk]
    assert manifest["row_counts"]["timetracker_timeentry"] == 3
    assert manifest["row_counts"]["timetracker_timeentry_tags"] == 1


def test_output_writes_the_archive_there_and_not_in_the_backup_list(alice, tmp_path):
    info = backup_create(output=tmp_path / "elsewhere.zip")

    assert info.path == tmp_path / "elsewhere.zip" and info.name == "elsewhere.zip"
    assert backup_list() == []


def test_backup_list_is_newest_first_and_skips_what_is_not_a_backup(alice):
    first = backup_create()
    second = backup_create(trigger="scheduled")
    (settings.BACKUP_DIR / "notes.zip").write_bytes(b"not a zip")
    (settings.BACKUP_DIR / "readme.txt").write_text("hello")

    assert [info.name for info in backup_list()] == [second.name, first.name]
    assert backup_get(first.name) == first
    backup_delete(name=first.name)
    assert [info.name for info in backup_list()] == [second.name]


@pytest.mark.parametrize("name", ["../backups/x.zip", "/etc/passwd", "..zip", "a/../b.zip", "x.txt", "", "notes.zip"])
def test_backup_get_refuses_path_tricks(name):
    (settings.BACKUP_DIR / "notes.zip").write_bytes(b"not a zip")
    with pytest.raises(BackupNotFound):
        backup_get(name)


def test_no_backup_while_a_restore_runs(alice):
    set_database_restore_in_progress(True)
    try:
        with pytest.raises(RestoreInProgress) as refused:
            backup_create()
    finally:
        set_database_restore_in_progress(False)
    assert str(refused.value) == "A restore is in progress; try again when it has finished."
    assert list(settings.BACKUP_DIR.iterdir()) == []


def test_an_uploaded_archive_is_kept_only_if_valid(alice, tmp_path):
    from backups.services import backup_upload_store
    from backups.types import BackupRejected

    made = backup_create(output=tmp_path / "made.zip")
    with open(made.path, "rb") as upload:
        stored = backup_upload_store(uploaded_file=upload)
    assert stored.name.endswith("-uploaded.zip") and stored.path.read_bytes() == made.path.read_bytes()
    assert (stored.engine, stored.trigger) == ("postgresql", "manual")

    with open("/work/shared/cases/14_zip_slip_backup.zip", "rb") as upload, pytest.raises(BackupRejected) as rejected:
        backup_upload_store(uploaded_file=upload)
    assert str(rejected.value) == 'Backup rejected: unsafe path "../../../../tmp/zip_slip_proof.txt"'
    with open(made.path, "rb") as upload, pytest.raises(BackupRejected) as rejected:
        backup_upload_store(uploaded_file=upload, max_size=1000)
    assert str(rejected.value) == "Backup rejected: larger than the upload limit of 1000 bytes"
    assert sorted(p.name for p in settings.BACKUP_DIR.iterdir()) == [stored.name]


def test_a_backup_being_restored_cannot_be_deleted(alice):
    from backups.status import status_write
    from backups.types import RestoreStatus

    info = backup_create()
    status_write(RestoreStatus(state="running", archive_name=info.name, step="replacing the database"))
    set_database_restore_in_progress(True)
    try:
        with pytest.raises(RestoreInProgress) as refused:
            backup_delete(name=info.name)
    finally:
        set_database_restore_in_progress(False)
    assert str(refused.value) == "That backup is being restored; it can be deleted when the restore has finished."
    assert info.path.exists()
