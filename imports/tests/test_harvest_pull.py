"""Harvest pulls through the session endpoint against the fake Harvest on 127.0.0.1, case 17
included."""

import json
from datetime import UTC, date, datetime

from conftest import CASES_DIR, SAMPLES_DIR, make_user
from imports.models import DataImport
from timetracker.models import Client, Project, TimeEntry

from .fake_harvest import HARVEST_TOKEN, harvest_entry

pytest_plugins = ["imports.tests.pull_fixtures"]

CASE_17 = json.loads((CASES_DIR / "17_harvest_cursor_pagination.json").read_text())
SAMPLE_PAGE = json.loads((SAMPLES_DIR / "harvest" / "harvest_v2_time_entries_page.json").read_text())


def pull(client, capture, **overrides) -> DataImport:
    body = {"account_id": "424242", "token": HARVEST_TOKEN, "start": "2024-03-01", "end": "2024-03-31", **overrides}
    with capture(execute=True):
        response = client.post("/api/import/harvest", data=json.dumps(body), content_type="application/json")
    assert response.status_code == 202, response.content
    return DataImport.objects.get(pk=response.json()["import_id"])


def test_case_17_follows_links_next_through_a_middle_page_without_page_numbers(
    alice_client, alice, fake_harvest, django_capture_on_commit_callbacks
):
    fake_harvest.replay(CASE_17["responses_in_order"])
    data_import = pull(alice_client, django_capture_on_commit_callbacks, timezone="America/New_York")

    assert data_import.status == "completed", data_import.status_message
    pages = fake_harvest.requests_to("/v2/time_entries")
    assert [r.query for r in pages] == [
        {"from": "2024-03-01", "to": "2024-03-31", "per_page": "2"},
        {"cursor": "eyJhZnRlciI6eyJpZCI6OTAwMDA0fX0", "from": "2024-03-01", "to": "2024-03-31", "per_page": "2",
         "ref": "next_cursor"},
        {"cursor": "eyJhZnRlciI6eyJpZCI6OTAwMDAyfX0", "from": "2024-03-01", "to": "2024-03-31", "per_page": "2",
         "ref": "next_cursor"},
    ]
    assert (data_import.processed_records, data_import.total_records) == (5, 5)
    assert (data_import.created_records, data_import.skipped_records) == (4, 1)
    assert data_import.summary["running_timers"] == [
        {"source_id": "900005", "start": "2024-03-06T14:02:11+00:00", "notes": "Running timer",
         "note": "running timer, import after it stops"}]

    entries = {e.source_id: e for e in TimeEntry.objects.filter(owner=alice, source_system="harvest")}
    assert sorted(entries) == ["900001", "900002", "900003", "900004"]
    # New York is UTC−5 in early March 2024.
    assert (entries["900004"].start, entries["900004"].end, entries["900004"].duration_seconds) == (
        datetime(2024, 3, 5, 17, 0, tzinfo=UTC), datetime(2024, 3, 5, 18, 15, tzinfo=UTC), 4500)
    assert (entries["900003"].start, entries["900003"].end, entries["900003"].duration_seconds) == (
        datetime(2024, 3, 4, 5, 0, tzinfo=UTC), datetime(2024, 3, 4, 7, 0, tzinfo=UTC), 7200)
    assert entries["900002"].notes == 'Notes with\nnewline and "quotes"'
    # Hours only: 00:00 local on spent_date, lasting hours × 3600 s.
    assert (entries["900002"].start, entries["900002"].duration_seconds, entries["900002"].end) == (
        datetime(2024, 3, 2, 5, 0, tzinfo=UTC), 2700, datetime(2024, 3, 2, 5, 45, tzinfo=UTC))
    assert (entries["900001"].start, entries["900001"].duration_seconds) == (datetime(2024, 3, 1, 5, tzinfo=UTC), 10800)
    assert sum(e.duration_seconds for e in entries.values()) == 7 * 3600
    project = entries["900004"].project
    assert (project.name, project.client.name, project.source_system, project.source_id) == (
        "Online Store - Phase 1", "123 Industries", "harvest", "14308069")
    assert entries["900004"].task.name == "Programming"
    # Every request carried the headers Harvest requires.
    for request in fake_harvest.requests:
        assert request.headers["Authorization"] == f"Bearer {HARVEST_TOKEN}"
        assert request.headers["Harvest-Account-Id"] == "424242"
        assert request.headers["User-Agent"] == "TimeTracker/0.1.0 (admin@example.com)"


