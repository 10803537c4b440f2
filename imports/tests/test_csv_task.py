"""The import as a Celery task on a real worker (PostgreSQL + Redis from scripts/test.sh)."""

import time

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
