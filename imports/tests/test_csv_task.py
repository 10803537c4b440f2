"""The import as a Celery task on a real worker (PostgreSQL + Redis from scripts/test.sh)."""

import time
from datetime import UTC, datetime, timedelta

import pytest

from conftest import CASES_DIR
from imports.models import DataImport
from imports.services import CsvImportOptions, csv_import_create, csv_upload_store
from imports.tasks import csv_import_task
from imports.tests.factories import FileUpload
from timetracker.models import TimeEntry


def wait_finished(data_import_id: int, timeout: float = 30) -> DataImport:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        data_import = DataImport.objects.get(pk=data_import_id)
        if data_import.is_finished:
            return data_import
        time.sleep(0.1)
    raise AssertionError(f"import {data_import_id} did not finish: {data_import.status} {data_import.status_message}")


def test_task_is_acknowledged_late():
    assert csv_import_task.acks_late is True
    assert csv_import_task.reject_on_worker_lost is True


@pytest.mark.celery_worker
def test_worker_runs_the_import_enqueued_on_commit_and_a_second_delivery_changes_nothing(celery_worker, alice):
    data = (CASES_DIR / "11_reimport_duplicates_toggl.csv").read_bytes()
    stored = csv_upload_store(user=alice, uploaded_file=FileUpload(data))
    data_import = csv_import_create(
        user=alice, stored_file=stored, source_file_name="11.csv", options=CsvImportOptions(timezone="UTC")
    )
    finished = wait_finished(data_import.pk)
    assert (finished.status, finished.created_records, finished.processed_records) == ("completed", 4, 4)
    assert TimeEntry.objects.filter(owner=alice).count() == 4

    # The same message delivered again (late ack after a lost worker does this).
    assert csv_import_task.delay(data_import.pk).get(timeout=30) == "completed"
    again = DataImport.objects.get(pk=data_import.pk)
    assert (again.created_records, again.finished_at) == (4, finished.finished_at)
    assert TimeEntry.objects.filter(owner=alice).count() == 4


@pytest.fixture
def small_batches(monkeypatch, settings):
    """Set before the worker starts, so the worker writes 10 rows per transaction too."""
    monkeypatch.setenv("IMPORT_CSV_BATCH_SIZE", "10")
    settings.IMPORT_CSV_BATCH_SIZE = 10


@pytest.mark.celery_worker
def test_worker_killed_mid_import_leaves_whole_batches_and_a_rerun_finishes_exactly(small_batches, celery_worker, bob):
    lines = ["project_name,client_name,task_name,start_time,end_time,duration_hours,notes,tags,billable"]
    first = datetime(2024, 1, 1, tzinfo=UTC)
    for n in range(1500):
        lines.append(f"Web,Acme,,{(first + timedelta(minutes=15 * n)).isoformat()},,0.25,row {n},t{n % 3},yes")
    stored = csv_upload_store(user=bob, uploaded_file=FileUpload(("\n".join(lines) + "\n").encode()))
    data_import = csv_import_create(user=bob, stored_file=stored, source_file_name="big.csv", options=CsvImportOptions())

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        current = DataImport.objects.get(pk=data_import.pk)
        if current.processed_records > 0:
            break
        time.sleep(0.02)
    celery_worker.kill()  # SIGKILL, as a crash or an OOM kill would

    crashed = DataImport.objects.get(pk=data_import.pk)
    assert crashed.status == "processing"
    written = TimeEntry.objects.filter(owner=bob).count()
    # Only whole batches, each committed together with its checkpoint.
    assert written == crashed.checkpoint["batches"] * 10 == crashed.processed_records == crashed.created_records
    assert 0 < written < 1500

    # The broker redelivers the unacknowledged task (late ack); the new run resumes.
    celery_worker.start()
    assert csv_import_task.delay(data_import.pk).get(timeout=60) == "completed"
    finished = DataImport.objects.get(pk=data_import.pk)
    assert (finished.created_records, finished.processed_records, finished.total_records) == (1500, 1500, 1500)
    assert TimeEntry.objects.filter(owner=bob).count() == 1500
    assert sorted(int(n.split()[1]) for n in TimeEntry.objects.values_list("notes", flat=True)) == list(range(1500))
