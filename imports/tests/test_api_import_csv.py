"""DRF v1: POST /api/v1/time-entries/import-csv and GET /api/v1/imports/<id>, with real tokens."""

import json
import time
from datetime import UTC, datetime, timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from imports.models import DataImport
from timetracker.models import ApiToken, TimeEntry

URL = "/api/v1/time-entries/import-csv"
CSV_TEXT = (
    "project_name,client_name,start_time,end_time,notes,tags,billable\n"
    "Website,Acme,2024-03-04 09:00:00,2024-03-04 10:30:00,Homepage draft,design;web,yes\n"
    "Website,Acme,2024-03-04T11:00:00+00:00,2024-03-04T11:15:00+00:00,Call,,no\n"
)
ROWS = [
    {"project_name": "Website", "client_name": "Acme", "start_time": "2024-03-04 09:00:00",
     "end_time": "2024-03-04 10:30:00", "notes": "Homepage draft", "tags": "design;web", "billable": "yes"},
    {"project_name": "Website", "client_name": "Acme", "start_time": "2024-03-04T11:00:00+00:00",
     "end_time": "2024-03-04T11:15:00+00:00", "notes": "Call", "tags": "", "billable": "no"},
]


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def bearer(raw: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def assert_two_entries_imported(owner) -> None:
    """CSV_TEXT / ROWS, the first row read in Europe/Berlin (alice's profile timezone)."""
    entries = list(TimeEntry.objects.order_by("start"))
    assert [(e.owner, e.project.name, e.project.client.name, e.start, e.end, e.duration_seconds, e.notes, e.billable)
            for e in entries] == [
        (owner, "Website", "Acme", utc(2024, 3, 4, 8), utc(2024, 3, 4, 9, 30), 5400, "Homepage draft", True),
        (owner, "Website", "Acme", utc(2024, 3, 4, 11), utc(2024, 3, 4, 11, 15), 900, "Call", False),
    ]
    assert sorted(t.name for t in entries[0].tags.all()) == ["design", "web"]
    assert list(entries[1].tags.all()) == []


def assert_accepted(response, source_file_name: str):
    assert response.status_code == 202, response.content
    data_import = DataImport.objects.get()
    body = response.json()
    assert body["success"] is True
    assert body["import_id"] == data_import.pk
    assert body["status_url"] == f"/api/v1/imports/{data_import.pk}"
    # Tasks run in-process in this test, so the queued import has already finished.
    assert body["status"] == "completed"
    assert body["summary"] == {"total": 2, "successful": 2, "failed": 0, "created": 2, "updated": 0,
                               "unchanged": 0, "skipped": 0, "errors": []}
    assert data_import.source_file_name == source_file_name
    return data_import


# ---- the four body forms -----------------------------------------------------------------


def test_multipart_file(client, alice, api_token):
    raw = api_token(alice, "write:time_entries")
    upload = SimpleUploadedFile("week.csv", CSV_TEXT.encode(), content_type="text/csv")
    response = client.post(URL, {"file": upload}, **bearer(raw))
    assert_accepted(response, "week.csv")
    assert_two_entries_imported(alice)


def test_json_csv_text(client, alice, api_token):
    raw = api_token(alice, "write:time_entries")
    response = client.post(URL, {"csv": CSV_TEXT}, content_type="application/json", **bearer(raw))
    assert_accepted(response, "API request (CSV text)")
    assert_two_entries_imported(alice)


def test_json_rows(client, alice, api_token):
    raw = api_token(alice, "write:time_entries")
    response = client.post(URL, {"data": ROWS}, content_type="application/json", **bearer(raw))
    assert_accepted(response, "API request (JSON rows)")
    assert_two_entries_imported(alice)


def test_raw_text_csv_body_in_cp1252(client, alice, api_token):
    raw = api_token(alice, "write:time_entries")
    body = CSV_TEXT.replace("Homepage draft", "Café Relaunch").encode("cp1252")
    response = client.post(URL, body, content_type="text/csv", **bearer(raw))
    assert_accepted(response, "API request (text/csv body)")
    assert list(TimeEntry.objects.order_by("start").values_list("notes", flat=True)) == ["Café Relaunch", "Call"]


def test_reimport_through_the_api_creates_nothing_twice(client, alice, api_token):
    raw = api_token(alice, "write:time_entries")
    client.post(URL, {"csv": CSV_TEXT}, content_type="application/json", **bearer(raw))
    response = client.post(URL, CSV_TEXT.encode(), content_type="text/csv", **bearer(raw))
    assert response.status_code == 202
    summary = response.json()["summary"]
    assert (summary["created"], summary["unchanged"]) == (0, 2)
    assert TimeEntry.objects.count() == 2


def test_options_from_query_string_and_body(client, alice, api_token):
    raw = api_token(alice, "write:time_entries")
    response = client.post(
        f"{URL}?timezone=America/New_York", CSV_TEXT.encode(), content_type="text/csv", **bearer(raw)
    )
    assert response.status_code == 202
    # 09:00 in New York (EST, before the DST switch on 10 March) is 14:00 UTC; the second
    # row carries its own offset.
    assert list(TimeEntry.objects.order_by("start").values_list("start", flat=True)) == [
        utc(2024, 3, 4, 11), utc(2024, 3, 4, 14)]
    assert DataImport.objects.get().options["timezone"] == "America/New_York"

    response = client.post(URL, {"csv": CSV_TEXT, "timezone": "UTC", "preview": True},
                           content_type="application/json", **bearer(raw))
    assert response.status_code == 200
    assert response.json()["preview"]["timezone"] == "UTC"


def test_preview_imports_nothing(client, alice, api_token):
    raw = api_token(alice, "write:time_entries")
    response = client.post(f"{URL}?preview=true", CSV_TEXT.encode(), content_type="text/csv", **bearer(raw))
    assert response.status_code == 200
    preview = response.json()["preview"]
    assert (preview["total_rows"], preview["would_create"], preview["errors"]) == (2, 2, [])
    assert preview["timezone"] == "Europe/Berlin"
    assert DataImport.objects.count() == 0 and TimeEntry.objects.count() == 0


# ---- 400 ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs",
    [
        {"data": b"", "content_type": "text/csv"},
        {"data": b" \r\n\t\n", "content_type": "text/csv"},
        {"data": {"csv": ""}, "content_type": "application/json"},
        {"data": {"csv": "  \n\n"}, "content_type": "application/json"},
        {"data": {"data": []}, "content_type": "application/json"},
        {"data": {}, "content_type": "application/json"},
        {"data": {"file": SimpleUploadedFile("e.csv", b"\n\n")}},
    ],
    ids=["empty-body", "blank-body", "empty-csv", "blank-csv", "no-rows", "empty-json", "blank-file"],
)
def test_empty_csv(client, alice, api_token, kwargs):
    raw = api_token(alice, "write:time_entries")
    response = client.post(URL, **kwargs, **bearer(raw))
    assert response.status_code == 400
    assert response.json() == {"success": False, "error": "Empty CSV"}
    assert DataImport.objects.count() == 0


