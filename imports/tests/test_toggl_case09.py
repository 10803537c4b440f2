"""Case 09: running timers, tombstones and zero-length entries from Toggl API v9."""

import json
from datetime import UTC, datetime

from conftest import CASES_DIR
from imports import toggl
from imports.models import DataImport
from timetracker.models import TimeEntry

from .fake_toggl import TOGGL_TOKEN

pytest_plugins = ["imports.tests.pull_fixtures"]

CASE = json.loads((CASES_DIR / "09_toggl_running_and_deleted_entries.json").read_text())
FETCH_CLOCK = datetime(2024, 12, 16, 3, 15, 28, tzinfo=UTC)


def workspace(fake):
    fake.projects = [{"id": 63334409, "workspace_id": 2000002, "client_id": None, "name": "Inbox", "active": True,
                      "billable": True}]
    fake.tags = [{"id": 16939168, "workspace_id": 2000002, "name": "admin"}]


def pull(client, capture):
    body = {"token": TOGGL_TOKEN, "workspace_id": "2000002", "start": "2024-12-01", "end": "2024-12-16"}
    with capture(execute=True):
        response = client.post("/api/import/toggl", data=json.dumps(body), content_type="application/json")
    return DataImport.objects.get(pk=response.json()["import_id"])


def test_case_09_values(alice_client, alice, fake_toggl, monkeypatch, django_capture_on_commit_callbacks):
    monkeypatch.setattr(toggl, "clock", lambda: FETCH_CLOCK)
    workspace(fake_toggl)
    fake_toggl.since_entries = CASE["_response_body"]

    data_import = pull(alice_client, django_capture_on_commit_callbacks)

    assert data_import.status == "completed", data_import.status_message
    since = fake_toggl.requests_to("/api/v9/me/time_entries")
    assert [r.query for r in since] == [{"since": str(int(datetime(2024, 12, 1, tzinfo=UTC).timestamp()))}]
    entries = {e.source_id: e for e in TimeEntry.objects.filter(owner=alice)}
    assert sorted(entries) == ["3730256173", "3730288662"]
    normal = entries["3730256173"]
    assert (normal.start, normal.end, normal.duration_seconds, normal.billable, normal.notes) == (
        datetime(2024, 12, 16, 0, 41, 29, tzinfo=UTC), datetime(2024, 12, 16, 1, 11, 29, tzinfo=UTC), 1800, True,
        "Inbox Zero")
    assert (normal.project.source_id, list(normal.tags.values_list("name", flat=True))) == ("63334409", ["admin"])
    zero = entries["3730288662"]
    assert (zero.start, zero.end, zero.duration_seconds, zero.notes, zero.billable, zero.tags.count()) == (
        datetime(2024, 12, 16, 1, 29, 40, tzinfo=UTC), datetime(2024, 12, 16, 1, 29, 40, tzinfo=UTC), 0,
        "Hello Toggl", False, 0)
    assert sum(e.duration_seconds for e in entries.values()) == 1800
    assert data_import.summary["running_timers"] == [
        {"source_id": "3730303299", "start": "2024-12-16T01:55:24+00:00", "notes": "Running timer (v9 style)",
         "note": "running timer, import after it stops"},
        {"source_id": "3730303300", "start": "2024-12-16T02:00:00+00:00",
         "notes": "Running timer (legacy negative-epoch style)", "note": "running timer, import after it stops"},
    ]
    # two running timers and one tombstone of an entry never imported
    assert (data_import.created_records, data_import.skipped_records, data_import.deleted_records) == (2, 3, 0)


def test_tombstone_removes_the_copy_imported_earlier(alice_client, alice, fake_toggl, monkeypatch,
                                                     django_capture_on_commit_callbacks):
    monkeypatch.setattr(toggl, "clock", lambda: FETCH_CLOCK)
    workspace(fake_toggl)
    fake_toggl.add_entry(entry_id=3730276799, start="2024-12-16T02:18:20+00:00", stop="2024-12-16T03:18:20+00:00")
    first = pull(alice_client, django_capture_on_commit_callbacks)
    assert first.created_records == 1
    assert TimeEntry.objects.filter(owner=alice, source_id="3730276799").count() == 1

    fake_toggl.since_entries = CASE["_response_body"]  # the report still lists it: deletion lags there
    second = pull(alice_client, django_capture_on_commit_callbacks)

    assert second.status == "completed"
    assert second.deleted_records == 1
    assert not TimeEntry.objects.filter(source_id="3730276799").exists()
    assert sorted(TimeEntry.objects.filter(owner=alice).values_list("source_id", flat=True)) == [
        "3730256173", "3730288662"]


def test_an_entry_in_both_the_report_and_the_recent_changes_is_counted_once(
    alice_client, alice, fake_toggl, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(toggl, "clock", lambda: FETCH_CLOCK)
    workspace(fake_toggl)
    fake_toggl.add_entry(entry_id=3730256173, start="2024-12-16T00:41:29Z", stop="2024-12-16T01:11:29Z",
                         project_id=63334409, description="Inbox Zero", billable=True, tag_ids=[16939168])
    fake_toggl.since_entries = CASE["_response_body"]
    data_import = pull(alice_client, django_capture_on_commit_callbacks)
    # report: 3730256173; recent: 2 running, 1 tombstone, 3730288662 (3730256173 again, not counted)
    assert (data_import.processed_records, data_import.created_records, data_import.unchanged_records,
            data_import.skipped_records, data_import.total_records) == (5, 2, 0, 3, 5)
    assert TimeEntry.objects.filter(owner=alice).count() == 2