def test_a_repeated_next_link_stops_the_pull(alice_client, fake_harvest, django_capture_on_commit_callbacks):
    pages = json.loads(json.dumps(CASE_17["responses_in_order"]))
    pages[1]["body"]["links"]["next"] = pages[0]["body"]["links"]["next"]
    fake_harvest.replay(pages)
    data_import = pull(alice_client, django_capture_on_commit_callbacks, timezone="UTC")
    assert (data_import.status, data_import.status_message) == (
        "failed", "Harvest repeated the same next-page link; stopped so that nothing is counted twice.")


def test_a_next_link_to_another_host_is_not_followed(alice_client, fake_harvest, django_capture_on_commit_callbacks):
    pages = json.loads(json.dumps(CASE_17["responses_in_order"]))
    fake_harvest.replay(pages[:1])
    fake_harvest.recorded[0][1]["links"]["next"] = "https://evil.example.com/v2/time_entries?cursor=x"
    data_import = pull(alice_client, django_capture_on_commit_callbacks, timezone="UTC")
    assert (data_import.status, data_import.status_message) == (
        "failed", "Harvest returned a link to another host; stopped.")
    assert len(fake_harvest.requests_to("/v2/time_entries")) == 1


def test_clock_times_ending_at_or_before_the_start_end_the_next_day_across_dst(
    alice_client, alice, fake_harvest, django_capture_on_commit_callbacks
):
    fake_harvest.entries = [
        harvest_entry(1, "2024-03-30", hours=4.0, started="11:00pm", ended="4:00am"),  # Berlin switches to CEST
        harvest_entry(2, "2024-03-12", hours=24.0, started="8:00am", ended="8:00am"),
        harvest_entry(3, "2024-03-13", hours=2.11),
        harvest_entry(4, "2024-03-14", hours=1.5, started="13:30"),
        harvest_entry(5, "2024-03-15", hours=0.0, started="9:00am", ended="9:00am"),
    ]
    data_import = pull(alice_client, django_capture_on_commit_callbacks)  # timezone defaults to alice's Berlin
    assert data_import.options["timezone"] == "Europe/Berlin"
    entries = {e.source_id: e for e in TimeEntry.objects.filter(owner=alice)}
    assert (entries["1"].start, entries["1"].end, entries["1"].duration_seconds) == (
        datetime(2024, 3, 30, 22, tzinfo=UTC), datetime(2024, 3, 31, 2, tzinfo=UTC), 4 * 3600)
    assert (entries["2"].start, entries["2"].duration_seconds) == (datetime(2024, 3, 12, 7, tzinfo=UTC), 86400)
    assert (entries["3"].start, entries["3"].duration_seconds) == (datetime(2024, 3, 12, 23, tzinfo=UTC), 7596)
    assert (entries["4"].start, entries["4"].end) == (
        datetime(2024, 3, 14, 12, 30, tzinfo=UTC), datetime(2024, 3, 14, 14, tzinfo=UTC))
    # Equal clock times with 0 hours: a zero-length entry, not 24 h.
    assert (entries["5"].start, entries["5"].end, entries["5"].duration_seconds) == (
        datetime(2024, 3, 15, 8, tzinfo=UTC), datetime(2024, 3, 15, 8, tzinfo=UTC), 0)