@pytest.mark.parametrize(
    "kwargs",
    [
        {"data": {"data": [{}, {}]}, "content_type": "application/json"},
        {"data": {"csv": "Website,2024-03-04 09:00:00,2024-03-04 10:00:00\n"}, "content_type": "application/json"},
        {"data": b"Website,2024-03-04 09:00:00,2024-03-04 10:00:00\n", "content_type": "text/csv"},
    ],
    ids=["rows-without-keys", "csv-without-header", "body-without-header"],
)
def test_csv_must_include_a_header_row(client, alice, api_token, kwargs):
    raw = api_token(alice, "write:time_entries")
    response = client.post(URL, **kwargs, **bearer(raw))
    assert response.status_code == 400
    body = response.json()
    assert (body["success"], body["error"]) == (False, "CSV must include a header row")
    if not isinstance(kwargs["data"], dict) or "csv" in kwargs["data"]:  # JSON rows have no first line to quote
        assert body["message"].startswith(
            'No known header row found (the first line reads "Website,2024-03-04 09:00:00,2024-03-04 10:00:00"). '
        )
    assert DataImport.objects.count() == 0


@pytest.mark.parametrize(
    "kwargs",
    [
        {"data": {"file": SimpleUploadedFile("h.csv", b"project_name,start_time,end_time\r\n\r\n")}},
        {"data": {"csv": "project_name,start_time,end_time\n"}, "content_type": "application/json"},
        {"data": b"project_name,start_time,end_time", "content_type": "text/csv"},
    ],
    ids=["file", "csv-text", "body"],
)
def test_header_without_data_rows_is_a_400(client, alice, api_token, kwargs):
    raw = api_token(alice, "write:time_entries")
    response = client.post(URL, **kwargs, **bearer(raw))
    assert response.status_code == 400
    assert response.json() == {"success": False, "error": "The file has a header row but no data rows."}
    assert DataImport.objects.count() == 0


