"""Toggl pulls through the session endpoint, against the fake Toggl on 127.0.0.1."""

import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from imports.models import DataImport
from timetracker.models import Client, Project, Tag, Task, TimeEntry

from .fake_toggl import TOGGL_TOKEN, Canned

pytest_plugins = ["imports.tests.pull_fixtures"]

WS = 2000002
BIG_ID = 5_000_000_001  # above 2^31


def toggl_workspace(fake):
    fake.clients = [
        {"id": 64890399, "wid": WS, "archived": False, "name": "Acme Corp"},
        {"id": 64890400, "wid": WS, "archived": True, "name": "Old Client"},
    ]
    fake.projects = [
        {"id": 148460132, "workspace_id": WS, "client_id": None, "name": "Tutoring", "active": False,
         "status": "archived", "billable": False, "rate": None},
        {"id": 200880671, "workspace_id": WS, "client_id": 64890399, "name": "Website", "active": True,
         "status": "active", "billable": True, "rate": 95.5},
    ]
    fake.tasks = [{"id": 9001, "name": "Design", "project_id": 200880671, "active": True}]
    fake.tags = [{"id": 16939168, "workspace_id": WS, "name": "admin"}, {"id": 3570301, "workspace_id": WS,
                                                                       "name": "mobile"}]
    entries = [
        (BIG_ID, "2023-01-10T08:00:00+00:00", "2023-01-10T09:30:00+00:00", 200880671, 9001, [16939168, 3570301]),
        (1001, "2023-03-01T10:00:00+00:00", "2023-03-01T10:00:00+00:00", None, None, None),
        (1002, "2023-07-15T22:30:00+00:00", "2023-07-16T01:00:00+00:00", 148460132, None, []),
        (1003, "2023-12-31T12:00:00Z", "2023-12-31T12:45:00Z", 200880671, None, [16939168]),
        (1004, "2024-02-29T09:00:00+00:00", "2024-02-29T17:00:00+00:00", 200880671, 9001, None),
        (1005, "2024-05-05T05:05:05+00:00", "2024-05-05T06:06:06+00:00", 200880671, None, []),
        (1006, "2024-06-30T23:00:00+00:00", "2024-07-01T00:15:00+00:00", None, None, []),
    ]
    for entry_id, start, stop, project, task, tags in entries:
        fake.add_entry(entry_id=entry_id, start=start, stop=stop, project_id=project, task_id=task,
                       description=f"entry {entry_id}", billable=project == 200880671, tag_ids=tags)


def start_pull(client, django_capture_on_commit_callbacks, **overrides):
    body = {"token": TOGGL_TOKEN, "workspace_id": str(WS), "start": "2023-01-01", "end": "2024-12-31", **overrides}
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/api/import/toggl", data=json.dumps(body), content_type="application/json")
    return response