def test_hours_are_the_duration_even_when_the_clock_times_disagree(
    alice_client, alice, fake_harvest, django_capture_on_commit_callbacks
):
    # Harvest's documented sample: 2.11 h shown as 3:00pm–5:00pm, 1.35 h as 1:00pm–2:00pm.
    fake_harvest.entries = json.loads(json.dumps(SAMPLE_PAGE["time_entries"]))
    data_import = pull(alice_client, django_capture_on_commit_callbacks, start="2017-03-01", end="2017-03-31",
                       timezone="UTC")
    assert data_import.status == "completed", data_import.status_message
    entries = {e.source_id: (e.start, e.end, e.duration_seconds) for e in TimeEntry.objects.filter(owner=alice)}
    assert entries == {
        "636709355": (datetime(2017, 3, 2, 15, tzinfo=UTC), datetime(2017, 3, 2, 17, 6, 36, tzinfo=UTC), 7596),
        "636708574": (datetime(2017, 3, 1, 11, tzinfo=UTC), datetime(2017, 3, 1, 12, tzinfo=UTC), 3600),
        "636708723": (datetime(2017, 3, 1, 13, tzinfo=UTC), datetime(2017, 3, 1, 14, 21, tzinfo=UTC), 4860),
    }
    assert sum(duration for _, _, duration in entries.values()) == 16056


def test_rerun_matches_the_source(alice_client, alice, fake_harvest, django_capture_on_commit_callbacks):
    fake_harvest.entries = [harvest_entry(n, f"2024-03-0{n}", hours=1, notes=f"n{n}") for n in range(1, 6)]
    first = pull(alice_client, django_capture_on_commit_callbacks)
    assert first.created_records == 5
    fake_harvest.entries = [e for e in fake_harvest.entries if e["id"] != 2]
    fake_harvest.entries[0]["notes"] = "changed"
    fake_harvest.entries[0]["hours"] = 2.5
    second = pull(alice_client, django_capture_on_commit_callbacks)
    assert (second.created_records, second.updated_records, second.unchanged_records, second.deleted_records) == (
        0, 1, 3, 1)
    changed = TimeEntry.objects.get(owner=alice, source_id="1")
    assert (changed.notes, changed.duration_seconds) == ("changed", 9000)
    assert sorted(TimeEntry.objects.filter(owner=alice).values_list("source_id", flat=True)) == ["1", "3", "4", "5"]
    assert Project.objects.count() == 1 and Client.objects.count() == 1


def test_admin_maps_entries_to_users_by_email_and_keeps_the_unmatched(
    charlie_client, charlie, alice, fake_harvest, django_capture_on_commit_callbacks
):
    erin = make_user("erin")
    erin.email = "Erin.Example@Example.com"
    erin.save()
    fake_harvest.users = [
        {"id": 11, "first_name": "Alice", "last_name": "A", "email": "alice@example.com"},
        {"id": 12, "first_name": "Erin", "last_name": "E", "email": "erin.example@example.com"},
        {"id": 13, "first_name": "Zed", "last_name": "Nobody", "email": "zed@elsewhere.test"},
    ]
    fake_harvest.entries = [harvest_entry(101, "2024-03-01", hours=1, user_id=11),
                            harvest_entry(102, "2024-03-02", hours=2, user_id=12),
                            harvest_entry(103, "2024-03-03", hours=3, user_id=13)]
    data_import = pull(charlie_client, django_capture_on_commit_callbacks, map_users_by_email=True, timezone="UTC")
    assert data_import.status == "completed"
    owners = dict(TimeEntry.objects.values_list("source_id", "owner__username"))
    assert owners == {"101": "alice", "102": "erin", "103": "charlie"}
    assert data_import.summary["unmatched_users"] == [
        {"source_user_id": "13", "name": "Zed Nobody", "email": "zed@elsewhere.test"}]
    # Without the option, an admin's pull keeps everything.
    second = pull(charlie_client, django_capture_on_commit_callbacks, timezone="UTC")
    assert second.created_records == 2 and TimeEntry.objects.filter(owner=charlie).count() == 3


def test_a_token_without_rights_to_list_users_fails_mapping_truthfully(
    charlie_client, fake_harvest, django_capture_on_commit_callbacks
):
    from .fake_toggl import Canned

    fake_harvest.entries = [harvest_entry(101, "2024-03-01", hours=1)]
    # Real Harvest lists people to administrators (and managers allowed to see them) only.
    fake_harvest.script("/v2/users", [Canned(status=403, body='{"error": "forbidden"}')])
    data_import = pull(charlie_client, django_capture_on_commit_callbacks, map_users_by_email=True, timezone="UTC")
    assert (data_import.status, data_import.status_message) == (
        "failed", ("Harvest refused to list the account's users (the token needs administrator rights, or a "
                   "manager's permission to see people, to map users by e-mail); pull again without mapping users "
                   "by e-mail."))
    assert [r.path for r in fake_harvest.requests] == ["/v2/users/me", "/v2/users"]
    assert TimeEntry.objects.count() == 0


