"""A preview's upload token is single-use even when its confirmations arrive together: the
claim is a database row (one DataImport per stored upload), not a check before the insert.
PostgreSQL, real threads, each with its own connection."""

import threading

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client as BrowserClient

from imports.models import DataImport
from timetracker.celery import app as celery_app

CSV_TEXT = b"project_name,start_time,end_time\nWeb,2024-03-04 09:00:00,2024-03-04 10:00:00\n"
ALREADY = {"success": False, "error": "This preview has already been imported; see the import history."}


def preview_token(user, url: str, text: bytes) -> str:
    client = BrowserClient()
    client.force_login(user)
    response = client.post(url, {"file": SimpleUploadedFile("week.csv", text), "preview": "1"})
    assert response.status_code == 200, response.content
    return response.json()["upload_token"]


def confirm_together(user, url: str, token: str, times: int = 2) -> list:
    answers = []
    start = threading.Barrier(times)

    def confirm():
        try:
            client = BrowserClient()
            client.force_login(user)
            start.wait()
            response = client.post(url, {"upload_token": token})
            answers.append((response.status_code, response.json()))
        finally:
            connection.close()

    threads = [threading.Thread(target=confirm) for _ in range(times)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return sorted(answers, key=lambda answer: answer[0])


@pytest.fixture
def queued_not_run():
    """Imports stay pending on the broker, so the stored upload outlives the first confirmation
    and both confirmations reach the claim."""
    if connection.vendor != "postgresql":
        pytest.skip("needs the PostgreSQL that scripts/test.sh starts")
    celery_app.conf.task_always_eager = False
    yield
    celery_app.conf.task_always_eager = True
    celery_app.control.purge()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("url", "text"),
    [
        ("/api/import/csv", CSV_TEXT),
        ("/api/import/csv/clients", b"name\nAcme\n"),
    ],
)
def test_concurrent_confirmations_of_one_preview_start_exactly_one_import(alice, queued_not_run, url, text):
    for attempt in range(5):
        token = preview_token(alice, url, text)

        answers = confirm_together(alice, url, token)

        assert [status for status, _ in answers] == [202, 400]
        assert answers[1][1] == ALREADY
        assert DataImport.objects.count() == attempt + 1
