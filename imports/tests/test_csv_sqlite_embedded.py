"""CSV imports in the embedded default: SQLite under DATA_DIR and tasks in background threads
(scripts/run.sh). The suite runs on PostgreSQL, so each test runs a script in a subprocess
without DATABASE_URL and REDIS_URL, on a SQLite file in a temporary DATA_DIR."""

import json
import os
import subprocess
import sys

from conftest import REPO_ROOT

# The embedded default is what is left when none of these is set.
EMBEDDED_UNSET = ("DATABASE_URL", "REDIS_URL", "CELERY_TASK_RUN_IN_THREAD", "PRIVATE_STORAGE_DIR", "BACKUP_DIR")

SETUP = """
import json, sqlite3, sys, threading, time
import django
django.setup()
from django.conf import settings
from django.core.management import call_command
from django.contrib.auth import get_user_model
from imports.models import DataImport
from imports.services import CsvImportOptions, csv_import_create, csv_text_store
from imports.tasks import csv_import_task
from timetracker.celery import app
assert settings.DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3"
assert app.conf.task_always_eager and app.conf.task_run_in_thread
call_command("migrate", verbosity=0)
user = get_user_model().objects.create_user("alice", "alice@example.com", "alice-password")
HEADER = "project_name,client_name,task_name,start_time,end_time,duration_hours,notes,tags,billable\\n"

def stored(name, rows):
    lines = "".join(f"Web,,,2024-03-04 09:00,2024-03-04 10:00,,{name} row {n},,\\n" for n in range(rows))
    return csv_text_store(user=user, text=HEADER + lines)

def lock_the_database():
    from django.db import connection
    connection.close()
    other = sqlite3.connect(settings.DATABASES["default"]["NAME"], isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    return other

def wait_all_finished(timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not all(d.is_finished for d in DataImport.objects.all()):
        time.sleep(0.2)
    rows = DataImport.objects.order_by("source_file_name")
    print(json.dumps([[d.source_file_name, d.status, d.created_records, d.status_message] for d in rows]))
"""


def run_embedded(script: str, tmp_path) -> tuple[list, str]:
    """Run SETUP + script on a fresh SQLite database; (its last line of output as JSON, its log)."""
    env = {k: v for k, v in os.environ.items() if k not in EMBEDDED_UNSET}
    env.update(DATA_DIR=str(tmp_path), DJANGO_SETTINGS_MODULE="timetracker.settings", PYTHONPATH=str(REPO_ROOT))
    done = subprocess.run(
        [sys.executable, "-c", SETUP + script],
        check=False, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=240,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1]), done.stderr


def test_three_concurrent_imports_all_complete(tmp_path):
    # Three uploads at once, as three POST /api/import/csv requests would start them.
    script = """
files = [stored(f"file{n}", 3000) for n in range(3)]
starts = [
    threading.Thread(target=csv_import_create, kwargs=dict(
        user=user, stored_file=files[n], source_file_name=f"file{n}.csv", options=CsvImportOptions(timezone="UTC")))
    for n in range(3)
]
for start in starts: start.start()
for start in starts: start.join()
wait_all_finished()
"""
    outcome, log = run_embedded(script, tmp_path)
    done = "Imported: 3000 created, 0 updated, 0 unchanged."
    assert outcome == [
        ["file0.csv", "completed", 3000, done],
        ["file1.csv", "completed", 3000, done],
        ["file2.csv", "completed", 3000, done],
    ]
    assert "database is locked" not in log


def test_an_import_that_finds_the_database_locked_runs_again(tmp_path):
    # Another process holds the write lock longer than the busy timeout: the first attempt
    # fails with "database is locked", the retry (in a new thread) imports the file.
    script = """
settings.DATABASES["default"]["OPTIONS"]["timeout"] = 1
data_import = csv_import_create(user=user, stored_file=stored("locked", 3), source_file_name="locked.csv",
                                options=CsvImportOptions(timezone="UTC"), enqueue=False)
other = lock_the_database()
csv_import_task.delay(data_import.pk)
time.sleep(1.5)
other.execute("COMMIT")
wait_all_finished()
"""
    outcome, _ = run_embedded(script, tmp_path)
    assert outcome == [["locked.csv", "completed", 3, "Imported: 3 created, 0 updated, 0 unchanged."]]


def test_the_last_attempt_marks_the_import_failed_instead_of_leaving_it_pending(tmp_path):
    # The database stays locked through the last attempt; the lock is gone by the time the
    # task writes that it gave up.
    script = """
settings.DATABASES["default"]["OPTIONS"]["timeout"] = 1
data_import = csv_import_create(user=user, stored_file=stored("locked", 3), source_file_name="locked.csv",
                                options=CsvImportOptions(timezone="UTC"), enqueue=False)
other = lock_the_database()
threading.Timer(1.5, other.execute, args=("COMMIT",)).start()
csv_import_task.apply(args=(data_import.pk,), retries=csv_import_task.max_retries)
wait_all_finished()
"""
    outcome, _ = run_embedded(script, tmp_path)
    message = (
        "Import stopped after 0 rows: the database was unavailable (database is locked) in 4 attempts. "
        "Import the file again (rows already imported are not created twice)."
    )
    assert outcome == [["locked.csv", "failed", 0, message]]
