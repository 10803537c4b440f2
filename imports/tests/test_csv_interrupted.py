"""An import whose run was killed (kill -9 of import_csv, a server restart in embedded mode)
is marked failed once it shows no progress, instead of staying "processing" in the history."""

from datetime import timedelta

import pytest
from django.utils import timezone

from imports import services
from imports.services import (
    CsvImportOptions,
    csv_import_create,
    csv_import_run,
    csv_text_store,
)
from imports.tests.factories import import_file
from timetracker.models import TimeEntry

HEADER = "project_name,client_name,task_name,start_time,end_time,duration_hours,notes,tags,billable\n"
FIVE_ROWS = HEADER + "".join(f"Web,,,2024-03-04 {9 + n:02d}:00,2024-03-04 {9 + n:02d}:30,,row {n},,yes\n" for n in range(5))


@pytest.fixture
def killed_after_one_batch(alice, settings, monkeypatch):
    """An import that wrote its first batch of 2 rows at `beat`, then its process died."""
    settings.IMPORT_CSV_BATCH_SIZE = 2
    beat = timezone.now().replace(microsecond=0)
    monkeypatch.setattr(services, "clock", lambda: beat)
    stored = csv_text_store(user=alice, text=FIVE_ROWS)
    data_import = csv_import_create(
        user=alice, stored_file=stored, source_file_name="five.csv", options=CsvImportOptions(), enqueue=False
    )
    stopped = csv_import_run(data_import_id=data_import.pk, stop_after_batches=1)
    assert (stopped.status, stopped.status_message) == ("processing", "Imported 2 of 5 rows")
    return data_import, beat


def status_at(client, monkeypatch, data_import, moment) -> dict:
    monkeypatch.setattr(services, "clock", lambda: moment)
    return client.get(f"/api/import/status/{data_import.pk}").json()


def test_embedded_import_without_progress_for_ten_minutes_is_marked_interrupted(
    killed_after_one_batch, alice, alice_client, settings, monkeypatch
):
    settings.REDIS_URL = ""  # embedded: tasks run in a thread, nothing redelivers them
    data_import, beat = killed_after_one_batch
    assert status_at(alice_client, monkeypatch, data_import, beat + timedelta(minutes=10))["status"] == "processing"

    late = status_at(alice_client, monkeypatch, data_import, beat + timedelta(minutes=10, seconds=1))
    assert late["status"] == "failed"
    assert late["status_message"] == (
        f"Interrupted: no progress since {beat:%Y-%m-%d %H:%M:%S} UTC; import the file again "
        "(rows already imported are not created twice)."
    )
    history = alice_client.get("/api/import/history").json()["imports"]
    assert [(row["id"], row["status"]) for row in history] == [(data_import.pk, "failed")]

    again = import_file(alice, FIVE_ROWS.encode())
    assert (again.status, again.created_records, again.unchanged_records) == ("completed", 3, 2)
    assert TimeEntry.objects.filter(owner=alice).count() == 5


def test_with_a_broker_an_import_is_given_the_redelivery_time_first(
    killed_after_one_batch, alice_client, settings, monkeypatch
):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
    data_import, beat = killed_after_one_batch
    # A late-acked task comes back after the visibility timeout and resumes: not interrupted yet.
    assert status_at(alice_client, monkeypatch, data_import, beat + timedelta(minutes=70))["status"] == "processing"
    assert status_at(alice_client, monkeypatch, data_import, beat + timedelta(minutes=70, seconds=1))["status"] == "failed"


def test_a_pending_import_never_started_counts_from_its_creation(alice, alice_client, settings, monkeypatch):
    settings.REDIS_URL = ""
    stored = csv_text_store(user=alice, text=FIVE_ROWS)
    data_import = csv_import_create(
        user=alice, stored_file=stored, source_file_name="five.csv", options=CsvImportOptions(), enqueue=False
    )
    moment = data_import.created_at + timedelta(minutes=11)
    assert status_at(alice_client, monkeypatch, data_import, moment)["status"] == "failed"
