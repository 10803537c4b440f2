"""Entry points: the two pages, the DRF v1 endpoints with token scopes, the OpenAPI schema."""

from datetime import UTC, datetime

from imports.models import DataImport
from timetracker.models import TimeEntry

from .fake_harvest import HARVEST_TOKEN, harvest_entry
from .fake_toggl import TOGGL_TOKEN

pytest_plugins = ["imports.tests.pull_fixtures"]

TOGGL_BODY = {"token": TOGGL_TOKEN, "workspace_id": "2000002", "start": "2024-01-01", "end": "2024-01-31"}
HARVEST_BODY = {"token": HARVEST_TOKEN, "account_id": "424242", "start": "2024-01-01", "end": "2024-01-31",
                "timezone": "UTC"}


def test_pages_need_login(client):
    for url in ("/import-export/toggl/", "/import-export/harvest/"):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_toggl_page_shows_the_forms_and_only_my_history(alice_client, alice, bob):
    DataImport.objects.create(owner=bob, import_type="toggl", status="completed", status_message="bob's pull")
    DataImport.objects.create(owner=alice, import_type="toggl", status="processing", processed_records=3,
                              total_records=6, status_message="Pulling from Toggl: 3 entries read")
    DataImport.objects.create(owner=alice, import_type="harvest", status="completed", status_message="harvest one")
    page = alice_client.get("/import-export/toggl/").content.decode()
    assert "<h1>Import from Toggl</h1>" in page
    assert 'name="workspace_id"' in page and 'name="export"' in page and 'type="date" name="start"' in page
    assert "Pulling from Toggl: 3 entries read" in page and '<progress max="100" value="50">' in page
    assert "bob&#x27;s pull" not in page and "harvest one" not in page
    assert '<meta http-equiv="refresh" content="3">' in page  # live progress while a pull runs
    assert "map_users_by_email" not in page  # admin-only option


def test_harvest_page_defaults_the_timezone_to_mine(alice_client):
    page = alice_client.get("/import-export/harvest/").content.decode()
    assert "<h1>Import from Harvest</h1>" in page
    assert 'name="timezone" value="Europe/Berlin"' in page and 'name="account_id"' in page


def test_admin_sees_the_mapping_option(charlie_client):
    assert 'name="map_users_by_email"' in charlie_client.get("/import-export/harvest/").content.decode()


def test_page_form_starts_the_pull(alice_client, alice, fake_toggl, django_capture_on_commit_callbacks):
    fake_toggl.add_entry(entry_id=77, start="2024-01-05T10:00:00+00:00", stop="2024-01-05T10:30:00+00:00")
    with django_capture_on_commit_callbacks(execute=True):
        response = alice_client.post("/import-export/toggl/", TOGGL_BODY)
    assert response.status_code == 302 and response["Location"] == "/import-export/toggl/"
    data_import = DataImport.objects.get()
    assert (data_import.owner, data_import.status, data_import.created_records) == (alice, "completed", 1)
    assert data_import.options == {"start": "2024-01-01", "end": "2024-01-31", "map_users_by_email": False,
                                   "workspace_id": "2000002"}
    page = alice_client.get("/import-export/toggl/").content.decode()
    assert f"Import #{data_import.pk} from Toggl started." in page
    assert "Imported from Toggl: 1 created, 0 updated, 0 unchanged, 0 deleted, 0 skipped" in page


def test_api_v1_toggl_with_write_scope(client, alice, api_token, fake_toggl, django_capture_on_commit_callbacks):
    fake_toggl.add_entry(entry_id=78, start="2024-01-06T10:00:00+00:00", stop="2024-01-06T11:00:00+00:00")
    token = api_token(alice, "write:time_entries")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/api/v1/import/toggl", TOGGL_BODY, content_type="application/json",
                               HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 202
    data_import = DataImport.objects.get()
    assert response.json()["status_url"] == f"/api/v1/imports/{data_import.pk}"
    assert (response.json()["success"], response.json()["import_id"]) == (True, data_import.pk)
    entry = TimeEntry.objects.get(owner=alice)
    assert (entry.source_id, entry.start, entry.duration_seconds) == (
        "78", datetime(2024, 1, 6, 10, tzinfo=UTC), 3600)


def test_api_v1_harvest_with_write_scope(client, alice, api_token, fake_harvest, django_capture_on_commit_callbacks):
    fake_harvest.entries = [harvest_entry(5, "2024-01-09", hours=0.25)]
    token = api_token(alice, "write:*")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/api/v1/import/harvest", HARVEST_BODY, content_type="application/json",
                               HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 202
    assert DataImport.objects.get().status == "completed"
    assert TimeEntry.objects.get(owner=alice).duration_seconds == 900


