"""Requirement 7: manage.py backup_create, backup_list and backup_restore (which returns when
the restore has finished and the flag is cleared), with progress bars on stderr."""

import io
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from backups.restore_flag import is_database_restore_in_progress
from backups.selectors import backup_list
from timetracker.models import TimeEntry

from .factories import entries_of, rewrite_archive, three_entries

REPO_ROOT = Path(__file__).resolve().parents[2]


def run(*args) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_backup_create_list_and_restore(restorable_db, alice, tmp_path):
    three_entries(alice)
    out, err = run("backup_create")
    info = backup_list()[0]
    assert out == f"Wrote {info.path} (postgresql, {info.size} bytes)\n"
    assert "Backup: 100%" in err and "2/2" not in err  # one database member, no stored files

    out, err = run("backup_create", "--portable", "--output", str(tmp_path / "portable.zip"))
    assert out.startswith(f"Wrote {tmp_path / 'portable.zip'} (portable, ")
    assert json.loads(zipfile.ZipFile(tmp_path / "portable.zip").read("manifest.json"))["format"] == "portable"

    out, _ = run("backup_list")
    assert out == (f"{info.name}\t{info.created_at:%Y-%m-%d %H:%M:%S} UTC\t{info.size} bytes\tpostgresql\tmanual\t"
                   "v0.1.0\n")

    TimeEntry.objects.filter(notes="day 2").delete()
    out, err = run("backup_restore", info.name, "--yes")
    assert out.startswith(f"Restored {info.name}: ") and ", 0 migrations applied. Safety backup: backup-" in out
    assert "Restore: 100%" in err and "6/6" in err
    assert is_database_restore_in_progress() is False
    assert entries_of(alice) == [("day 1", 5400, []), ("day 2", 5400, ["deep work"]), ("day 3", 5400, [])]

    out, _ = run("backup_restore", str(tmp_path / "portable.zip"), "--yes", "--no-progress")
    assert out.startswith("Restored portable.zip: ")
    assert entries_of(alice) == [("day 1", 5400, []), ("day 2", 5400, ["deep work"]), ("day 3", 5400, [])]

    out, _ = run("backup_list")
    assert out.splitlines()[-1].startswith("Last restore: completed (portable.zip): Restored portable.zip: ")


def test_backup_restore_of_a_bad_archive_is_a_command_error(restorable_db, alice, tmp_path):
    (tmp_path / "bad.zip").write_bytes(b"PK\x03\x04 not really")
    with pytest.raises(CommandError) as failed:
        run("backup_restore", str(tmp_path / "bad.zip"), "--yes")
    assert str(failed.value) == "Backup rejected: not a backup archive (not a readable ZIP file)"
    with pytest.raises(CommandError) as failed:
        run("backup_restore", "missing.zip", "--yes")
    assert str(failed.value) == "No such file: missing.zip"


@pytest.mark.parametrize("created_at", ["yesterday", "2020-01-01T00:00:00"])
def test_backup_restore_of_an_archive_without_a_valid_creation_time_changes_nothing(restorable_db, alice, tmp_path,
                                                                                    created_at):  # fmt: skip
    three_entries(alice)
    run("backup_create")
    [taken] = backup_list()
    odd = rewrite_archive(taken.path, tmp_path / "odd.zip",
                          manifest_change=lambda manifest: manifest.update(created_at=created_at))
    TimeEntry.objects.filter(notes="day 1").delete()

    with pytest.raises(CommandError) as failed:
        run("backup_restore", str(odd), "--yes", "--no-progress")

    assert str(failed.value) == ("Backup rejected: invalid manifest (created_at must be an ISO 8601 date and time "
                                 f"with a UTC offset, not {created_at!r})")
    assert entries_of(alice) == [("day 2", 5400, ["deep work"]), ("day 3", 5400, [])]
    assert backup_list() == [taken]  # no safety backup either
    assert is_database_restore_in_progress() is False