def test_pull_pages_through_the_detailed_report_and_imports_everything(
    alice_client, alice, fake_toggl, django_capture_on_commit_callbacks
):
    toggl_workspace(fake_toggl)
    response = start_pull(alice_client, django_capture_on_commit_callbacks)

    assert response.status_code == 202
    data_import = DataImport.objects.get(pk=response.json()["import_id"])
    assert response.json() == {
        "success": True, "import_id": data_import.pk, "import_type": "toggl", "status": "pending",
        "status_url": f"/api/import/status/{data_import.pk}",
        "summary": {"total": 0, "successful": 0, "failed": 0, "created": 0, "updated": 0, "unchanged": 0,
                    "skipped": 0, "errors": []},
    }
    assert data_import.source_file_name == "Toggl Workspace 2000002"
    assert data_import.status == "completed", data_import.status_message
    assert (data_import.created_records, data_import.processed_records, data_import.total_records) == (7, 7, 7)
    assert (data_import.updated_records, data_import.deleted_records, data_import.skipped_records) == (0, 0, 0)

    # Two windows of at most a year, 3 rows a page, continued with the X-Next-* headers.
    reports = [json.loads(r.body) for r in fake_toggl.requests_to(f"/reports/api/v3/workspace/{WS}/search/time_entries")]
    assert [(r["start_date"], r["end_date"], r.get("first_id"), r.get("first_row_number")) for r in reports] == [
        ("2023-01-01", "2023-12-31", None, None),
        ("2023-01-01", "2023-12-31", 1003, 4),
        ("2024-01-01", "2024-12-30", None, None),
        ("2024-12-31", "2024-12-31", None, None),
    ]

    entries = TimeEntry.objects.filter(owner=alice).order_by("start")
    assert entries.count() == 7
    assert set(entries.values_list("source_system", flat=True)) == {"toggl"}
    big = entries.get(source_id=str(BIG_ID))
    assert (big.start, big.end, big.duration_seconds) == (
        datetime(2023, 1, 10, 8, tzinfo=UTC), datetime(2023, 1, 10, 9, 30, tzinfo=UTC), 5400)
    assert (big.project.name, big.project.client.name, big.task.name, big.notes, big.billable) == (
        "Website", "Acme Corp", "Design", f"entry {BIG_ID}", True)
    assert sorted(big.tags.values_list("name", flat=True)) == ["admin", "mobile"]
    zero = entries.get(source_id="1001")
    assert (zero.duration_seconds, zero.end, zero.project.name, zero.tags.count()) == (
        0, datetime(2023, 3, 1, 10, tzinfo=UTC), "No project", 0)
    overnight = entries.get(source_id="1002")
    assert (overnight.duration_seconds, overnight.project.name, overnight.project.archived) == (9000, "Tutoring", True)
    assert entries.get(source_id="1003").start == datetime(2023, 12, 31, 12, tzinfo=UTC)
    assert sum(entries.values_list("duration_seconds", flat=True)) == 5400 + 0 + 9000 + 2700 + 28800 + 3661 + 4500

    website = Project.objects.get(name="Website")
    assert (website.source_system, website.source_id, website.archived, str(website.hourly_rate)) == (
        "toggl", "200880671", False, "95.50")
    assert Client.objects.get(name="Old Client").status == "archived"
    assert Task.objects.get(name="Design").source_id == "9001"
    assert Tag.objects.get(name="admin").source_id == "16939168"


def test_rerun_updates_changed_entries_removes_deleted_ones_and_creates_nothing_twice(
    alice_client, alice, bob, fake_toggl, django_capture_on_commit_callbacks
):
    toggl_workspace(fake_toggl)
    start_pull(alice_client, django_capture_on_commit_callbacks)
    # Bob's own copy of a Toggl entry and alice's CSV entry must survive alice's rerun.
    website = Project.objects.get(name="Website")
    TimeEntry.objects.create(owner=bob, project=website, source_system="toggl", source_id="1005",
                             start=datetime(2024, 5, 5, tzinfo=UTC), end=datetime(2024, 5, 5, 1, tzinfo=UTC),
                             duration_seconds=3600)
    TimeEntry.objects.create(owner=alice, project=website, source_system="csv", source_id="fp-1",
                             start=datetime(2024, 5, 6, tzinfo=UTC), end=datetime(2024, 5, 6, 1, tzinfo=UTC),
                             duration_seconds=3600)
    fake_toggl.rows = [r for r in fake_toggl.rows if r["time_entries"][0]["id"] != 1005]
    changed = next(r for r in fake_toggl.rows if r["time_entries"][0]["id"] == 1004)
    changed["description"] = "renamed at Toggl"
    changed["time_entries"][0]["stop"] = "2024-02-29T12:00:00+00:00"

    response = start_pull(alice_client, django_capture_on_commit_callbacks)

    rerun = DataImport.objects.get(pk=response.json()["import_id"])
    assert rerun.status == "completed"
    assert (rerun.created_records, rerun.updated_records, rerun.unchanged_records, rerun.deleted_records) == (
        0, 1, 5, 1)
    assert rerun.summary["removed_since_last_pull"] == 1
    assert TimeEntry.objects.filter(owner=alice, source_system="toggl").count() == 6
    assert not TimeEntry.objects.filter(owner=alice, source_id="1005").exists()
    updated = TimeEntry.objects.get(owner=alice, source_id="1004")
    assert (updated.notes, updated.duration_seconds) == ("renamed at Toggl", 3 * 3600)
    assert TimeEntry.objects.filter(owner=bob, source_id="1005").count() == 1
    assert TimeEntry.objects.filter(owner=alice, source_system="csv").count() == 1