@pytest.mark.parametrize(
    "kwargs, error",
    [
        ({"data": {"csv": CSV_TEXT, "timezone": "Mars/Base"}, "content_type": "application/json"},
         'timezone: "Mars/Base" is not a valid choice.'),
        ({"data": {"csv": CSV_TEXT, "date_order": "DDMM"}, "content_type": "application/json"},
         'date_order: "DDMM" is not a valid choice.'),
        ({"data": {"csv": ["a"]}, "content_type": "application/json"}, "csv: Not a valid string."),
        ({"data": {"data": ["a row"]}, "content_type": "application/json"},
         'data: Expected a dictionary of items but got type "str".'),
        ({"data": {"data": [{"notes": {"nested": 1}}]}, "content_type": "application/json"},
         "data: Not a valid string."),
        ({"data": [1, 2], "content_type": "application/json"},
         'Send a multipart "file", JSON {"csv": "..."} or {"data": [...]}, or a text/csv body.'),
        ({"data": {"file": SimpleUploadedFile("hours.xlsx", b"PK\x03\x04")}}, "File must be a CSV (.csv or .txt)"),
    ],
    ids=["timezone", "date-order", "csv-not-string", "row-not-object", "nested-value", "json-list", "xlsx"],
)
def test_bad_input_gets_400_with_the_reason(client, alice, api_token, kwargs, error):
    raw = api_token(alice, "write:time_entries")
    response = client.post(URL, **kwargs, **bearer(raw))
    assert response.status_code == 400
    assert response.json() == {"success": False, "error": error}


def test_malformed_json_and_unknown_media_type(client, alice, api_token):
    raw = api_token(alice, "write:time_entries")
    response = client.post(URL, b'{"csv": ', content_type="application/json", **bearer(raw))
    assert response.status_code == 400
    response = client.post(URL, b"<xml/>", content_type="application/xml", **bearer(raw))
    assert response.status_code == 415


def test_binary_body_is_a_clear_400(client, alice, api_token):
    raw = api_token(alice, "write:time_entries")
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10\x00\x00\x00\x10\x08\x02\x00\x00\x00"
    response = client.post(URL, png, content_type="text/csv", **bearer(raw))
    assert response.status_code == 400
    assert response.json()["error"]
    assert DataImport.objects.count() == 0


# ---- 413 ----------------------------------------------------------------------------------


def test_oversize_text_body_gets_413(client, alice, api_token, settings):
    settings.MAX_UPLOAD_SIZE = 1024
    raw = api_token(alice, "write:time_entries")
    big = (CSV_TEXT * 2000).encode()
    response = client.post(URL, big, content_type="text/csv", **bearer(raw))
    assert response.status_code == 413
    assert response.json()["error"].endswith("the upload limit is 1 KB.")
    assert DataImport.objects.count() == 0


def test_upload_over_the_limit_but_within_multipart_slack_gets_413(client, alice, api_token, settings):
    settings.MAX_UPLOAD_SIZE = 200
    raw = api_token(alice, "write:time_entries")
    for kwargs in (
        {"data": CSV_TEXT.encode() * 2, "content_type": "text/csv"},
        {"data": {"file": SimpleUploadedFile("w.csv", CSV_TEXT.encode() * 2)}},
    ):
        response = client.post(URL, **kwargs, **bearer(raw))
        assert response.status_code == 413, response.content
        assert response.json()["success"] is False
    assert DataImport.objects.count() == 0


# ---- tokens: 401, 403, 429 and the three header forms --------------------------------------


@pytest.mark.parametrize(
    "header",
    [
        lambda raw: {"HTTP_AUTHORIZATION": f"Bearer {raw}"},
        lambda raw: {"HTTP_AUTHORIZATION": f"Token {raw}"},
        lambda raw: {"HTTP_X_API_KEY": raw},
    ],
    ids=["bearer", "token", "x-api-key"],
)
def test_all_three_header_forms_import(client, alice, api_token, header):
    raw = api_token(alice, "write:time_entries")
    response = client.post(URL, {"csv": CSV_TEXT}, content_type="application/json", **header(raw))
    assert response.status_code == 202
    assert TimeEntry.objects.filter(owner=alice).count() == 2
    assert ApiToken.objects.get().last_used_at is not None


def test_no_token_is_401(client, db):
    response = client.post(URL, {"csv": CSV_TEXT}, content_type="application/json")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'
    assert response.json() == {
        "error": "Authentication required",
        "message": "Send a valid API token as 'Authorization: Bearer tt_…'.",
        "error_code": "unauthorized",
    }


