"""Filtered export (req. 3a): every filter, both end days included, own entries only."""

import csv
import io
import json

import pytest
from django.core.management import call_command
from django.test import Client as HttpClient

from exports.models import DataExport
from timetracker.models import Tag

from .factories import at, entry


def ids_in_csv(body: bytes) -> list[int]:
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    return [int(row[0]) for row in rows[1:]]


def test_date_range_includes_both_end_days_in_the_users_timezone(alice, bob, login, filtered_export):
    # alice is in Europe/Berlin: 2024-03-04 23:30 UTC is already 2024-03-05 locally.
    before = entry(alice, start=at("2024-03-02 22:59"), end=at("2024-03-02 23:10"))  # 03-02 23:59 local
    first_day = entry(alice, start=at("2024-03-02 23:00"), end=at("2024-03-02 23:10"))  # 03-03 00:00 local
    last_day = entry(alice, start=at("2024-03-05 22:59"), end=at("2024-03-05 23:30"))  # 03-05 23:59 local
    after = entry(alice, start=at("2024-03-05 23:00"), end=at("2024-03-05 23:30"))  # 03-06 00:00 local
    entry(bob, start=at("2024-03-04 10:00"), end=at("2024-03-04 11:00"))

    status, body = filtered_export(
        login(alice), filters={"start_date": "2024-03-03", "end_date": "2024-03-05"}
    )

    assert ids_in_csv(body) == [first_day.pk, last_day.pk]
    assert before.pk not in ids_in_csv(body) and after.pk not in ids_in_csv(body)
    assert status["filters"] == {
        "start_date": "2024-03-03",
        "end_date": "2024-03-05",
        "user": "alice",
        "timezone": "Europe/Berlin",
        "bom": True,
    }


def test_one_day_range_returns_that_days_entries(alice, login, filtered_export):
    # The original product excluded the end day, so a one-day range gave nothing.
    day = entry(alice, start=at("2024-01-05 09:00"), end=at("2024-01-05 10:00"))

    _, body = filtered_export(login(alice), filters={"start_date": "2024-01-05", "end_date": "2024-01-05"})

    assert ids_in_csv(body) == [day.pk]


def test_client_project_task_tag_billable_and_search_filters(alice, login, filtered_export):
    match = entry(
        alice, start=at("2024-01-01 09:00"), end=at("2024-01-01 10:00"), project="Website", client="Acme",
        task="Design", tags=("urgent", "web"), billable=True, notes="Logo redesign",
    )  # fmt: skip
    entry(alice, start=at("2024-01-02 09:00"), end=at("2024-01-02 10:00"), project="Website", client="Globex",
          task="Design", tags=("urgent",), notes="Logo redesign")  # fmt: skip
    entry(alice, start=at("2024-01-03 09:00"), end=at("2024-01-03 10:00"), project="App", client="Acme",
          tags=("urgent",), notes="Logo redesign")  # fmt: skip
    entry(alice, start=at("2024-01-04 09:00"), end=at("2024-01-04 10:00"), project="Website", client="Acme",
          task="Design", tags=("web",), notes="Logo redesign")  # fmt: skip
    entry(alice, start=at("2024-01-05 09:00"), end=at("2024-01-05 10:00"), project="Website", client="Acme",
          task="Design", tags=("urgent",), billable=False, notes="Logo redesign")  # fmt: skip
    entry(alice, start=at("2024-01-06 09:00"), end=at("2024-01-06 10:00"), project="Website", client="Acme",
          task="Design", tags=("urgent",), notes="Invoice run")  # fmt: skip
    http = login(alice)
    acme_website = match.project

    _, by_ids = filtered_export(
        http,
        filters={
            "client": acme_website.client_id,
            "project": acme_website.pk,
            "task": match.task_id,
            "tag": "URGENT",
            "billable": "true",
            "search": "logo",
        },
    )
    assert ids_in_csv(by_ids) == [match.pk]

    # Names work as well as ids; the form's *_id spellings too.
    _, by_names = filtered_export(
        http, filters={"client_id": "Acme", "project": "website", "billable": False}
    )
    assert len(ids_in_csv(by_names)) == 1


def test_non_admin_never_gets_other_users_entries(alice, bob, login):
    entry(bob, start=at("2024-01-01 09:00"), end=at("2024-01-01 10:00"))
    http = login(alice)

    for value in ("all", "bob"):
        response = http.post(
            "/api/export/filtered", {"format": "csv", "filters": {"user": value}}, content_type="application/json"
        )
        assert response.status_code == 403
    assert response.json() == {"error": "Only admins can export other users' entries."}
    assert not DataExport.objects.exists()


