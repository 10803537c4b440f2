"""The client import as a Celery task on a real worker (PostgreSQL + Redis from scripts/test.sh)."""

import pytest

from imports.clients import ClientImportOptions, clients_import_create
from imports.models import DataImport
from imports.services import csv_upload_store
from imports.tasks import clients_import_task
from imports.tests.factories import FileUpload
from imports.tests.test_csv_task import wait_finished
from timetracker.models import Client, Contact


@pytest.mark.celery_worker
def test_worker_runs_the_client_import_and_a_second_delivery_changes_nothing(celery_worker, charlie):
    data = b"name,contact_1_first_name,contact_1_last_name\nAcme,Jane,Roe\nGlobex,,\n"
    stored = csv_upload_store(user=charlie, uploaded_file=FileUpload(data))
    data_import = clients_import_create(
        user=charlie, stored_file=stored, source_file_name="clients.csv", options=ClientImportOptions()
    )
    finished = wait_finished(data_import.pk)
    assert (finished.status, finished.created_records, finished.import_type) == ("completed", 2, "csv_clients")
    assert clients_import_task.delay(data_import.pk).get(timeout=30) == "completed"
    assert DataImport.objects.get(pk=data_import.pk).finished_at == finished.finished_at
    assert Client.objects.count() == 2
    assert list(Contact.objects.values_list("first_name", "is_primary")) == [("Jane", True)]
