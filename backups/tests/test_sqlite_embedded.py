"""The embedded default (SQLite, no Redis): a native backup through the SQLite online backup
API and a restore into the live file, through manage.py in a separate installation; the
restore flag is a file in DATA_DIR and is gone when backup_restore returns."""

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]

COUNT = ("from timetracker.models import TimeEntry; "
         "print(sorted(TimeEntry.objects.values_list('notes', flat=True)))")


def manage(env: dict, *args: str) -> str:
    result = subprocess.run([sys.executable, "manage.py", *args], cwd=REPO_ROOT, env=env, capture_output=True,
                            text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_sqlite_native_backup_and_restore_by_command(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    env = {key: value for key, value in os.environ.items() if key not in ("DATABASE_URL", "REDIS_URL")}
    env.update(DATA_DIR=str(data), PYTHONPATH=str(REPO_ROOT))
    manage(env, "migrate", "-v0")
    manage(env, "shell", "-c", "from conftest import make_user; from exports.tests.factories import at, entry; "
           "alice = make_user('alice'); "
           "[entry(alice, start=at(f'2024-01-0{d} 09:00'), end=at(f'2024-01-0{d} 10:00'), notes=f'day {d}') "
           "for d in (1, 2)]")
    (data / "private" / "exports").mkdir(parents=True)
    (data / "private" / "exports" / "a.csv").write_bytes(b"x,y\n")

    output = manage(env, "backup_create", "--no-progress")
    name = output.split("/")[-1].split(" ")[0]
    with zipfile.ZipFile(data / "backups" / name) as archive:
        assert sorted(archive.namelist()) == ["database.sqlite3", "files/exports/a.csv", "manifest.json"]
        manifest = json.loads(archive.read("manifest.json"))
        assert archive.read("database.sqlite3").startswith(b"SQLite format 3\x00")
    assert (manifest["engine"], manifest["row_counts"]["timetracker_timeentry"]) == ("sqlite", 2)

    manage(env, "shell", "-c", "from timetracker.models import TimeEntry; TimeEntry.objects.all().delete()")
    (data / "private" / "exports" / "a.csv").unlink()
    assert manage(env, "shell", "--no-imports", "-c", COUNT) == "[]\n"

    output = manage(env, "backup_restore", name, "--yes", "--no-progress")

    assert output.startswith(f"Restored {name}: ") and ", 1 stored files, 0 migrations applied." in output
    assert manage(env, "shell", "--no-imports", "-c", COUNT) == "['day 1', 'day 2']\n"
    assert (data / "private" / "exports" / "a.csv").read_bytes() == b"x,y\n"
    assert not (data / "restore-in-progress.json").exists()
    listing = manage(env, "backup_list")
    assert listing.splitlines()[0].startswith("backup-") and "\tsqlite\tsafety\tv0.1.0" in listing.splitlines()[0]