@pytest.mark.parametrize(
    "make_token, error",
    [
        (lambda alice, api_token: "tt_notarealtoken", "Invalid token"),
        (lambda alice, api_token: "abc", "Invalid token"),
        (lambda alice, api_token: expired(api_token(alice, "write:time_entries",
                                                    expires_at=timezone.now() + timedelta(minutes=1))),
         "Token has expired"),
        (lambda alice, api_token: revoked(api_token(alice, "write:time_entries")), "Token has been revoked"),
    ],
    ids=["unknown", "no-prefix", "expired", "revoked"],
)
def test_bad_tokens_are_401(client, alice, api_token, make_token, error):
    raw = make_token(alice, api_token)
    response = client.post(URL, {"csv": CSV_TEXT}, content_type="application/json", **bearer(raw))
    assert response.status_code == 401
    assert response.json() == {
        "error": error,
        "message": "Send a valid API token as 'Authorization: Bearer tt_…'.",
        "error_code": "unauthorized",
    }
    assert TimeEntry.objects.count() == 0


def expired(raw: str) -> str:
    """The token's expiry has passed since it was made (time moved, not waited)."""
    ApiToken.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    return raw


def revoked(raw: str) -> str:
    ApiToken.objects.update(revoked_at=timezone.now())
    return raw


def test_missing_scope_is_403_naming_the_scope(client, alice, api_token):
    raw = api_token(alice, "read:time_entries", "read:mileage")
    response = client.post(URL, {"csv": CSV_TEXT}, content_type="application/json", **bearer(raw))
    assert response.status_code == 403
    assert response.json() == {
        "error": "Insufficient permissions",
        "message": "This token lacks the scope write:time_entries.",
        "error_code": "forbidden",
        "required_scope": "write:time_entries",
        "available_scopes": ["read:time_entries", "read:mileage"],
    }
    assert TimeEntry.objects.count() == 0


@pytest.mark.parametrize("scope", ["write:*", "*"])
def test_wildcard_scopes_may_import(client, alice, api_token, scope):
    raw = api_token(alice, scope)
    response = client.post(URL, {"csv": CSV_TEXT}, content_type="application/json", **bearer(raw))
    assert response.status_code == 202


def test_rate_limit_is_429_with_retry_after(client, alice, api_token, settings):
    settings.API_TOKEN_RATE_LIMIT_PER_MINUTE = 2
    raw = api_token(alice, "write:time_entries")
    statuses = [
        client.post(URL, {"csv": CSV_TEXT}, content_type="application/json", **bearer(raw)).status_code
        for _ in range(2)
    ]
    assert statuses == [202, 202]
    response = client.post(URL, {"csv": CSV_TEXT}, content_type="application/json", **bearer(raw))
    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= 60
    body = response.json()
    assert (body["error"], body["error_code"]) == ("Rate limit exceeded", "rate_limited")
    assert body["message"].startswith("Too many requests for this token; retry in ")
    assert DataImport.objects.count() == 2


# ---- GET /api/v1/imports/<id> -------------------------------------------------------------


def test_import_status_own_others_and_scope(client, alice, bob, charlie, api_token):
    write = api_token(alice, "write:time_entries")
    queued = client.post(URL, {"csv": CSV_TEXT}, content_type="application/json", **bearer(write))
    import_id = queued.json()["import_id"]

    read = api_token(alice, "read:time_entries")
    response = client.get(f"/api/v1/imports/{import_id}", **bearer(read))
    assert response.status_code == 200
    body = response.json()
    assert (body["id"], body["user"], body["status"], body["progress_percent"], body["is_finished"]) == (
        import_id, "alice", "completed", 100, True)
    assert (body["total_records"], body["created_records"], body["failed_records"]) == (2, 2, 0)
    assert body["source_file"] == "API request (CSV text)"
    assert body["completed_at"] is not None and body["error_log"] == []

    response = client.get(f"/api/v1/imports/{import_id}", **bearer(write))
    assert response.status_code == 403
    assert response.json()["required_scope"] == "read:time_entries"

    response = client.get(f"/api/v1/imports/{import_id}", **bearer(api_token(bob, "read:time_entries")))
    assert response.status_code == 404
    assert response.json() == {"success": False, "error": "Import not found"}
    assert client.get("/api/v1/imports/999999", **bearer(read)).status_code == 404

    response = client.get(f"/api/v1/imports/{import_id}", **bearer(api_token(charlie, "read:*")))
    assert response.status_code == 200 and response.json()["user"] == "alice"

    assert client.get(f"/api/v1/imports/{import_id}").status_code == 401