def test_admin_may_export_one_user_or_all_users_each_in_its_owners_offset(alice, bob, charlie, login, filtered_export):
    alice_entry = entry(alice, start=at("2024-01-01 09:00"), end=at("2024-01-01 10:00"))
    bob_entry = entry(bob, start=at("2024-01-02 09:00"), end=at("2024-01-02 10:00"))
    http = login(charlie)

    _, only_bob = filtered_export(http, filters={"user": "bob"})
    assert ids_in_csv(only_bob) == [bob_entry.pk]

    _, everyone = filtered_export(http, filters={"user": "all"}, bom=False)
    lines = everyone.decode().split("\r\n")
    assert lines[1].startswith(f"{alice_entry.pk},alice@example.com,Website,Acme,,2024-01-01T10:00:00+01:00,")
    assert lines[2].startswith(f"{bob_entry.pk},bob@example.com,Website,Acme,,2024-01-02T09:00:00+00:00,")

    _, own = filtered_export(http)
    assert ids_in_csv(own) == []


def test_invalid_filters_answer_400_naming_the_filter_and_value(alice, login):
    http = login(alice)
    cases = [
        ({"start_date": "2024-13-01"}, "start_date: '2024-13-01' is not a date (YYYY-MM-DD)"),
        ({"start_date": "2024-02-02", "end_date": "2024-02-01"}, "end_date 2024-02-01 is before start_date 2024-02-02"),
        ({"project": 999999}, "project: there is no project named '999999' and none with id 999999"),
        ({"project_id": 999999}, "project_id: there is no project with id 999999"),
        ({"tag": "x", "tag_id": 1}, "tag: give tag or tag_id, not both"),
        ({"client": "Nobody Inc"}, "client: there is no client named 'Nobody Inc'"),
        ({"billable": "maybe"}, "billable: 'maybe' is not true or false"),
        ({"colour": "red"}, "Unknown filter 'colour'. Known filters: start_date, end_date, client, project, task, "
                            "tag, billable, search, user"),
    ]  # fmt: skip
    for filters, message in cases:
        response = http.post("/api/export/filtered", {"format": "csv", "filters": filters}, content_type="application/json")
        assert response.status_code == 400, filters
        assert response.json() == {"error": message}

    response = http.post("/api/export/filtered", {"format": "pdf"}, content_type="application/json")
    assert response.json() == {"error": 'Invalid format. Use "csv", "json" or "xlsx"'}
    response = http.post("/api/export/filtered", "not json", content_type="application/json")
    assert (response.status_code, response.json()) == (400, {"error": "The request body must be JSON."})
    assert not DataExport.objects.exists()


def test_filtered_json_is_one_document_with_typed_values(alice, login, filtered_export):
    first = entry(
        alice, start=at("2024-03-04 08:00:00.5"), end=at("2024-03-04 09:30"), notes="=not escaped in JSON",
        tags=("b", "a"), task="Design",
    )  # fmt: skip
    running = entry(alice, start=at("2024-03-05 08:00"), end=None, billable=False)

    status, body = filtered_export(login(alice), format="json", filters={"billable": None})

    document = json.loads(body)
    assert list(document) == ["export_info", "time_entries"]
    assert document["export_info"]["export_id"] == status["id"]
    assert document["export_info"]["columns"] == [
        "id", "user_email", "project_name", "client_name", "task_name", "start_time", "end_time",
        "duration_hours", "notes", "tags", "billable",
    ]  # fmt: skip
    assert document["time_entries"] == [
        {
            "id": first.pk,
            "user_email": "alice@example.com",
            "project_name": "Website",
            "client_name": "Acme",
            "task_name": "Design",
            "start_time": "2024-03-04T09:00:00.500000+01:00",
            "end_time": "2024-03-04T10:30:00+01:00",
            "duration_seconds": 5400,
            "duration_hours": "1.50",
            "notes": "=not escaped in JSON",
            "tags": ["a", "b"],
            "billable": True,
        },
        {
            "id": running.pk,
            "user_email": "alice@example.com",
            "project_name": "Website",
            "client_name": "Acme",
            "task_name": "",
            "start_time": "2024-03-05T09:00:00+01:00",
            "end_time": None,
            "duration_seconds": 0,
            "duration_hours": "0.00",
            "notes": "",
            "tags": [],
            "billable": False,
        },
    ]
    assert status["record_count"] == 2


