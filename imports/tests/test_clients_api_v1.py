"""DRF v1: POST /api/v1/clients/import-csv (write:clients), GET /api/v1/clients/imports/<id>
and GET /api/v1/clients/export (read:clients), with real tokens."""

import csv
import io

from django.core.files.uploadedfile import SimpleUploadedFile

from imports.models import DataImport
from timetracker.models import Client

IMPORT_URL = "/api/v1/clients/import-csv"
EXPORT_URL = "/api/v1/clients/export"


def bearer(raw: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def test_multipart_import_is_queued_and_reports_through_the_status_url(client, charlie, api_token):
    raw = api_token(charlie, "write:clients", "read:clients")
    upload = SimpleUploadedFile("clients.csv", b"name,status,custom_field_erp_id\nAcme,inactive,A-1\n")
    response = client.post(IMPORT_URL, {"file": upload}, **bearer(raw))
    assert response.status_code == 202, response.content
    data_import = DataImport.objects.get()
    body = response.json()
    assert body == {
        "success": True, "import_id": data_import.pk, "status": "completed",
        "status_url": f"/api/v1/clients/imports/{data_import.pk}",
        "summary": {"total": 1, "successful": 1, "failed": 0, "created": 1, "updated": 0, "unchanged": 0,
                    "skipped": 0, "errors": []},
    }
    assert list(Client.objects.values_list("name", "status", "custom_fields")) == [
        ("Acme", "inactive", {"erp_id": "A-1"})
    ]
    detail = client.get(body["status_url"], **bearer(raw)).json()
    assert (detail["import_type"], detail["status"], detail["created_records"]) == ("csv_clients", "completed", 1)


def test_json_csv_with_options_in_the_query_updates(client, charlie, api_token):
    Client.objects.create(name="Acme", status="inactive", custom_fields={"erp_id": "A-1"})
    raw = api_token(charlie, "write:clients")
    response = client.post(
        f"{IMPORT_URL}?skip_duplicates=false&duplicate_detection_fields=custom_field_erp_id",
        {"csv": "name,email,custom_field_erp_id\nAcme,new@acme.example,A-1\n"},
        content_type="application/json", **bearer(raw),
    )
    assert response.json()["summary"]["updated"] == 1
    acme = Client.objects.get()
    assert (acme.status, acme.email) == ("inactive", "new@acme.example")


def test_raw_text_csv_body_and_preview(client, charlie, api_token):
    raw = api_token(charlie, "write:clients")
    response = client.post(
        f"{IMPORT_URL}?preview=true", b"name;status\nAcme;paused\n", content_type="text/csv", **bearer(raw)
    )
    assert response.status_code == 200
    preview = response.json()["preview"]
    assert (preview["delimiter"], preview["total_rows"]) == (";", 1)
    assert preview["errors"] == [
        {"line": 2, "column": "status", "value": "paused", "message": "must be active, inactive or archived"}
    ]
    assert DataImport.objects.count() == Client.objects.count() == 0


def test_scopes_are_required(client, charlie, api_token):
    wrong = api_token(charlie, "write:time_entries", "read:time_entries")
    denied = client.post(IMPORT_URL, {"csv": "name\nAcme\n"}, content_type="application/json", **bearer(wrong))
    assert denied.status_code == 403
    assert denied.json()["required_scope"] == "write:clients"
    assert client.get(EXPORT_URL, **bearer(wrong)).json()["required_scope"] == "read:clients"
    assert client.get(EXPORT_URL).status_code == 401
    assert Client.objects.count() == 0


def test_bad_input_answers(client, charlie, api_token, settings):
    raw = api_token(charlie, "write:clients")
    empty = client.post(IMPORT_URL, {"csv": "  "}, content_type="application/json", **bearer(raw))
    assert empty.json() == {"success": False, "error": "Empty CSV"}
    no_name = client.post(IMPORT_URL, {"csv": "email\nx@y.example\n"}, content_type="application/json", **bearer(raw))
    assert no_name.status_code == 400 and no_name.json()["error"].startswith('No "name" column')
    settings.MAX_UPLOAD_SIZE = 5
    too_large = client.post(IMPORT_URL, {"file": SimpleUploadedFile("c.csv", b"name\nAcme\n")}, **bearer(raw))
    assert too_large.status_code == 413


def test_export_admin_token_gets_every_client_others_only_theirs(client, charlie, alice, api_token):
    Client.objects.create(name="Acme", email="=cmd")
    Client.objects.create(name="Globex", status="inactive")
    admin_csv = client.get(f"{EXPORT_URL}?status=active", **bearer(api_token(charlie, "read:clients")))
    assert admin_csv["Content-Disposition"].startswith('attachment; filename="clients_export_')
    rows = list(csv.reader(io.StringIO(admin_csv.content.decode("utf-8-sig"))))
    assert [row[0] for row in rows[1:]] == ["Acme"]
    alice_csv = client.get(EXPORT_URL, **bearer(api_token(alice, "read:clients")))
    assert list(csv.reader(io.StringIO(alice_csv.content.decode("utf-8-sig"))))[1:] == []


def test_status_of_a_time_entry_import_is_not_a_client_import(client, charlie, api_token):
    data_import = DataImport.objects.create(owner=charlie, import_type=DataImport.Type.CSV)
    raw = api_token(charlie, "read:clients")
    assert client.get(f"/api/v1/clients/imports/{data_import.pk}", **bearer(raw)).status_code == 404