@pytest.mark.parametrize("column", ["project_name", "Start_Time"])
def test_a_column_repeated_in_the_header_is_a_400(client, alice, api_token, column):
    raw = api_token(alice, "write:time_entries")
    text = f"project_name,start_time,end_time,{column}\nWeb,2024-03-04 09:00:00,2024-03-04 10:00:00,Other\n"
    response = client.post(URL, text.encode(), content_type="text/csv", **bearer(raw))
    assert response.status_code == 400
    assert response.json() == {"success": False, "error": f'The column "{column}" appears twice in the header.'}
    assert DataImport.objects.count() == 0


def test_import_status_does_not_answer_for_a_clients_import(client, alice, api_token):
    clients_import = DataImport.objects.create(owner=alice, import_type="csv_clients", status="completed")
    read = api_token(alice, "read:time_entries")

    response = client.get(f"/api/v1/imports/{clients_import.pk}", **bearer(read))

    assert response.status_code == 404
    assert response.json() == {"success": False, "error": "Import not found"}
    # Its own endpoint answers, with its own scope.
    response = client.get(f"/api/v1/clients/imports/{clients_import.pk}", **bearer(api_token(alice, "read:clients")))
    assert (response.status_code, response.json()["import_type"]) == (200, "csv_clients")


@pytest.mark.parametrize("import_type", ["toggl", "harvest"])
def test_import_status_answers_for_toggl_and_harvest_pulls(client, alice, api_token, import_type):
    pull = DataImport.objects.create(owner=alice, import_type=import_type, status="completed")
    response = client.get(f"/api/v1/imports/{pull.pk}", **bearer(api_token(alice, "read:time_entries")))
    assert (response.status_code, response.json()["import_type"]) == (200, import_type)


def test_v1_is_not_a_session_endpoint(alice_client):
    """A logged-in browser session is no API credential (and so needs no CSRF token here)."""
    response = alice_client.post(URL, {"csv": CSV_TEXT}, content_type="application/json")
    assert response.status_code == 401
    assert TimeEntry.objects.count() == 0


# ---- the real background path --------------------------------------------------------------


@pytest.mark.celery_worker
def test_import_is_queued_and_a_real_worker_completes_it(client, alice, api_token, celery_worker, settings):
    settings.API_TOKEN_RATE_LIMIT_PER_MINUTE = 10_000  # polling must not hit the rate limit on a slow machine
    raw = api_token(alice, "write:time_entries", "read:time_entries")
    response = client.post(URL, json.dumps({"csv": CSV_TEXT}), content_type="application/json", **bearer(raw))
    assert response.status_code == 202
    body = response.json()
    assert body["status"] in ("pending", "processing", "completed")
    deadline = time.monotonic() + 60
    while True:
        response = client.get(body["status_url"], **bearer(raw))
        assert response.status_code == 200, response.content
        status = response.json()
        if status["is_finished"] or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert status["status"] == "completed", celery_worker.log
    assert (status["created_records"], status["progress_percent"]) == (2, 100)
    assert_two_entries_imported(alice)


def test_json_rows_with_an_unknown_key_are_imported_and_the_key_listed(client, alice, api_token):
    raw = api_token(alice, "write:time_entries")
    rows = [{**ROWS[0], "invoice": "R-17"}, ROWS[1]]
    preview = client.post(URL, {"data": rows, "preview": True}, content_type="application/json", **bearer(raw))
    assert (preview.status_code, preview.json()["preview"]["ignored_columns"]) == (200, ["invoice"])

    response = client.post(URL, {"data": rows}, content_type="application/json", **bearer(raw))
    data_import = assert_accepted(response, "API request (JSON rows)")
    assert data_import.summary["ignored_columns"] == ["invoice"]
    assert_two_entries_imported(alice)


def test_empty_timezone_and_date_order_mean_the_defaults(client, alice, api_token):
    raw = api_token(alice, "write:time_entries")
    response = client.post(
        URL, {"csv": CSV_TEXT, "timezone": "", "date_order": ""}, content_type="application/json", **bearer(raw)
    )
    data_import = assert_accepted(response, "API request (CSV text)")
    assert data_import.options["timezone"] == "Europe/Berlin"
    assert_two_entries_imported(alice)


def test_session_import_endpoints_answer_a_wrong_method_in_json(alice_client):
    response = alice_client.get("/api/import/csv")
    assert (response.status_code, response["Content-Type"], response["Allow"]) == (405, "application/json", "POST")
    assert response.json() == {"success": False, "error": "Method GET not allowed; use POST."}
    response = alice_client.post("/api/import/history")
    assert (response.status_code, response.json()["error"]) == (405, "Method POST not allowed; use GET, HEAD.")