def test_rerun_over_a_narrower_range_keeps_entries_outside_it(
    alice_client, alice, fake_toggl, django_capture_on_commit_callbacks
):
    toggl_workspace(fake_toggl)
    start_pull(alice_client, django_capture_on_commit_callbacks)
    response = start_pull(alice_client, django_capture_on_commit_callbacks, start="2024-01-01", end="2024-12-31")
    rerun = DataImport.objects.get(pk=response.json()["import_id"])
    assert (rerun.processed_records, rerun.unchanged_records, rerun.deleted_records) == (3, 3, 0)
    assert TimeEntry.objects.filter(owner=alice).count() == 7


def test_bad_token_fails_at_once_with_a_clear_message(alice_client, alice, fake_toggl, sleeps,
                                                      django_capture_on_commit_callbacks):
    toggl_workspace(fake_toggl)
    response = start_pull(alice_client, django_capture_on_commit_callbacks, token="wrong-token")
    data_import = DataImport.objects.get(pk=response.json()["import_id"])
    assert (data_import.status, data_import.status_message) == ("failed", "Toggl rejected the API token")
    assert len(fake_toggl.requests) == 1 and sleeps == []
    assert TimeEntry.objects.count() == 0


@pytest.mark.parametrize(
    "field_values, field_name, message",
    [
        ({"workspace_id": "abc"}, "workspace_id", 'workspace_id: "abc" is not a Toggl workspace id.'),
        ({"start": "2024-13-01"}, "start", 'start: "2024-13-01" is not a date (YYYY-MM-DD).'),
        ({"start": "2024-02-01", "end": "2024-01-01"}, "end", "end: 2024-01-01 is before start 2024-02-01."),
        ({"start": "2024-04-01", "end": "9999-12-31"}, "end", "end: 9999-12-31 is outside the years 1900–2200."),
        ({"start": "0001-01-01", "end": "2024-01-01"}, "start", "start: 0001-01-01 is outside the years 1900–2200."),
        ({"start": "1990-01-01", "end": "2024-01-01"}, "end",
         "end: the range 1990-01-01 to 2024-01-01 is longer than 20 years; pull it in parts."),
        ({"token": ""}, "token", "Missing required fields: token"),
        ({"token": "", "workspace_id": "", "end": ""}, "token", "Missing required fields: token, workspace_id, end"),
        ({"map_users_by_email": True}, "map_users_by_email",
         "Only administrators can map entries to other users by e-mail."),
    ],
)
def test_invalid_input_is_refused_before_anything_is_queued(
    alice_client, fake_toggl, django_capture_on_commit_callbacks, field_values, field_name, message
):
    response = start_pull(alice_client, django_capture_on_commit_callbacks, **field_values)
    assert response.status_code == 400
    assert response.json() == {"success": False, "error": message, "field": field_name}
    assert DataImport.objects.count() == 0 and fake_toggl.requests == []


def test_session_endpoint_needs_login_and_csrf(client, alice, fake_toggl):
    body = json.dumps({"token": TOGGL_TOKEN, "workspace_id": str(WS), "start": "2024-01-01", "end": "2024-01-31"})
    assert client.post("/api/import/toggl", data=body, content_type="application/json").status_code == 401
    from django.test import Client as DjangoClient

    csrf_client = DjangoClient(enforce_csrf_checks=True)
    csrf_client.force_login(alice)
    response = csrf_client.post("/api/import/toggl", data=body, content_type="application/json")
    assert response.status_code == 403
    assert DataImport.objects.count() == 0


