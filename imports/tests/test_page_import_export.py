"""The Import/Export page and the session JSON endpoints /api/import/*, driven like the page
drives them: logged in with a cookie, CSRF enforced, the token sent as X-CSRFToken."""

from datetime import UTC, datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from conftest import CASES_DIR
from imports.models import DataImport
from timetracker.models import TimeEntry

TEMPLATE_BYTES = (
    b"project_name,client_name,task_name,start_time,end_time,duration_hours,notes,tags,billable\r\n"
    b"Example Project,Example Client,Example Task,2024-01-01 09:00:00,2024-01-01 10:30:00,1.5,"
    b"Meeting with client,meeting;client,true\r\n"
    b"Another Project,Another Client,,2024-01-01 14:00:00,2024-01-01 16:00:00,2.0,"
    b"Development work,dev;coding,true\r\n"
)
INVALID_ROW_CSV = (
    b"project_name,start_time,end_time,notes\n"
    b"Website,2024-03-04 09:00:00,2024-03-04 10:00:00,good row\n"
    b"Website,2024-13-04 09:00:00,2024-03-04 10:00:00,bad month\n"
)


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def csrf_client(user) -> tuple[Client, str]:
    """A browser-like client: CSRF checks on, token taken from the page's cookie."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    page = client.get("/import-export/")
    assert page.status_code == 200
    return client, client.cookies["csrftoken"].value


def upload(name: str, content: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="text/csv")


def post_csv(client, token, content: bytes, name="entries.csv", **fields):
    return client.post("/api/import/csv", {"file": upload(name, content), **fields}, HTTP_X_CSRFTOKEN=token)


# ---- the page ---------------------------------------------------------------------------


def test_page_needs_login(client):
    response = client.get("/import-export/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/import-export/"


def test_page_is_in_the_user_menu_and_has_form_with_profile_timezone(alice_client):
    home = alice_client.get("/").content.decode()
    assert '<a href="/import-export/">Import/Export</a>' in home

    page = alice_client.get("/import-export/").content.decode()
    assert '<a id="csv-template-link" href="/api/import/template/csv" download>' in page
    assert '<form id="csv-upload-form"' in page and 'name="csrfmiddlewaretoken"' in page
    assert '<meta name="csrf-token" content="' in page
    # alice's profile timezone is preselected, the date order defaults to "detect".
    assert '<option value="Europe/Berlin" selected>Europe/Berlin</option>' in page
    assert '<option value="" selected>Detect from the file</option>' in page
    assert '<option value="MDY">Month/Day/Year (12/31/2024)</option>' in page
    assert 'name="skip_invalid"' in page and "Import valid rows, skip invalid ones" in page
    assert 'id="csv-preview"' in page and 'id="csv-confirm"' in page
    assert 'data-history-url="/api/import/history"' in page
    assert "No imports yet." in page


def test_page_history_lists_own_imports_only_and_admin_sees_all(client, alice, bob, charlie):
    mine = DataImport.objects.create(owner=alice, import_type="csv", source_file_name="alice-hours.csv",
                                     status="completed", total_records=3, created_records=3)
    DataImport.objects.create(owner=bob, import_type="csv", source_file_name="bob-hours.csv")

    client.force_login(alice)
    page = client.get("/import-export/").content.decode()
    assert "alice-hours.csv" in page and "bob-hours.csv" not in page
    assert f'data-import-id="{mine.pk}" data-status="completed"' in page
    assert "<th>User</th>" not in page

    client.force_login(charlie)
    page = client.get("/import-export/").content.decode()
    assert "alice-hours.csv" in page and "bob-hours.csv" in page
    assert "<th>User</th>" in page


def test_template_download_is_the_documented_template(alice_client):
    response = alice_client.get("/api/import/template/csv")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="timetracker_import_template.csv"'
    assert response.content == TEMPLATE_BYTES


def test_template_download_needs_login(client):
    assert client.get("/api/import/template/csv").status_code == 401


# ---- CSRF ---------------------------------------------------------------------------------


def test_session_post_without_csrf_token_is_refused_with_json_and_writes_nothing(alice):
    client, _ = csrf_client(alice)
    response = client.post("/api/import/csv", {"file": upload("t.csv", TEMPLATE_BYTES)})
    assert response.status_code == 403
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["success"] is False
    assert body["error"] == "CSRF token missing or incorrect"
    assert body["reason"] == "CSRF token missing."
    assert DataImport.objects.count() == 0 and TimeEntry.objects.count() == 0


def test_session_post_with_wrong_csrf_token_is_refused(alice):
    client, _ = csrf_client(alice)
    response = post_csv(client, "x" * 64, TEMPLATE_BYTES)
    assert response.status_code == 403
    assert response.json()["reason"] == "CSRF token from the 'X-Csrftoken' HTTP header incorrect."


def test_csrf_failure_outside_api_keeps_django_html_page(alice):
    client, _ = csrf_client(alice)
    response = client.post("/account/tokens/", {"name": "x", "scopes": ["read:time_entries"]})
    assert response.status_code == 403
    assert response["Content-Type"].startswith("text/html")
    assert b"CSRF verification failed" in response.content


# ---- upload, preview, confirm ------------------------------------------------------------


def test_preview_reports_the_file_and_writes_nothing(alice):
    client, token = csrf_client(alice)
    content = (CASES_DIR / "01_utf8_bom_toggl_header.csv").read_bytes()
    response = post_csv(client, token, content, name="toggl.csv", preview="1")
    assert response.status_code == 200
    body = response.json()
    assert body["success"] is True
    assert body["file_name"] == "toggl.csv"
    preview = body["preview"]
    assert (preview["format_name"], preview["format_label"]) == ("toggl", "Toggl Track detailed report")
    assert (preview["encoding"], preview["delimiter"]) == ("utf-8-sig", ",")
    assert (preview["date_order"], preview["date_order_detected"]) == ("YMD", True)
    assert preview["ignored_columns"] == [] and preview["warnings"] == []
    assert preview["timezone"] == "Europe/Berlin"
    assert preview["total_rows"] == 2
    assert preview["errors"] == []
    assert (preview["would_create"], preview["would_update"], preview["unchanged"]) == (2, 0, 0)
    assert [(row["line"], row["project_name"], row["notes"]) for row in preview["sample_rows"]] == [
        (2, "Website", "Homepage draft"),
        (3, "Internal", "Standup"),
    ]
    assert preview["needs_date_order"] is False
    assert body["upload_token"]
    assert DataImport.objects.count() == 0 and TimeEntry.objects.count() == 0


def test_preview_lists_ignored_columns_and_semicolon_files(alice):
    client, token = csrf_client(alice)
    content = "project_name;start_time;duration_hours;Invoice no\nWeb;2024-03-04 09:00;1,5;R-17\n".encode()
    preview = post_csv(client, token, content, preview="1").json()["preview"]
    assert (preview["delimiter"], preview["ignored_columns"], preview["errors"]) == (";", ["Invoice no"], [])
    assert preview["sample_rows"][0]["duration_seconds"] == 5400


def test_preview_lists_row_errors_with_line_column_and_value(alice):
    client, token = csrf_client(alice)
    body = post_csv(client, token, INVALID_ROW_CSV, preview="1").json()
    errors = body["preview"]["errors"]
    assert [(e["line"], e["column"], e["value"]) for e in errors] == [(3, "start_time", "2024-13-04 09:00:00")]
    assert errors[0]["message"] == "not a valid date in year-month-day order"
    assert TimeEntry.objects.count() == 0


def test_confirming_a_preview_imports_exactly_the_previewed_file(alice):
    client, token = csrf_client(alice)
    preview = post_csv(client, token, TEMPLATE_BYTES, name="template.csv", preview="1").json()

    response = client.post(
        "/api/import/csv",
        {"upload_token": preview["upload_token"], "timezone": "Europe/Berlin"},
        HTTP_X_CSRFTOKEN=token,
    )
    # Without REDIS_URL… here tasks run in-process, so the import has finished: 200, not 202.
    assert response.status_code == 200
    body = response.json()
    data_import = DataImport.objects.get()
    assert body == {
        "success": True,
        "import_id": data_import.pk,
        "status": "completed",
        "status_url": f"/api/import/status/{data_import.pk}",
        "summary": {"total": 2, "successful": 2, "failed": 0, "created": 2, "updated": 0, "unchanged": 0,
                    "skipped": 0, "errors": []},
    }
    assert data_import.owner == alice and data_import.source_file_name == "template.csv"
    entries = list(TimeEntry.objects.order_by("start"))
    assert [(e.owner, e.project.name, e.project.client.name, e.start, e.end, e.duration_seconds, e.notes)
            for e in entries] == [
        (alice, "Example Project", "Example Client", utc(2024, 1, 1, 8), utc(2024, 1, 1, 9, 30), 5400,
         "Meeting with client"),
        (alice, "Another Project", "Another Client", utc(2024, 1, 1, 13), utc(2024, 1, 1, 15), 7200,
         "Development work"),
    ]
    assert entries[0].task.name == "Example Task" and entries[1].task is None
    assert sorted(t.name for t in entries[0].tags.all()) == ["client", "meeting"]

    # The same preview cannot be confirmed twice.
    again = client.post("/api/import/csv", {"upload_token": preview["upload_token"]}, HTTP_X_CSRFTOKEN=token)
    assert again.status_code == 400
    assert again.json()["error"] == "This preview has already been imported; see the import history."
    assert TimeEntry.objects.count() == 2


def test_a_column_repeated_in_the_header_is_a_400(alice):
    client, token = csrf_client(alice)
    text = b"project_name,project_name,start_time,end_time\nWeb,Other,2024-03-04 09:00:00,2024-03-04 10:00:00\n"
    response = post_csv(client, token, text, preview="1")
    assert response.status_code == 400
    assert response.json() == {"success": False, "error": 'The column "project_name" appears twice in the header.'}


def test_confirming_a_preview_with_other_options_is_refused(alice):
    client, token = csrf_client(alice)
    preview = post_csv(client, token, TEMPLATE_BYTES, timezone="UTC", preview="1").json()

    changed = client.post(
        "/api/import/csv", {"upload_token": preview["upload_token"], "timezone": "Asia/Tokyo"}, HTTP_X_CSRFTOKEN=token
    )
    assert changed.status_code == 400
    assert changed.json() == {
        "success": False, "error": "The options changed since the preview (timezone); preview the file again.",
    }
    assert DataImport.objects.count() == 0

    same = client.post(
        "/api/import/csv", {"upload_token": preview["upload_token"], "timezone": "UTC"}, HTTP_X_CSRFTOKEN=token
    )
    assert (same.status_code, same.json()["status"]) == (200, "completed")
    assert TimeEntry.objects.order_by("start").first().start == utc(2024, 1, 1, 9)


def test_someone_elses_or_forged_upload_token_is_refused(alice, bob):
    alice_http, alice_token = csrf_client(alice)
    preview = post_csv(alice_http, alice_token, TEMPLATE_BYTES, preview="1").json()
    bob_http, bob_token = csrf_client(bob)
    for upload_token in (preview["upload_token"], preview["upload_token"][:-2] + "xx"):
        response = bob_http.post("/api/import/csv", {"upload_token": upload_token}, HTTP_X_CSRFTOKEN=bob_token)
        assert response.status_code == 400
        assert response.json() == {"success": False, "error": "Invalid upload token; upload the file again."}
    assert DataImport.objects.count() == 0 and TimeEntry.objects.count() == 0


def test_direct_upload_in_the_users_timezone_choice(alice):
    client, token = csrf_client(alice)
    response = post_csv(client, token, TEMPLATE_BYTES, timezone="America/New_York")
    assert response.status_code == 200
    assert response.json()["summary"]["created"] == 2
    assert sorted(TimeEntry.objects.values_list("start", flat=True)) == [utc(2024, 1, 1, 14), utc(2024, 1, 1, 19)]
    assert DataImport.objects.get().options["timezone"] == "America/New_York"


def test_invalid_row_writes_nothing_unless_skip_invalid(alice):
    client, token = csrf_client(alice)
    response = post_csv(client, token, INVALID_ROW_CSV, skip_invalid="0")
    body = response.json()
    assert body["status"] == "failed"
    assert body["summary"]["errors"] == [
        'line 3, column "start_time", value "2024-13-04 09:00:00": not a valid date in year-month-day order'
    ]
    assert TimeEntry.objects.count() == 0

    response = post_csv(client, token, INVALID_ROW_CSV, skip_invalid="1")
    body = response.json()
    assert body["status"] == "completed_with_errors"
    assert (body["summary"]["created"], body["summary"]["failed"]) == (1, 1)
    assert list(TimeEntry.objects.values_list("notes", flat=True)) == ["good row"]


# ---- bad input: clear 400/413, never 500 -------------------------------------------------


@pytest.mark.parametrize(
    "fields, error",
    [
        ({}, "No file provided"),
        ({"file": upload("hours.xlsx", b"PK\x03\x04")}, "File must be a CSV (.csv or .txt)"),
        ({"file": upload("empty.csv", b"")}, "The submitted file is empty."),
        ({"file": upload("t.csv", TEMPLATE_BYTES), "timezone": "Mars/Base"},
         "timezone: Select a valid choice. Mars/Base is not one of the available choices."),
        ({"file": upload("t.csv", TEMPLATE_BYTES), "date_order": "DDMM"},
         "date_order: Select a valid choice. DDMM is not one of the available choices."),
        ({"file": upload("t.csv", TEMPLATE_BYTES), "skip_invalid": "maybe"},
         'skip_invalid: "maybe" is not a yes/no value; use true/false, 1/0, yes/no or on/off.'),
    ],
)
def test_bad_requests_get_400_with_the_reason(alice, fields, error):
    client, token = csrf_client(alice)
    response = client.post("/api/import/csv", fields, HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 400
    assert response.json() == {"success": False, "error": error}
    assert DataImport.objects.count() == 0


@pytest.mark.parametrize(
    "content",
    [
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10\x00\x00\x00\x10\x08\x02\x00\x00\x00",
        b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00" + bytes(range(256)),
        b"just some words\nthat are not a time sheet\n",
    ],
    ids=["png", "zip-as-csv", "no-known-header"],
)
def test_files_that_are_not_time_entry_csv_get_400(alice, content):
    client, token = csrf_client(alice)
    for preview in ("1", "0"):
        response = post_csv(client, token, content, name="hours.csv", preview=preview)
        assert response.status_code == 400, response.content
        body = response.json()
        assert body["success"] is False and body["error"]
    assert DataImport.objects.count() == 0 and TimeEntry.objects.count() == 0


def test_header_without_data_rows_gets_400_for_preview_and_import(alice):
    client, token = csrf_client(alice)
    for preview in ("1", "0"):
        response = post_csv(client, token, b"project_name,start_time,end_time\n", preview=preview)
        assert response.status_code == 400
        assert response.json() == {"success": False, "error": "The file has a header row but no data rows."}
    assert DataImport.objects.count() == 0


def test_oversize_upload_gets_413_from_the_service(alice, settings):
    settings.MAX_UPLOAD_SIZE = 100
    client, token = csrf_client(alice)
    response = post_csv(client, token, TEMPLATE_BYTES)
    assert response.status_code == 413
    body = response.json()
    assert body["success"] is False and "100 bytes" in body["error"]
    assert DataImport.objects.count() == 0


def test_oversize_body_gets_413_before_it_is_parsed(alice, settings):
    settings.MAX_UPLOAD_SIZE = 1024
    client, token = csrf_client(alice)
    response = post_csv(client, token, b"project_name,start_time\n" + b"x,2024-01-01 09:00:00\n" * 4000)
    assert response.status_code == 413
    assert response.json() == {"success": False, "error": "File too large (86.1 KB): the upload limit is 1 KB."}


# ---- status and history ------------------------------------------------------------------


def test_status_of_own_import_and_404_for_someone_elses(client, alice, bob, charlie):
    data_import = DataImport.objects.create(
        owner=alice, import_type="csv", source_file_name="a.csv", status="processing",
        total_records=200, processed_records=50,
        row_errors=[{"line": 7, "column": "start_time", "value": "x", "message": "Not a date"}],
    )
    client.force_login(alice)
    body = client.get(f"/api/import/status/{data_import.pk}").json()
    assert body["id"] == data_import.pk
    assert (body["user_id"], body["user"], body["import_type"]) == (alice.pk, "alice", "csv")
    assert body["source_file"] == "a.csv"
    assert (body["status"], body["progress_percent"], body["is_finished"]) == ("processing", 25, False)
    assert (body["total_records"], body["processed_records"]) == (200, 50)
    assert body["error_log"] == [{"line": 7, "column": "start_time", "value": "x", "message": "Not a date"}]
    assert body["completed_at"] is None

    client.force_login(bob)
    response = client.get(f"/api/import/status/{data_import.pk}")
    assert response.status_code == 404
    assert response.json() == {"success": False, "error": "Import not found"}
    assert client.get("/api/import/status/999999").status_code == 404

    client.force_login(charlie)
    assert client.get(f"/api/import/status/{data_import.pk}").json()["user"] == "alice"

    client.logout()
    response = client.get(f"/api/import/status/{data_import.pk}")
    assert response.status_code == 401
    assert response.json() == {"error": "Authentication required"}


def test_history_is_newest_50_of_own_imports_and_admin_sees_all(client, alice, bob, charlie):
    for n in range(52):
        DataImport.objects.create(owner=alice, import_type="csv", source_file_name=f"a{n}.csv")
    DataImport.objects.create(owner=bob, import_type="csv", source_file_name="b.csv")

    client.force_login(alice)
    imports = client.get("/api/import/history").json()["imports"]
    assert len(imports) == 50
    assert [i["source_file"] for i in imports[:2]] == ["a51.csv", "a50.csv"]
    assert {i["user"] for i in imports} == {"alice"}

    client.force_login(charlie)
    imports = client.get("/api/import/history").json()["imports"]
    assert imports[0]["source_file"] == "b.csv" and imports[0]["user"] == "bob"


def test_wrong_methods(alice_client):
    assert alice_client.get("/api/import/csv").status_code == 405
    assert alice_client.post("/api/import/history").status_code == 405


def test_unauthenticated_upload_gets_401_json(client):
    response = client.post("/api/import/csv", {"file": upload("t.csv", TEMPLATE_BYTES)})
    assert response.status_code == 401
    assert response.json() == {"error": "Authentication required"}



def test_preview_shows_dates_as_written_while_the_date_order_is_undecided(alice):
    client, token = csrf_client(alice)
    content = b"project_name,start_time,end_time\nWeb,03/04/2024 09:00,03/04/2024 10:00\n"
    body = post_csv(client, token, content, preview="1").json()
    assert body["preview"] == {
        "format_name": "template",
        "delimiter": ",",
        "encoding": "utf-8-sig",
        "date_order": None,
        "date_order_detected": False,
        "needs_date_order": True,
        "timezone": "Europe/Berlin",
        "columns": ["project_name", "start_time", "end_time"],
        "ignored_columns": [],
        # Not 2024-04-03 (day first) or 2024-03-04 (month first): the file's own text.
        "sample_rows": [
            {"line": 2, "action": "create", "project_name": "Web", "client_name": "Web", "task_name": "", "start_time": "03/04/2024 09:00",
             "end_time": "03/04/2024 10:00", "duration_seconds": 3600, "notes": "", "tags": [], "billable": False},
        ],
        "total_rows": 1,
        "errors": [],
        "warnings": ["The dates fit both day/month and month/day order; choose the date order before importing."],
        "would_create": 1,
        "would_update": 0,
        "unchanged": 0,
        "currency": "",
        "format_label": "TimeTracker template",
        "will_import": False,
        "not_imported_reason": "the dates fit both day/month and month/day order. "
                               "Choose the date order (DMY, MDY or YMD) and import again.",
    }


def test_date_order_the_file_cannot_tell_is_asked_for_then_used(alice):
    client, token = csrf_client(alice)
    content = b"project_name,start_time,end_time\nWeb,03/04/2024 09:00,03/04/2024 10:00\n"
    first = post_csv(client, token, content, preview="1").json()
    assert (first["preview"]["needs_date_order"], first["preview"]["date_order"]) == (True, None)

    # Previewing again with a date order reuses the stored upload (the page does not resend the file).
    preview = client.post(
        "/api/import/csv", {"upload_token": first["upload_token"], "date_order": "MDY", "preview": "1"},
        HTTP_X_CSRFTOKEN=token,
    ).json()
    assert (preview["preview"]["needs_date_order"], preview["preview"]["date_order"]) == (False, "MDY")
    response = client.post(
        "/api/import/csv", {"upload_token": preview["upload_token"], "date_order": "MDY"}, HTTP_X_CSRFTOKEN=token
    )
    assert response.json()["status"] == "completed"
    entry = TimeEntry.objects.get()
    assert (entry.start, entry.end) == (utc(2024, 3, 4, 8), utc(2024, 3, 4, 9))