def test_more_entries_than_announced_stops_the_pull(alice_client, fake_harvest, django_capture_on_commit_callbacks):
    pages = json.loads(json.dumps(CASE_17["responses_in_order"]))
    for page in pages:
        page["body"]["total_entries"] = 3
    fake_harvest.replay(pages)
    data_import = pull(alice_client, django_capture_on_commit_callbacks, timezone="UTC")
    assert (data_import.status, data_import.status_message) == (
        "failed", "Harvest returned more entries (4) than it announced (3); stopped.")
    assert data_import.processed_records == 2  # the first page; the import is visibly incomplete


def test_a_second_account_deletes_nothing_of_the_first_and_a_rerun_still_sweeps(
    charlie_client, charlie, alice, fake_harvest, django_capture_on_commit_callbacks
):
    # The admin path (entries of users mapped by e-mail) too: alice's entries come from 424242.
    fake_harvest.users = [{"id": 11, "first_name": "Alice", "last_name": "A", "email": "alice@example.com"}]
    first_entries = [harvest_entry(n, f"2024-04-0{n}", hours=1, user_id=11 if n % 2 else 1782959) for n in range(1, 9)]
    fake_harvest.entries = first_entries
    kwargs = {"start": "2024-04-01", "end": "2024-04-30", "timezone": "UTC", "map_users_by_email": True}
    first = pull(charlie_client, django_capture_on_commit_callbacks, **kwargs)
    assert first.created_records == 8
    # An entry imported before entries recorded their account: no other account may sweep it.
    TimeEntry.objects.create(owner=alice, project=Project.objects.get(), source_system="harvest", source_id="4711", start=datetime(2024, 4, 9, tzinfo=UTC),
                             end=datetime(2024, 4, 9, 1, tzinfo=UTC), duration_seconds=3600)

    fake_harvest.account_id, fake_harvest.entries = "555", [harvest_entry(5551, "2024-04-10", hours=2, user_id=11)]
    second = pull(charlie_client, django_capture_on_commit_callbacks, account_id="555", **kwargs)
    assert second.status_message == "Imported from Harvest: 1 created, 0 updated, 0 unchanged, 0 deleted, 0 skipped"
    assert TimeEntry.objects.filter(source_system="harvest").count() == 10

    # A rerun of the first account still removes what was deleted there, and only that.
    fake_harvest.account_id, fake_harvest.entries = "424242", [e for e in first_entries if e["id"] not in (2, 3)]
    rerun = pull(charlie_client, django_capture_on_commit_callbacks, account_id="424242", **kwargs)
    assert (rerun.unchanged_records, rerun.deleted_records) == (6, 2)
    assert sorted(TimeEntry.objects.values_list("source_id", flat=True)) == sorted(
        ["1", "4", "5", "6", "7", "8", "4711", "5551"])


def test_unreadable_entries_are_reported_and_the_rest_imported(
    alice_client, alice, fake_harvest, django_capture_on_commit_callbacks
):
    from .fake_toggl import Canned

    good = harvest_entry(1, "2024-03-01", hours=1)
    bad_clock = harvest_entry(2, "2024-03-02", hours=1, started="25:00pm")
    huge = harvest_entry(3, "2024-03-03", hours=1e300)
    body = {"time_entries": [{"id": 777}, good, bad_clock, huge], "per_page": 4, "total_pages": 1,
            "total_entries": 4, "page": 1, "next_page": None, "links": {"next": None}}
    fake_harvest.script("/v2/time_entries", [Canned(status=200, headers={"Content-Type": "application/json"},
                                                    body=json.dumps(body))])
    data_import = pull(alice_client, django_capture_on_commit_callbacks, timezone="UTC")
    assert data_import.status == "completed_with_errors", data_import.status_message
    assert (data_import.processed_records, data_import.created_records, data_import.failed_records) == (4, 1, 3)
    assert [e["message"] for e in data_import.row_errors] == [
        "Harvest entry 777: spent_date is missing; not imported",
        'Harvest entry 2: unreadable Harvest time "25:00pm"; not imported',
        'Harvest entry 3: hours "1e+300" is not a number of hours between 0 and 1000; not imported',
    ]
    assert list(TimeEntry.objects.values_list("source_id", flat=True)) == ["1"]


