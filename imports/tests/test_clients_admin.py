"""The Client admin: CSV import (upload -> preview -> confirm, through the client import
service) and the export action in the same layout."""

import re

from django.core.files.uploadedfile import SimpleUploadedFile

from imports.models import DataImport
from timetracker.models import Client

CHANGELIST_URL = "/admin/timetracker/client/"
IMPORT_URL = "/admin/timetracker/client/import-csv/"


def hidden_fields(html: str) -> dict:
    fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', html.split("Confirm import")[0]))
    fields.pop("csrfmiddlewaretoken", None)
    return fields


def test_changelist_links_the_import_and_template(charlie_client):
    html = charlie_client.get(CHANGELIST_URL).content.decode()
    assert f'href="{IMPORT_URL}"' in html
    assert 'href="/api/import/template/csv/clients"' in html


def test_preview_then_confirm_updates_without_reactivating(charlie_client, charlie):
    Client.objects.create(name="Acme", status="inactive", custom_fields={"erp_id": "A-1"})
    upload = SimpleUploadedFile("clients.csv", b"name,email,custom_field_erp_id\nAcme,new@acme.example,A-1\nGlobex,,G-1\n")
    response = charlie_client.post(IMPORT_URL, {"file": upload, "skip_duplicates": ["0"], "duplicate_detection_fields": ""})
    html = response.content.decode()
    assert response.status_code == 200
    assert re.search(r"2 rows: 1 to create, 1 to update,\s+0 unchanged, 0 duplicates skipped, 0 errors.", html)
    assert DataImport.objects.count() == 0 and Client.objects.count() == 1

    fields = hidden_fields(html)
    assert fields["skip_duplicates"] == "0"
    confirmed = charlie_client.post(IMPORT_URL, fields)
    assert (confirmed.status_code, confirmed["Location"]) == (302, CHANGELIST_URL)
    data_import = DataImport.objects.get()
    assert (data_import.owner, data_import.status, data_import.created_records, data_import.updated_records) == (
        charlie, "completed", 1, 1
    )
    acme = Client.objects.get(name="Acme")
    assert (acme.status, acme.email, acme.custom_fields) == ("inactive", "new@acme.example", {"erp_id": "A-1"})


def test_confirm_with_edited_options_is_refused(charlie_client):
    Client.objects.create(name="Acme", status="inactive")
    upload = SimpleUploadedFile("clients.csv", b"name,status\nAcme,active\n")
    html = charlie_client.post(IMPORT_URL, {"file": upload}).content.decode()

    response = charlie_client.post(IMPORT_URL, {**hidden_fields(html), "skip_duplicates": "0"})

    assert "The options changed since the preview (skip_duplicates); preview the file again." in response.content.decode()
    assert DataImport.objects.count() == 0
    assert Client.objects.get().status == "inactive"


def test_preview_lists_errors_and_offers_no_confirm(charlie_client):
    upload = SimpleUploadedFile("clients.csv", b"name,status\nAcme,closed\n")
    html = charlie_client.post(IMPORT_URL, {"file": upload}).content.decode()
    assert "<td>2</td><td>status</td><td>closed</td><td>must be active, inactive or archived</td>" in html
    assert "Confirm import" not in html
    assert Client.objects.count() == 0


def test_bad_file_is_shown(charlie_client):
    upload = SimpleUploadedFile("clients.csv", b"title\nAcme\n")
    html = charlie_client.post(IMPORT_URL, {"file": upload}).content.decode()
    assert '<p class="errornote">No &quot;name&quot; column in the header row' in html


def test_export_action_writes_the_import_layout(charlie_client):
    acme = Client.objects.create(name="Acme", custom_fields={"erp_id": "A-1"})
    Client.objects.create(name="Globex")
    response = charlie_client.post(
        CHANGELIST_URL, {"action": "export_clients_csv", "_selected_action": [str(acme.pk)]}
    )
    assert response["Content-Disposition"].startswith('attachment; filename="clients_export_')
    assert response.content.decode() == (
        "\ufeffname,description,contact_person,email,phone,address,default_hourly_rate,status,prepaid_hours_monthly,"
        "prepaid_reset_day,custom_field_erp_id\r\nAcme,,,,,,,active,,1,A-1\r\n"
    )


def test_non_staff_cannot_reach_the_admin_import(alice_client):
    response = alice_client.get(IMPORT_URL)
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")