def test_two_exports_in_the_same_second_get_different_files(alice):
    from django.utils import timezone

    entry(alice, start=at("2024-01-01 09:00"), end=at("2024-01-01 10:00"))
    moment = timezone.now().replace(microsecond=0)
    first = DataExport.objects.create(owner=alice, export_type="filtered", export_format="csv", created_at=moment)
    second = DataExport.objects.create(owner=alice, export_type="filtered", export_format="csv", created_at=moment)
    from exports.services import data_export_run

    a = data_export_run(data_export_id=first.pk)
    b = data_export_run(data_export_id=second.pk)

    stamp = moment.strftime("%Y%m%d_%H%M%S")
    assert a.file_name == f"filtered_export_alice_{stamp}_{first.pk}.csv"
    assert b.file_name == f"filtered_export_alice_{stamp}_{second.pk}.csv"
    assert a.file_path == f"exports/{a.file_name}" and b.file_path == f"exports/{b.file_name}"


def test_an_entry_tagged_web_and_web_in_another_case_is_exported_once(alice, login, filtered_export):
    from timetracker.models import Tag

    tagged = entry(alice, start=at("2024-01-01 09:00"), end=at("2024-01-01 10:00"), tags=("Web",))
    tagged.tags.add(Tag.objects.create(name="web"))

    status, body = filtered_export(login(alice), filters={"tag": "web"})

    assert ids_in_csv(body) == [tagged.pk]
    assert status["record_count"] == 1


def test_bom_off_spelled_no(alice, login, filtered_export):
    entry(alice, start=at("2024-01-01 09:00"), end=at("2024-01-01 10:00"))
    status, body = filtered_export(login(alice), bom="no")
    assert body.startswith(b"id,user_email,")
    assert status["filters"]["bom"] is False


def test_hostile_values_get_400_or_404_never_a_server_error(alice, login, api_token):
    http = login(alice)
    huge = "9" * 30
    cases = [
        ({"project": huge}, f"project: there is no project named '{huge}' and none with id {int(huge)}"),
        ({"project_id": huge}, f"project_id: there is no project with id {int(huge)}"),
        ({"search": "a\x00b"}, "search: the value contains a NUL character"),
        ({"tag": ["a", "b"]}, "tag: expected one value, got list"),
        ({"user": 2**70}, "Only admins can export other users' entries."),
        ({"end_date": "9999-12-31"}, "end_date: '9999-12-31' is outside the years 1900-2200"),
        ({"start_date": "0001-01-01"}, "start_date: '0001-01-01' is outside the years 1900-2200"),
        ({"search": "x" * 201}, "search: at most 200 characters, got 201"),
    ]
    for filters, message in cases:
        response = http.post("/api/export/filtered", {"format": "csv", "filters": filters}, content_type="application/json")
        assert response.status_code in (400, 403), filters
        assert response.json() == {"error": message}
    assert http.post("/api/export/filtered", {"filters": [1]}, content_type="application/json").json() == {
        "error": "filters must be an object"
    }
    response = http.post("/api/export/filtered", {"bom": "maybe"}, content_type="application/json")
    assert (response.status_code, response.json()) == (400, {"error": "bom: 'maybe' is not true or false"})
    assert http.get(f"/api/export/status/{huge}").status_code == 404
    assert http.get(f"/api/export/download/{huge}").status_code == 404
    token = {"HTTP_AUTHORIZATION": f"Bearer {api_token(alice, 'read:time_entries')}"}
    assert http.get(f"/api/v1/exports/{huge}", **token).status_code == 404
    response = http.post(
        "/api/v1/exports/filtered", {"filters": {"search": "a\x00b"}}, content_type="application/json", **token
    )
    assert response.status_code == 400
    assert not DataExport.objects.exists()


def test_progress_is_written_while_the_file_is_built(alice):
    from exports.services import data_export_create, data_export_run
    from timetracker.models import TimeEntry

    template = entry(alice, start=at("2024-01-01 09:00"), end=at("2024-01-01 10:00"))
    TimeEntry.objects.bulk_create(
        TimeEntry(owner=alice, project=template.project, start=template.start, end=template.end, duration_seconds=3600)
        for _ in range(4499)
    )
    export = data_export_create(user=alice, export_type="filtered", export_format="csv", enqueue=False)
    seen = []

    def progress(done, total):
        stored = DataExport.objects.values_list("processed_records", "total_records").get(pk=export.pk)
        seen.append((done, total, stored))

    data_export_run(data_export_id=export.pk, progress_callback=progress)

    assert seen == [
        (0, 4500, (0, 4500)),
        (2000, 4500, (2000, 4500)),
        (4000, 4500, (4000, 4500)),
        (4500, 4500, (4500, 4500)),
    ]
    export.refresh_from_db()
    assert (export.status, export.record_count, export.progress_percent) == ("completed", 4500, 100)