def test_backup_restore_asks_first(restorable_db, alice):
    three_entries(alice)
    run("backup_create")
    db = settings.DATABASES["default"]
    env = dict(os.environ, BACKUP_DIR=str(settings.BACKUP_DIR), PRIVATE_STORAGE_DIR=str(settings.PRIVATE_STORAGE_DIR),
               DATABASE_URL=f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST']}:{db['PORT']}/{db['NAME']}")
    result = subprocess.run([sys.executable, "manage.py", "backup_restore", backup_list()[0].name], cwd=REPO_ROOT,
                            env=env, input="no\n", capture_output=True, text=True, check=False)
    assert result.returncode == 1
    assert "Type 'yes': " in result.stdout
    assert result.stderr.strip().endswith("CommandError: Restore cancelled.")
    assert [b.trigger for b in backup_list()] == ["manual"]


def test_backup_create_output_never_overwrites_and_writes_into_a_folder(restorable_db, alice, tmp_path, settings):
    settings.DATA_DIR = tmp_path / "data"
    settings.DATA_DIR.mkdir()
    (settings.DATA_DIR / "db.sqlite3").write_bytes(b"SQLite format 3\0")
    (tmp_path / "old.zip").write_bytes(b"an older backup")

    for target, message in [
        (settings.DATA_DIR / "db.sqlite3", f"{settings.DATA_DIR / 'db.sqlite3'} is the database file; choose another name"),
        (settings.DATA_DIR / "db.sqlite3-wal",
         f"{settings.DATA_DIR / 'db.sqlite3-wal'} is the database file; choose another name"),
        (tmp_path / "old.zip", f"{tmp_path / 'old.zip'} already exists; choose another name"),
    ]:
        with pytest.raises(CommandError) as refused:
            run("backup_create", "--no-progress", "--output", str(target))
        assert str(refused.value) == message
    assert (settings.DATA_DIR / "db.sqlite3").read_bytes() == b"SQLite format 3\0"
    assert not (settings.DATA_DIR / "db.sqlite3-wal").exists()
    assert (tmp_path / "old.zip").read_bytes() == b"an older backup"

    (tmp_path / "out").mkdir()
    out, _ = run("backup_create", "--no-progress", "--output", str(tmp_path / "out"))
    [written] = (tmp_path / "out").iterdir()
    assert written.name.startswith("backup-") and written.name.endswith("-manual.zip")
    assert out == f"Wrote {written} (postgresql, {written.stat().st_size} bytes)\n"
    assert backup_list() == []


def test_backup_restore_without_yes_and_no_stdin_asks_for_yes(restorable_db, alice):
    run("backup_create")
    db = settings.DATABASES["default"]
    env = dict(os.environ, BACKUP_DIR=str(settings.BACKUP_DIR), PRIVATE_STORAGE_DIR=str(settings.PRIVATE_STORAGE_DIR),
               DATABASE_URL=f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST']}:{db['PORT']}/{db['NAME']}")
    result = subprocess.run([sys.executable, "manage.py", "backup_restore", backup_list()[0].name], cwd=REPO_ROOT,
                            env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, check=False)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == (
        "CommandError: Confirmation needed: run with --yes to restore without asking.")
    assert [b.trigger for b in backup_list()] == ["manual"]


def test_backup_delete_deletes_a_backup_but_none_during_a_restore(restorable_db, alice):
    from django.utils import timezone

    from backups.restore_flag import set_database_restore_in_progress
    from backups.status import status_write
    from backups.types import RestoreStatus

    run("backup_create")
    run("backup_create", "--portable")
    first, second = backup_list()
    assert run("backup_delete", first.name) == (f"Deleted {first.name}\n", "")
    assert backup_list() == [second]

    status_write(RestoreStatus(state="running", archive_name=second.name))
    set_database_restore_in_progress(True)
    try:
        with pytest.raises(CommandError) as refused:
            run("backup_delete", second.name)
    finally:
        set_database_restore_in_progress(False)
    assert str(refused.value) == "That backup is being restored; it can be deleted when the restore has finished."
    run("backup_create")
    third = backup_list()[0]
    status_write(RestoreStatus(state="queued", archive_name=second.name, queued_at=timezone.now()))
    with pytest.raises(CommandError) as refused:
        run("backup_delete", third.name)
    assert str(refused.value) == "A restore is in progress; try again when it has finished."
    status_write(RestoreStatus(state="completed", archive_name=second.name))
    assert run("backup_delete", third.name) == (f"Deleted {third.name}\n", "")
    with pytest.raises(CommandError) as refused:
        run("backup_delete", "backup-nope.zip")
    assert str(refused.value) == 'No backup named "backup-nope.zip".'
    assert backup_list() == [second]


def test_a_successful_restore_keeps_only_the_newest_safety_backups(restorable_db, alice, settings):
    settings.BACKUP_SAFETY_KEEP = 2
    run("backup_create")
    [manual] = backup_list()
    safety_names = []
    for _ in range(3):
        out, _ = run("backup_restore", manual.name, "--yes", "--no-progress")
        safety_names.append(out.strip().rsplit("Safety backup: ", 1)[1].rstrip("."))
    assert len(set(safety_names)) == 3
    assert sorted(b.name for b in backup_list() if b.trigger == "safety") == sorted(safety_names[1:])
    assert manual in backup_list()