def test_an_entry_restarted_at_the_source_keeps_its_copy(
    alice_client, alice, fake_harvest, django_capture_on_commit_callbacks
):
    fake_harvest.entries = [harvest_entry(1, "2024-03-01", hours=1), harvest_entry(2, "2024-03-02", hours=2)]
    pull(alice_client, django_capture_on_commit_callbacks, timezone="UTC")
    fake_harvest.entries[1] = harvest_entry(2, "2024-03-02", hours=2.5, running=True)
    rerun = pull(alice_client, django_capture_on_commit_callbacks, timezone="UTC")
    assert (rerun.status, rerun.unchanged_records, rerun.skipped_records, rerun.deleted_records) == (
        "completed", 1, 1, 0)
    assert [t["source_id"] for t in rerun.summary["running_timers"]] == ["2"]
    assert list(TimeEntry.objects.order_by("source_id").values_list("source_id", "duration_seconds")) == [
        ("1", 3600), ("2", 7200)]


def test_an_admin_pull_mapping_by_email_keeps_other_users_copies_of_live_entries(
    charlie_client, charlie, alice, bob, fake_harvest, django_capture_on_commit_callbacks
):
    from django.test import Client as BrowserClient

    bob_client = BrowserClient()
    bob_client.force_login(bob)
    fake_harvest.account_id = "830"
    fake_harvest.users = [{"id": 11, "first_name": "Bob", "last_name": "B", "email": "bob@example.com"},
                          {"id": 12, "first_name": "Alice", "last_name": "A", "email": "alice@example.com"},
                          {"id": 13, "first_name": "Zed", "last_name": "Z", "email": "zed@elsewhere.test"}]
    fake_harvest.entries = [harvest_entry(830001, "2024-03-01", hours=1, user_id=11),
                            harvest_entry(830002, "2024-03-02", hours=1, user_id=12),
                            harvest_entry(830003, "2024-03-03", hours=1, user_id=13),
                            harvest_entry(830004, "2024-03-04", hours=1, user_id=11)]
    kwargs = {"account_id": "830", "timezone": "UTC"}
    assert pull(bob_client, django_capture_on_commit_callbacks, **kwargs).created_records == 4  # bob's own copies
    fake_harvest.entries.pop()  # 830004 deleted at Harvest
    admin = pull(charlie_client, django_capture_on_commit_callbacks, map_users_by_email=True, **kwargs)
    # bob is one of this pull's users: his copies move to the owners Harvest names, none twice.
    assert admin.status_message == (
        "Imported from Harvest: 0 created, 2 updated, 1 unchanged, 1 deleted, 0 skipped (see the report)")
    assert sorted(TimeEntry.objects.values_list("owner__username", "source_id")) == [
        ("alice", "830002"), ("bob", "830001"), ("charlie", "830003")]