def test_admin_maps_toggl_users_by_email(charlie_client, charlie, alice, fake_toggl,
                                         django_capture_on_commit_callbacks):
    fake_toggl.users = [{"id": 1000001, "email": "ALICE@example.com", "fullname": "Alice"},
                        {"id": 1000002, "email": "ghost@elsewhere.test", "fullname": "Ghost"}]
    fake_toggl.add_entry(entry_id=1, start="2024-01-02T08:00:00+00:00", stop="2024-01-02T09:00:00+00:00",
                         user_id=1000001)
    fake_toggl.add_entry(entry_id=2, start="2024-01-03T08:00:00+00:00", stop="2024-01-03T09:00:00+00:00",
                         user_id=1000002)
    response = start_pull(charlie_client, django_capture_on_commit_callbacks, map_users_by_email="true",
                          start="2024-01-01", end="2024-01-31")
    data_import = DataImport.objects.get(pk=response.json()["import_id"])
    assert data_import.owner == charlie and data_import.status == "completed"
    assert dict(TimeEntry.objects.values_list("source_id", "owner__username")) == {"1": "alice", "2": "charlie"}
    assert data_import.summary["unmatched_users"] == [
        {"source_user_id": "1000002", "name": "Ghost", "email": "ghost@elsewhere.test"}]


def test_a_mapped_rerun_moves_an_entry_reassigned_at_the_source_instead_of_copying_it(
    charlie_client, charlie, bob, fake_toggl, django_capture_on_commit_callbacks
):
    from conftest import make_user

    make_user("carol")
    fake_toggl.users = [{"id": 2001, "email": "bob@example.com", "fullname": "Bob"},
                        {"id": 2002, "email": "carol@example.com", "fullname": "Carol"}]
    fake_toggl.add_entry(entry_id=810001, start="2024-01-02T08:00:00+00:00", stop="2024-01-02T09:30:00+00:00",
                         user_id=2001)
    kwargs = {"start": "2024-01-01", "end": "2024-01-31"}
    # Without mapping first: the admin's own copy moves to bob once the pull maps users.
    start_pull(charlie_client, django_capture_on_commit_callbacks, **kwargs)
    assert list(TimeEntry.objects.values_list("owner__username", flat=True)) == ["charlie"]
    first = start_pull(charlie_client, django_capture_on_commit_callbacks, map_users_by_email="true", **kwargs)
    assert DataImport.objects.get(pk=first.json()["import_id"]).status_message == (
        "Imported from Toggl: 0 created, 1 updated, 0 unchanged, 0 deleted, 0 skipped")
    assert list(TimeEntry.objects.values_list("owner__username", flat=True)) == ["bob"]

    fake_toggl.rows[0]["user_id"] = 2002
    rerun = start_pull(charlie_client, django_capture_on_commit_callbacks, map_users_by_email="true", **kwargs)
    assert DataImport.objects.get(pk=rerun.json()["import_id"]).status_message == (
        "Imported from Toggl: 0 created, 1 updated, 0 unchanged, 0 deleted, 0 skipped")
    assert list(TimeEntry.objects.values_list("owner__username", "source_id", "duration_seconds")) == [
        ("carol", "810001", 5400)]


def test_a_token_without_admin_rights_to_list_users_fails_mapping_truthfully(
    charlie_client, fake_toggl, sleeps, django_capture_on_commit_callbacks
):
    fake_toggl.add_entry(entry_id=1, start="2024-01-02T08:00:00+00:00", stop="2024-01-02T09:00:00+00:00")
    # Real Toggl lists a workspace's users to its admins only.
    fake_toggl.script(f"/api/v9/workspaces/{WS}/users",
                      [Canned(status=403, headers={"Content-Type": "text/plain"}, body="Forbidden")])
    response = start_pull(charlie_client, django_capture_on_commit_callbacks, map_users_by_email="true",
                          start="2024-01-01", end="2024-01-31")
    data_import = DataImport.objects.get(pk=response.json()["import_id"])
    assert (data_import.status, data_import.status_message) == (
        "failed", ("Toggl refused to list the workspace's users (the token needs workspace admin rights to map "
                   "users by e-mail); pull again without mapping users by e-mail."))
    assert fake_toggl.requests[0].path == "/api/v9/me"
    assert TimeEntry.objects.count() == 0 and sleeps == []