def test_api_v1_needs_the_write_scope_and_a_token(client, alice, api_token, fake_toggl):
    token = api_token(alice, "read:time_entries")
    response = client.post("/api/v1/import/toggl", TOGGL_BODY, content_type="application/json",
                           HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 403
    assert response.json()["required_scope"] == "write:time_entries"
    assert response.json()["available_scopes"] == ["read:time_entries"]
    assert client.post("/api/v1/import/harvest", HARVEST_BODY, content_type="application/json").status_code == 401
    assert DataImport.objects.count() == 0 and fake_toggl.requests == []


def test_api_v1_rejects_bad_input_with_the_field(client, alice, api_token):
    token = api_token(alice, "write:time_entries")
    response = client.post("/api/v1/import/harvest", {**HARVEST_BODY, "timezone": "Mars/Olympus"},
                           content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 400
    assert response.json() == {"success": False, "error": 'timezone: "Mars/Olympus" is not a known timezone.',
                               "field": "timezone"}


def test_openapi_schema_documents_the_pull_endpoints(alice_client):
    schema = alice_client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    toggl_op = schema["paths"]["/api/v1/import/toggl"]["post"]
    assert toggl_op["operationId"] == "import_toggl"
    assert set(toggl_op["responses"]) == {"200", "202", "400"}
    assert "/api/v1/import/harvest" in schema["paths"]
    assert "workspace_id" in schema["components"]["schemas"]["TogglPullInput"]["properties"]


LEAKY_TOKENS = ["LEAKME-harvest\n-token-456", "tökén€", "LEAKME\r-toggl"]


def test_tokens_that_cannot_be_sent_are_refused_at_every_entry_point(client, alice_client, alice, api_token, caplog):
    from django.core.management import call_command
    from django.core.management.base import CommandError
    import pytest

    bearer = api_token(alice, "write:time_entries")
    message = "The token contains characters that cannot be sent (line breaks or non-ASCII); paste it again."
    for bad in LEAKY_TOKENS:
        for url, body in (("/api/import/harvest", HARVEST_BODY), ("/api/import/toggl", TOGGL_BODY)):
            response = alice_client.post(url, {**body, "token": bad}, content_type="application/json")
            assert (response.status_code, response.json()["error"]) == (400, message)
        response = client.post("/api/v1/import/harvest", {**HARVEST_BODY, "token": bad},
                               content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {bearer}")
        assert (response.status_code, response.json()["error"]) == (400, message)
        with pytest.raises(CommandError, match="cannot be sent"):
            call_command("import_harvest", user="alice", account_id="424242", token=bad, start="2024-01-01",
                         end="2024-01-31")
    response = alice_client.post("/api/import/harvest", {**HARVEST_BODY, "account_id": "４２４２"},
                                 content_type="application/json")
    assert response.status_code == 400
    assert DataImport.objects.count() == 0
    assert not any(bad in record.getMessage() for record in caplog.records for bad in LEAKY_TOKENS)


def test_overlong_account_and_workspace_ids_are_refused_at_every_entry_point(client, alice_client, alice, api_token):
    import re

    import pytest
    from django.core.management import call_command
    from django.core.management.base import CommandError

    bearer = api_token(alice, "write:time_entries")
    for digits in (21, 100, 300):
        for field, kind, source, option, body in (
            ("workspace_id", "Toggl workspace id", "toggl", "--workspace", TOGGL_BODY),
            ("account_id", "Harvest account id", "harvest", "--account-id", HARVEST_BODY),
        ):
            error = f"{field}: {digits} digits is too long for a {kind} (at most 20)."
            payload = {**body, field: "9" * digits}
            session = alice_client.post(f"/api/import/{source}", payload, content_type="application/json")
            v1 = client.post(f"/api/v1/import/{source}", payload, content_type="application/json",
                             HTTP_AUTHORIZATION=f"Bearer {bearer}")
            for response in (session, v1):
                assert (response.status_code, response.json()) == (
                    400, {"success": False, "error": error, "field": field})
            page = alice_client.post(f"/import-export/{source}/", payload)
            assert page.status_code == 400 and error in page.content.decode()
            with pytest.raises(CommandError, match=f"^{re.escape(error)}$"):
                call_command(f"import_{source}", "--user", "alice", "--token", "t", option, "9" * digits,
                             "--start", "2024-01-01", "--end", "2024-01-31")
    assert DataImport.objects.count() == 0
    twenty = alice_client.post("/api/import/toggl", {**TOGGL_BODY, "workspace_id": "9" * 20},
                               content_type="application/json")
    assert twenty.status_code == 202
    assert DataImport.objects.get().source_file_name == "Toggl Workspace " + "9" * 20


def test_the_page_and_the_status_apis_report_failed_entries_and_deletions(
    alice_client, alice, api_token, fake_toggl, django_capture_on_commit_callbacks
):
    fake_toggl.add_entry(entry_id=81, start="2024-01-05T10:00:00+00:00", stop="2024-01-05T10:30:00+00:00")
    fake_toggl.add_entry(entry_id=82, start="2024-01-06T10:00:00+00:00", stop="2024-01-06T10:30:00+00:00")
    with django_capture_on_commit_callbacks(execute=True):
        alice_client.post("/import-export/toggl/", TOGGL_BODY)
    fake_toggl.rows.pop(0)  # 81 deleted at Toggl
    fake_toggl.add_entry(entry_id=83, start="2024-01-07T10:00:00Z", stop="9999-12-31T23:59:59Z")
    with django_capture_on_commit_callbacks(execute=True):
        alice_client.post("/import-export/toggl/", TOGGL_BODY)
    rerun = DataImport.objects.order_by("-pk").first()
    assert rerun.status_message == (
        "Imported from Toggl: 0 created, 0 updated, 1 unchanged, 1 deleted, 0 skipped, 1 not imported (see the report)")

    page = alice_client.get("/import-export/toggl/").content.decode()
    row = page[page.index(f'<tr id="import-{rerun.pk}">'):]
    row = row[:row.index("</tr>")]
    assert "<th>Failed</th>" in page
    assert "<td>1</td><td>0</td>\n        <td class=\"error\">1</td>" in row  # deleted, skipped, failed
    assert "<summary>1 not imported</summary>" in row
    assert ("<li>entry 83: Toggl entry 83: stop &quot;9999-12-31T23:59:59Z&quot; is more than 1000 hours after its "
            "start; not imported</li>") in row

    session = alice_client.get(f"/api/import/status/{rerun.pk}").json()
    v1 = alice_client.get(f"/api/v1/imports/{rerun.pk}",
                          HTTP_AUTHORIZATION=f"Bearer {api_token(alice, 'read:time_entries')}").json()
    for body in (session, v1):
        assert (body["deleted_records"], body["failed_records"], body["status"]) == (1, 1, "completed_with_errors")
        assert [e["message"] for e in body["error_log"]] == [
            'Toggl entry 83: stop "9999-12-31T23:59:59Z" is more than 1000 hours after its start; not imported']


def test_a_workspace_or_account_another_user_is_pulling_is_refused_at_every_entry_point(
    client, alice, bob, charlie, bob_client, api_token, fake_toggl, fake_harvest
):
    from io import StringIO

    import pytest
    from django.core.management import CommandError, call_command
    from django.test import Client as BrowserClient

    toggl = DataImport.objects.create(owner=alice, import_type="toggl", status="processing",
                                      source_file_name="Toggl Workspace 2000002")
    DataImport.objects.create(owner=alice, import_type="harvest", status="pending",
                              source_file_name="Harvest Account 424242")
    admin_message = f"Import #{toggl.pk} by alice from Toggl Workspace 2000002 is still running; wait until it finishes."

    charlie_client = BrowserClient()
    charlie_client.force_login(charlie)
    admin = charlie_client.post("/api/import/toggl", TOGGL_BODY, content_type="application/json")
    assert (admin.status_code, admin.json()["error"]) == (400, admin_message)
    with pytest.raises(CommandError, match=rf"^{admin_message.replace('.', '[.]')}$"):
        call_command("import_toggl", "--user", "charlie", "--token", TOGGL_TOKEN, "--workspace", "2000002",
                     "--start", "2024-01-01", "--end", "2024-01-31", stdout=StringIO(), stderr=StringIO())

    # Anyone else learns that the account is being pulled, not by whom.
    api = client.post("/api/v1/import/harvest", HARVEST_BODY, content_type="application/json",
                      HTTP_AUTHORIZATION=f"Bearer {api_token(bob, 'write:time_entries')}")
    assert (api.status_code, api.json()) == (400, {
        "success": False, "error": "Another user's import from Harvest Account 424242 is still running; "
                                   "wait until it finishes.", "field": "body"})
    page = bob_client.post("/import-export/toggl/", TOGGL_BODY)
    assert page.status_code == 400
    text = page.content.decode()
    assert "Another user&#x27;s import from Toggl Workspace 2000002 is still running; wait until it finishes." in text
    assert "alice" not in text
    with pytest.raises(CommandError, match=r"^Another user's import from Harvest Account 424242 is still running"):
        call_command("import_harvest", "--user", "bob", "--account-id", "424242", "--token", HARVEST_TOKEN,
                     "--start", "2024-01-01", "--end", "2024-01-31", "--timezone", "UTC",
                     stdout=StringIO(), stderr=StringIO())

    assert DataImport.objects.count() == 2
    assert (fake_toggl.requests, fake_harvest.requests) == ([], [])