def test_a_mapped_rerun_moves_an_entry_reassigned_at_the_source_instead_of_copying_it(
    charlie_client, alice, fake_harvest, django_capture_on_commit_callbacks
):
    from django.test import Client as BrowserClient

    alice_client = BrowserClient()
    alice_client.force_login(alice)
    bob, carol = make_user("bob"), make_user("carol")
    fake_harvest.users = [{"id": 2001, "first_name": "Bob", "last_name": "B", "email": "bob@example.com"},
                          {"id": 2002, "first_name": "Carol", "last_name": "C", "email": "carol@example.com"}]
    fake_harvest.entries = [harvest_entry(810001, "2024-03-01", hours=1.5, user_id=2001)]
    kwargs = {"timezone": "UTC", "map_users_by_email": True}
    # alice pulls the account herself: she is none of the admin's pull's users, her copy stays.
    assert pull(alice_client, django_capture_on_commit_callbacks, timezone="UTC").created_records == 1
    assert pull(charlie_client, django_capture_on_commit_callbacks, **kwargs).created_records == 1
    bob_copy = TimeEntry.objects.get(owner=bob)

    fake_harvest.entries[0]["user"] = {"id": 2002, "name": "Carol C"}
    rerun = pull(charlie_client, django_capture_on_commit_callbacks, **kwargs)
    assert rerun.status_message == "Imported from Harvest: 0 created, 1 updated, 0 unchanged, 0 deleted, 0 skipped"
    assert sorted(TimeEntry.objects.values_list("owner__username", "source_id", "duration_seconds")) == [
        ("alice", "810001", 5400), ("carol", "810001", 5400)]
    assert TimeEntry.objects.get(owner=carol).pk == bob_copy.pk
    assert not TimeEntry.objects.filter(owner=bob).exists()


def test_a_mapped_pull_after_an_unmapped_one_moves_the_importers_copy(
    charlie_client, fake_harvest, django_capture_on_commit_callbacks
):
    make_user("bob")
    fake_harvest.users = [{"id": 2001, "first_name": "Bob", "last_name": "B", "email": "bob@example.com"}]
    fake_harvest.entries = [harvest_entry(810001, "2024-03-01", hours=1.5, user_id=2001)]
    assert pull(charlie_client, django_capture_on_commit_callbacks, timezone="UTC").created_records == 1
    mapped = pull(charlie_client, django_capture_on_commit_callbacks, timezone="UTC", map_users_by_email=True)
    assert mapped.status_message == "Imported from Harvest: 0 created, 1 updated, 0 unchanged, 0 deleted, 0 skipped"
    assert list(TimeEntry.objects.values_list("owner__username", "source_id")) == [("bob", "810001")]


def test_a_rerun_in_another_timezone_deletes_nothing_outside_its_dates(
    alice_client, alice, fake_harvest, django_capture_on_commit_callbacks
):
    fake_harvest.entries = [harvest_entry(1, "2024-09-01", hours=1, started="12:30am"),
                            harvest_entry(2, "2024-08-30", hours=1, started="9:00am")]
    first = pull(alice_client, django_capture_on_commit_callbacks, start="2024-08-01", end="2024-09-30",
                 timezone="Europe/Berlin")
    assert first.created_records == 2
    september = TimeEntry.objects.get(source_id="1")
    assert (september.start, september.source_date) == (datetime(2024, 8, 31, 22, 30, tzinfo=UTC), date(2024, 9, 1))
    fake_harvest.entries = []  # 2 deleted at Harvest; 1 still there, but outside August
    rerun = pull(alice_client, django_capture_on_commit_callbacks, start="2024-08-01", end="2024-08-31",
                 timezone="UTC")
    assert (rerun.status, rerun.deleted_records) == ("completed", 1)
    assert list(TimeEntry.objects.values_list("source_id", flat=True)) == ["1"]


def test_entries_stored_without_their_date_are_swept_only_well_inside_the_range(
    alice_client, alice, fake_harvest, django_capture_on_commit_callbacks
):
    project = Project.objects.create(name="Legacy")

    def legacy(source_id: str, start: datetime) -> None:
        TimeEntry.objects.create(owner=alice, project=project, source_system="harvest", source_id=source_id,
                                 source_account="424242", start=start, end=start, duration_seconds=0)

    legacy("10", datetime(2024, 8, 1, 11, 59, tzinfo=UTC))  # 2024-07-31 in UTC−12
    legacy("11", datetime(2024, 8, 1, 12, tzinfo=UTC))
    legacy("12", datetime(2024, 8, 31, 9, 59, tzinfo=UTC))
    legacy("13", datetime(2024, 8, 31, 10, tzinfo=UTC))  # 2024-09-01 in UTC+14
    rerun = pull(alice_client, django_capture_on_commit_callbacks, start="2024-08-01", end="2024-08-31",
                 timezone="UTC")
    assert rerun.deleted_records == 2
    assert sorted(TimeEntry.objects.values_list("source_id", flat=True)) == ["10", "13"]