def test_an_entry_ending_before_it_starts_is_reported_not_imported(
    alice_client, alice, fake_toggl, django_capture_on_commit_callbacks
):
    fake_toggl.add_entry(entry_id=11, start="2024-01-02T08:00:00+00:00", stop="2024-01-02T09:00:00+00:00")
    fake_toggl.add_entry(entry_id=12, start="2024-01-03T08:00:00+00:00", stop="2024-01-03T07:00:00+00:00")
    fake_toggl.rows[-1]["time_entries"][0]["seconds"] = 3600  # broken data, but not a running timer
    response = start_pull(alice_client, django_capture_on_commit_callbacks, start="2024-01-01", end="2024-01-31")
    data_import = DataImport.objects.get(pk=response.json()["import_id"])
    assert data_import.status == "completed_with_errors"
    assert (data_import.processed_records, data_import.successful_records, data_import.failed_records) == (2, 1, 1)
    assert data_import.row_errors == [{
        "line": None, "source_id": "12", "column": "end", "value": "2024-01-03T07:00:00+00:00",
        "message": "toggl entry 12 ends before it starts; not imported"}]
    assert list(TimeEntry.objects.values_list("source_id", flat=True)) == ["11"]


def test_the_original_request_fields_are_accepted(alice_client, alice, fake_toggl, django_capture_on_commit_callbacks):
    fake_toggl.add_entry(entry_id=5, start="2024-01-02T08:00:00+00:00", stop="2024-01-02T09:00:00+00:00")
    body = {"api_token": TOGGL_TOKEN, "workspace_id": 2000002, "start_date": "2024-01-01", "end_date": "2024-01-31"}
    with django_capture_on_commit_callbacks(execute=True):
        response = alice_client.post("/api/import/toggl", data=json.dumps(body), content_type="application/json")
    assert response.status_code == 202
    assert DataImport.objects.get().created_records == 1
    empty = alice_client.post("/api/import/toggl", data="{}", content_type="application/json")
    assert (empty.status_code, empty.json()) == (400, {"success": False, "error": "No data provided", "field": "body"})


def test_the_same_entry_twice_in_a_page_is_stored_once(alice_client, alice, fake_toggl,
                                                       django_capture_on_commit_callbacks):
    fake_toggl.add_entry(entry_id=21, start="2024-01-02T08:00:00+00:00", stop="2024-01-02T09:00:00+00:00",
                         description="first copy", tag_ids=[1])
    fake_toggl.add_entry(entry_id=21, start="2024-01-02T08:00:00+00:00", stop="2024-01-02T09:30:00+00:00",
                         description="second copy", tag_ids=[2])
    fake_toggl.tags = [{"id": 1, "name": "one"}, {"id": 2, "name": "two"}]
    response = start_pull(alice_client, django_capture_on_commit_callbacks, start="2024-01-01", end="2024-01-31")
    data_import = DataImport.objects.get(pk=response.json()["import_id"])
    assert (data_import.processed_records, data_import.created_records) == (2, 1)
    entry = TimeEntry.objects.get(owner=alice)
    assert (entry.notes, entry.duration_seconds, list(entry.tags.values_list("name", flat=True))) == (
        "second copy", 5400, ["two"])


def test_a_second_pull_of_the_same_workspace_waits_for_the_first(alice_client, alice, bob, fake_toggl):
    running = DataImport.objects.create(owner=alice, import_type="toggl", status="waiting",
                                        source_file_name="Toggl Workspace 2000002")
    body = {"token": TOGGL_TOKEN, "workspace_id": "2000002", "start": "2024-01-01", "end": "2024-01-31"}
    response = alice_client.post("/api/import/toggl", data=json.dumps(body), content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"] == (
        f"Import #{running.pk} from Toggl Workspace 2000002 is still running; wait until it finishes.")
    assert DataImport.objects.count() == 1
    # Another workspace is not held up.
    other = alice_client.post("/api/import/toggl", data=json.dumps({**body, "workspace_id": "7"}),
                              content_type="application/json")
    assert other.status_code == 202