@pytest.fixture
def tag_named_like_an_id(alice):
    """A tag named "3" while another tag has the id 3 (the names are the other tag's id)."""
    by_id = entry(alice, start=at("2024-01-01 09:00"), end=at("2024-01-01 10:00"), tags=("urgent",))
    urgent = Tag.objects.get(name="urgent")
    by_name = entry(alice, start=at("2024-01-02 09:00"), end=at("2024-01-02 10:00"), tags=(str(urgent.pk),))
    year = entry(alice, start=at("2024-01-03 09:00"), end=at("2024-01-03 10:00"), tags=("2024",))
    assert not Tag.objects.filter(pk=2024).exists()
    return {"id": urgent.pk, "by_id": by_id.pk, "by_name": by_name.pk, "year": year.pk}


def test_a_number_given_as_tag_is_a_name_first_then_an_id(alice, login, filtered_export, tag_named_like_an_id):
    tags, http = tag_named_like_an_id, login(alice)

    assert ids_in_csv(filtered_export(http, filters={"tag": str(tags["id"])})[1]) == [tags["by_name"]]
    assert ids_in_csv(filtered_export(http, filters={"tag": tags["id"]})[1]) == [tags["by_name"]]  # a JSON number
    assert ids_in_csv(filtered_export(http, filters={"tag": "2024"})[1]) == [tags["year"]]
    # The *_id spellings (the page's selects) mean the id.
    assert ids_in_csv(filtered_export(http, filters={"tag_id": str(tags["id"])})[1]) == [tags["by_id"]]
    # Once no tag has that name, the number is the id.
    Tag.objects.filter(name=str(tags["id"])).update(name="renamed")
    assert ids_in_csv(filtered_export(http, filters={"tag": str(tags["id"])})[1]) == [tags["by_id"]]


def test_a_number_given_as_tag_is_a_name_first_in_the_v1_api(alice, api_token, tag_named_like_an_id):
    tags, http = tag_named_like_an_id, HttpClient()
    token = {"HTTP_AUTHORIZATION": f"Bearer {api_token(alice, 'read:time_entries')}"}

    def exported(filters: dict) -> list[int]:
        response = http.post("/api/v1/exports/filtered", {"filters": filters}, content_type="application/json", **token)
        assert response.status_code == 202, response.content
        download = http.get(response.json()["download_url"], **token)
        return ids_in_csv(b"".join(download.streaming_content))

    assert exported({"tag": str(tags["id"])}) == [tags["by_name"]]
    assert exported({"tag": "2024"}) == [tags["year"]]
    assert exported({"tag_id": tags["id"]}) == [tags["by_id"]]


def test_a_number_given_as_tag_is_a_name_first_in_the_command(alice, tmp_path, tag_named_like_an_id):
    tags, output = tag_named_like_an_id, tmp_path / "out.csv"

    def exported(*options: str) -> list[int]:
        call_command("export_entries", "--user", "alice", "--output", str(output), "--no-progress", *options,
                     stdout=io.StringIO())  # fmt: skip
        return ids_in_csv(output.read_bytes())

    assert exported("--tag", str(tags["id"])) == [tags["by_name"]]
    assert exported("--tag", "2024") == [tags["year"]]
    assert exported("--tag-id", str(tags["id"])) == [tags["by_id"]]


def test_the_page_sends_its_chosen_tag_as_an_id(alice, login, tag_named_like_an_id):
    page = login(alice).get("/exports/").content.decode()

    assert '<select name="tag_id"><option value="">any</option>' in page
    assert f'<option value="{tag_named_like_an_id["id"]}">urgent</option>' in page
    assert '"client_id", "project_id", "task_id", "tag_id"' in page


def test_names_and_search_fold_the_case_of_any_letter(alice, login, filtered_export):
    # The embedded SQLite set-up folds them too: timetracker/tests/test_sqlite_case_folding.py.
    first = entry(alice, start=at("2024-01-01 09:00"), end=at("2024-01-01 10:00"), project="Zoë Łukasz 山田",
                  client=None, notes="Call with Łukasz")  # fmt: skip
    second = entry(alice, start=at("2024-01-02 09:00"), end=at("2024-01-02 10:00"), project="Zoë Łukasz 山田",
                   client=None, notes="Łukasz review")  # fmt: skip
    entry(alice, start=at("2024-01-03 09:00"), end=at("2024-01-03 10:00"), project="Other", client=None)
    http = login(alice)
    for filters in ({"project": "zoë łukasz 山田"}, {"project": "ZOË ŁUKASZ 山田"}, {"search": "łukasz"},
                    {"search": "ŁUKASZ"}):  # fmt: skip
        _, body = filtered_export(http, filters=filters)
        assert ids_in_csv(body) == [first.pk, second.pk], filters
