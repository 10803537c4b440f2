"""A clients file with a header and no data row is refused at every entry point, with the
time-entry import's message, and nothing is recorded."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command

from imports.models import DataImport
from imports.services import HEADER_ONLY_ERROR

HEADER_ONLY = b"name,email\r\n\r\n"


def test_session_api_and_page_answer_400(charlie_client):
    upload = SimpleUploadedFile("clients.csv", HEADER_ONLY, content_type="text/csv")
    response = charlie_client.post("/api/import/csv/clients", {"file": upload})
    assert response.status_code == 400
    assert response.json() == {"success": False, "error": "The file has a header row but no data rows."}
    assert DataImport.objects.count() == 0


def test_v1_answers_400(client, charlie, api_token):
    raw = api_token(charlie, "write:clients")
    response = client.post(
        "/api/v1/clients/import-csv", {"csv": "name\n"}, content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {raw}",
    )
    assert response.status_code == 400
    assert response.json()["error"] == HEADER_ONLY_ERROR
    assert DataImport.objects.count() == 0


def test_admin_shows_the_error(charlie_client):
    upload = SimpleUploadedFile("clients.csv", HEADER_ONLY)
    html = charlie_client.post("/admin/timetracker/client/import-csv/", {"file": upload}).content.decode()
    assert f'<p class="errornote">{HEADER_ONLY_ERROR}' in html
    assert DataImport.objects.count() == 0


def test_command_fails(charlie, tmp_path):
    path = tmp_path / "clients.csv"
    path.write_bytes(HEADER_ONLY)
    with pytest.raises(CommandError, match=r"^The file has a header row but no data rows\.$"):
        call_command("import_clients", str(path))
    assert DataImport.objects.count() == 0