def test_a_second_workspace_deletes_nothing_of_the_first_and_a_rerun_still_sweeps(
    alice_client, alice, fake_toggl, django_capture_on_commit_callbacks
):
    toggl_workspace(fake_toggl)
    first = DataImport.objects.get(pk=start_pull(alice_client, django_capture_on_commit_callbacks).json()["import_id"])
    assert first.created_records == 7
    # Imported before entries recorded their workspace: no other workspace may sweep it.
    TimeEntry.objects.create(owner=alice, project=Project.objects.get(name="Website"), source_system="toggl", source_id="4711", start=datetime(2024, 3, 1, tzinfo=UTC),
                             end=datetime(2024, 3, 1, 1, tzinfo=UTC), duration_seconds=3600)
    rows = fake_toggl.rows
    fake_toggl.workspace_id, fake_toggl.rows = 3000003, []
    fake_toggl.add_entry(entry_id=7001, start="2024-04-01T08:00:00+00:00", stop="2024-04-01T09:00:00+00:00")
    other = start_pull(alice_client, django_capture_on_commit_callbacks, workspace_id="3000003")
    other = DataImport.objects.get(pk=other.json()["import_id"])
    assert (other.status, other.created_records, other.deleted_records) == ("completed", 1, 0)
    assert TimeEntry.objects.filter(owner=alice, source_system="toggl").count() == 9

    fake_toggl.workspace_id, fake_toggl.rows = WS, [r for r in rows if r["time_entries"][0]["id"] != 1005]
    rerun = DataImport.objects.get(pk=start_pull(alice_client, django_capture_on_commit_callbacks).json()["import_id"])
    assert (rerun.status, rerun.unchanged_records, rerun.deleted_records) == ("completed", 6, 1)
    assert not TimeEntry.objects.filter(source_id="1005").exists()
    assert TimeEntry.objects.filter(source_id__in=["7001", "4711"]).count() == 2


def test_an_entry_with_an_unreadable_start_is_reported_and_keeps_its_earlier_copy(
    alice_client, alice, fake_toggl, django_capture_on_commit_callbacks
):
    fake_toggl.add_entry(entry_id=11, start="2024-01-02T08:00:00+00:00", stop="2024-01-02T09:00:00+00:00")
    fake_toggl.add_entry(entry_id=12, start="2024-01-03T08:00:00+00:00", stop="2024-01-03T09:00:00+00:00")
    start_pull(alice_client, django_capture_on_commit_callbacks, start="2024-01-01", end="2024-01-31")
    broken = fake_toggl.rows.pop()["time_entries"][0]
    fake_toggl.rows[0]["time_entries"].append({**broken, "start": "not a date"})  # the fake filters rows by the first
    response = start_pull(alice_client, django_capture_on_commit_callbacks, start="2024-01-01", end="2024-01-31")
    data_import = DataImport.objects.get(pk=response.json()["import_id"])
    assert data_import.status == "completed_with_errors", data_import.status_message
    assert (data_import.processed_records, data_import.unchanged_records, data_import.failed_records,
            data_import.deleted_records) == (2, 1, 1, 0)
    assert [e["message"] for e in data_import.row_errors] == [
        'Toggl entry 12: start "not a date" is not a date and time; not imported']
    assert TimeEntry.objects.filter(owner=alice).count() == 2


def test_a_non_admin_pull_changes_no_existing_client_or_project(
    alice_client, alice, fake_toggl, django_capture_on_commit_callbacks
):
    acme = Client.objects.create(name="Acme Corp", status="active")
    Project.objects.create(name="Website", client=acme, billable=False, hourly_rate="80.00")
    fake_toggl.clients = [{"id": 64890399, "wid": WS, "archived": True, "name": "Acme Corp"}]
    fake_toggl.projects = [{"id": 200880671, "workspace_id": WS, "client_id": 64890399, "name": "Website",
                            "active": False, "billable": True, "rate": 999}]
    fake_toggl.add_entry(entry_id=31, start="2024-01-02T08:00:00+00:00", stop="2024-01-02T09:00:00+00:00",
                         project_id=200880671)
    response = start_pull(alice_client, django_capture_on_commit_callbacks, start="2024-01-01", end="2024-01-31")
    assert DataImport.objects.get(pk=response.json()["import_id"]).status == "completed"
    assert list(Client.objects.values_list("name", "status", "source_id")) == [("Acme Corp", "active", "")]
    assert list(Project.objects.values_list("name", "archived", "billable", "hourly_rate", "source_id")) == [
        ("Website", False, False, Decimal("80.00"), "")]
    assert TimeEntry.objects.get(owner=alice).project.name == "Website"  # mapped to the existing project


