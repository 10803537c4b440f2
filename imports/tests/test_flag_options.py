"""Yes/no options are read strictly on every import endpoint: true/false, 1/0, yes/no, on/off
(any case); anything else is a 400 naming the option and the value, never taken as true."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from imports.models import DataImport
from timetracker.models import Client, TimeEntry

CSV_TEXT = b"project_name,start_time,end_time\nWeb,2024-03-04 09:00:00,2024-03-04 10:00:00\n"
TOGGL_BODY = {"token": "tt-secret", "workspace_id": "2000002", "start": "2024-01-01", "end": "2024-01-31"}


def refused(option: str, value: str) -> str:
    return f'{option}: "{value}" is not a yes/no value; use true/false, 1/0, yes/no or on/off.'


def bearer(raw: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


@pytest.mark.parametrize("option", ["preview", "skip_invalid"])
@pytest.mark.parametrize("value", ["maybe", "2", "t", "y"])
def test_session_time_entry_import_refuses_a_bad_flag_in_the_form_or_the_query(alice_client, option, value):
    response = alice_client.post("/api/import/csv", {"file": SimpleUploadedFile("a.csv", CSV_TEXT), option: value})
    assert (response.status_code, response.json()) == (400, {"success": False, "error": refused(option, value)})

    response = alice_client.post(f"/api/import/csv?{option}={value}", {"file": SimpleUploadedFile("a.csv", CSV_TEXT)})
    assert (response.status_code, response.json()) == (400, {"success": False, "error": refused(option, value)})
    assert (DataImport.objects.count(), TimeEntry.objects.count()) == (0, 0)


def test_session_time_entry_preview_in_the_query_string_previews(alice_client):
    response = alice_client.post("/api/import/csv?preview=yes", {"file": SimpleUploadedFile("a.csv", CSV_TEXT)})
    assert (response.status_code, response.json()["preview"]["would_create"]) == (200, 1)
    assert DataImport.objects.count() == 0


@pytest.mark.parametrize("option", ["preview", "skip_invalid", "skip_duplicates"])
def test_session_clients_import_refuses_a_bad_flag(alice_client, option):
    response = alice_client.post(
        "/api/import/csv/clients", {"file": SimpleUploadedFile("c.csv", b"name\nAcme\n"), option: "maybe"}
    )
    assert (response.status_code, response.json()) == (400, {"success": False, "error": refused(option, "maybe")})
    assert Client.objects.count() == 0


def test_session_clients_empty_skip_duplicates_keeps_the_default(charlie_client):
    Client.objects.create(name="Acme", email="old@acme.example")
    response = charlie_client.post(
        "/api/import/csv/clients",
        {"file": SimpleUploadedFile("c.csv", b"name,email\nAcme,new@acme.example\n"), "skip_duplicates": ""},
    )
    assert response.json()["summary"]["skipped"] == 1
    assert Client.objects.get().email == "old@acme.example"


@pytest.mark.parametrize(
    ("url", "scope", "body", "options"),
    [
        ("/api/v1/time-entries/import-csv", "write:time_entries", CSV_TEXT, ["preview", "skip_invalid"]),
        ("/api/v1/clients/import-csv", "write:clients", b"name\nAcme\n", ["preview", "skip_invalid", "skip_duplicates"]),
    ],
)
def test_v1_imports_refuse_a_bad_flag_in_the_query_or_the_json_body(client, alice, api_token, url, scope, body, options):
    raw = api_token(alice, scope)
    for option in options:
        for value in ("maybe", "t", "n"):
            response = client.post(f"{url}?{option}={value}", body, content_type="text/csv", **bearer(raw))
            assert (response.status_code, response.json()) == (400, {"success": False, "error": refused(option, value)})
        response = client.post(url, {"csv": body.decode(), option: 2}, content_type="application/json", **bearer(raw))
        assert (response.status_code, response.json()) == (400, {"success": False, "error": refused(option, "2")})
    assert DataImport.objects.count() == 0


def test_v1_flags_accept_every_documented_spelling(client, alice, api_token):
    raw = api_token(alice, "write:time_entries")
    for value in ("true", "1", "yes", "on", "TRUE", "On"):
        response = client.post(f"/api/v1/time-entries/import-csv?preview={value}", CSV_TEXT, content_type="text/csv",
                                **bearer(raw))
        assert response.status_code == 200, value
    response = client.post("/api/v1/time-entries/import-csv", {"csv": CSV_TEXT.decode(), "preview": True},
                           content_type="application/json", **bearer(raw))
    assert response.status_code == 200
    for value in ("false", "0", "no", "off"):
        response = client.post(f"/api/v1/time-entries/import-csv?preview={value}", CSV_TEXT, content_type="text/csv",
                               **bearer(raw))
        assert response.status_code == 202, value
    assert DataImport.objects.count() == 4


def test_pulls_refuse_a_bad_map_users_by_email(client, charlie_client, charlie, api_token):
    error = {"success": False, "error": refused("map_users_by_email", "maybe"), "field": "map_users_by_email"}
    response = charlie_client.post(
        "/api/import/toggl", {**TOGGL_BODY, "map_users_by_email": "maybe"}, content_type="application/json"
    )
    assert (response.status_code, response.json()["error"]) == (400, error["error"])
    response = client.post("/api/v1/import/toggl", {**TOGGL_BODY, "map_users_by_email": "maybe"},
                           content_type="application/json", **bearer(api_token(charlie, "write:time_entries")))
    assert (response.status_code, response.json()) == (400, error)
    assert DataImport.objects.count() == 0