def test_recent_entries_of_the_users_other_workspaces_are_not_pulled(
    alice_client, alice, fake_toggl, monkeypatch, django_capture_on_commit_callbacks
):
    from imports import toggl

    monkeypatch.setattr(toggl, "clock", lambda: datetime(2024, 1, 20, tzinfo=UTC))
    fake_toggl.since_entries = [
        {"id": 41, "workspace_id": WS, "user_id": 1000001, "start": "2024-01-10T08:00:00Z",
         "stop": "2024-01-10T09:00:00Z", "duration": 3600, "description": "here"},
        {"id": 42, "workspace_id": 9999999, "user_id": 1000001, "start": "2024-01-11T08:00:00Z",
         "stop": "2024-01-11T09:00:00Z", "duration": 3600, "description": "other workspace"},
        {"id": 43, "workspace_id": 9999999, "user_id": 1000001, "start": "2024-01-12T08:00:00Z", "stop": None,
         "duration": -1, "description": "other workspace, running"},
    ]
    response = start_pull(alice_client, django_capture_on_commit_callbacks, start="2024-01-01", end="2024-01-31")
    data_import = DataImport.objects.get(pk=response.json()["import_id"])
    assert (data_import.status, data_import.created_records, data_import.skipped_records) == ("completed", 1, 0)
    assert list(TimeEntry.objects.values_list("source_id", "source_account", "notes")) == [
        ("41", str(WS), "here")]
    assert data_import.summary["running_timers"] == []


def test_an_entry_restarted_at_the_source_keeps_its_copy(
    alice_client, alice, fake_toggl, monkeypatch, django_capture_on_commit_callbacks
):
    from imports import toggl

    monkeypatch.setattr(toggl, "clock", lambda: datetime(2024, 1, 20, tzinfo=UTC))
    fake_toggl.add_entry(entry_id=51, start="2024-01-10T08:00:00+00:00", stop="2024-01-10T09:00:00+00:00")
    start_pull(alice_client, django_capture_on_commit_callbacks, start="2024-01-01", end="2024-01-31")
    # Running again: the report leaves it out, /me/time_entries shows it running.
    fake_toggl.rows = []
    fake_toggl.since_entries = [{"id": 51, "workspace_id": WS, "user_id": 1000001, "start": "2024-01-10T08:00:00Z",
                                 "stop": None, "duration": -1, "description": ""}]
    response = start_pull(alice_client, django_capture_on_commit_callbacks, start="2024-01-01", end="2024-01-31")
    rerun = DataImport.objects.get(pk=response.json()["import_id"])
    assert (rerun.status, rerun.skipped_records, rerun.deleted_records) == ("completed", 1, 0)
    assert list(TimeEntry.objects.values_list("source_id", "duration_seconds")) == [("51", 3600)]


def test_an_entry_with_an_absurd_stop_is_reported_and_the_rest_imported(
    alice_client, alice, fake_toggl, django_capture_on_commit_callbacks
):
    fake_toggl.add_entry(entry_id=61, start="2024-01-02T08:00:00+00:00", stop="2024-01-02T09:00:00+00:00")
    fake_toggl.add_entry(entry_id=62, start="2024-01-03T08:00:00Z", stop="9999-12-31T23:59:59Z")
    response = start_pull(alice_client, django_capture_on_commit_callbacks, start="2024-01-01", end="2024-01-31")
    data_import = DataImport.objects.get(pk=response.json()["import_id"])
    assert data_import.status == "completed_with_errors", data_import.status_message
    assert (data_import.processed_records, data_import.created_records, data_import.failed_records) == (2, 1, 1)
    assert [e["message"] for e in data_import.row_errors] == [
        'Toggl entry 62: stop "9999-12-31T23:59:59Z" is more than 1000 hours after its start; not imported']
    assert list(TimeEntry.objects.values_list("source_id", "duration_seconds")) == [("61", 3600)]
