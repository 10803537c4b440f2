"""Real export files under ../shared/samples (Toggl, Clockify, Harvest, solidtime's fixture set)
give the values solidtime/EXPECTED.md states, except where we deliberately differ (no
duplicates on re-import; errors name line, column and value)."""

from datetime import UTC, datetime

import pytest

from conftest import SAMPLES_DIR
from imports.tests.factories import import_file, preview_file
from timetracker.models import Client, Project, Tag, Task, TimeEntry

SOLIDTIME = SAMPLES_DIR / "solidtime"
SPECIAL = '\\\\ 🔥 Special characters  """`!@#$%^&*()_+\\-=\\[\\]{};\':"\\\\|,.\'\'<>\\/?~ \\\\\\'
SPECIAL_CLOCKIFY = "\\\\ 🔥 Special characters  ''''''`!@#$%^&*()_+\\-=\\[\\]{};':''\\\\|,.''<>\\/?~ \\\\\\"


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def scenario_a(user):
    return [
        (e.notes, e.start, e.end, e.billable, sorted(t.name for t in e.tags.all()), e.project.name,
         e.project.client.name if e.project.client_id else None, e.task.name if e.task_id else None)
        for e in TimeEntry.objects.filter(owner=user).order_by("-project__name", "start")
    ]


SCENARIO_A = [
    ("", utc("2024-03-04 09:23:52"), utc("2024-03-04 09:23:52"), False, ["Backend", "Development"],
     "Project without Client", None, None),
    ("Working hard", utc("2024-03-04 09:23:00"), utc("2024-03-04 10:23:01"), True, [],
     "Project for Big Company", "Big Company", "Task 1"),
]


@pytest.mark.parametrize(
    "path,date_order",
    [
        (SOLIDTIME / "toggl_time_entries_import_test_1.csv", None),
        (SAMPLES_DIR / "toggl" / "toggl_detailed_solidtime.csv", None),
        (SOLIDTIME / "clockify_time_entries_import_test_1.csv", "MDY"),
        (SAMPLES_DIR / "clockify" / "clockify_detailed_solidtime.csv", "MDY"),
        (SOLIDTIME / "generic_time_entries_import_test_1.csv", None),
    ],
    ids=lambda value: getattr(value, "name", value),
)
def test_scenario_a_and_no_duplicates_on_second_run(alice, path, date_order):
    first = import_file(alice, path, timezone="Europe/Vienna", date_order=date_order)
    assert (first.status, first.created_records) == ("completed", 2)
    assert scenario_a(alice) == SCENARIO_A
    assert list(Client.objects.values_list("name", flat=True)) == ["Big Company"]
    assert sorted(Project.objects.values_list("name", flat=True)) == ["Project for Big Company", "Project without Client"]
    assert list(Task.objects.values_list("name", flat=True)) == ["Task 1"]
    assert sorted(Tag.objects.values_list("name", flat=True)) == ["Backend", "Development"]
    second = import_file(alice, path, timezone="Europe/Vienna", date_order=date_order)
    assert (second.created_records, second.unchanged_records) == (0, 2)
    assert TimeEntry.objects.filter(owner=alice).count() == 2


def test_clockify_us_dates_that_fit_both_orders_wait_for_a_choice(alice):
    path = SOLIDTIME / "clockify_time_entries_import_test_1.csv"
    preview = preview_file(alice, path, timezone="Europe/Vienna")
    assert (preview.format_name, preview.needs_date_order, preview.date_order) == ("clockify", True, None)
    data_import = import_file(alice, path, timezone="Europe/Vienna")
    assert data_import.status == "failed"
    assert data_import.status_message == (
        "Nothing was imported: the dates fit both day/month and month/day order. "
        "Choose the date order (DMY, MDY or YMD) and import again."
    )
    assert TimeEntry.objects.count() == 0


def test_clockify_12_hour_times_with_and_without_seconds(alice):
    preview = preview_file(alice, SOLIDTIME / "clockify_time_entries_import_test_1.csv", timezone="Europe/Vienna", date_order="MDY")
    assert [(r["start_time"], r["end_time"]) for r in preview.sample_rows] == [
        ("2024-03-04T09:23:52+00:00", "2024-03-04T09:23:52+00:00"),
        ("2024-03-04T09:23:00+00:00", "2024-03-04T10:23:01+00:00"),
    ]
    assert preview.ignored_columns == []


def test_toggl_special_characters_kept_exactly(alice):
    import_file(alice, SOLIDTIME / "toggl_time_entries_import_test_2.csv", timezone="Europe/Vienna")
    entry = TimeEntry.objects.get(owner=alice)
    assert entry.notes == SPECIAL
    assert (entry.start, entry.end, entry.billable) == (utc("2024-10-15 10:02:17"), utc("2024-10-15 10:02:19"), False)
    assert (entry.project.name, entry.project.client.name, entry.task.name) == (
        "Real World Project", "Real World Client", "A giant task",
    )


def test_clockify_real_world_header_extra_columns(alice):
    preview = preview_file(alice, SOLIDTIME / "clockify_time_entries_import_test_2.csv", timezone="Europe/Vienna")
    assert (preview.format_name, preview.date_order, preview.ignored_columns) == ("clockify", "MDY", [])
    import_file(alice, SOLIDTIME / "clockify_time_entries_import_test_2.csv", timezone="Europe/Vienna")
    entry = TimeEntry.objects.get(owner=alice)
    assert entry.notes == SPECIAL_CLOCKIFY
    assert (entry.start, entry.end, entry.billable) == (utc("2024-10-15 09:00:00"), utc("2024-10-15 09:30:00"), True)


def test_clockify_impossible_date_names_line_column_value(alice):
    data_import = import_file(alice, SOLIDTIME / "clockify_time_entries_import_test_3.csv", timezone="Europe/Vienna")
    assert data_import.status == "failed"
    assert data_import.row_errors == [
        {"line": 2, "column": "Start Date", "value": "13/15/2024", "message": "not a valid date in month/day/year order"}
    ]
    assert TimeEntry.objects.count() == 0


def test_clockify_without_billable_column_is_not_billable(alice):
    import_file(alice, SOLIDTIME / "clockify_time_entries_import_test_4.csv", timezone="Europe/Vienna", date_order="MDY")
    assert list(TimeEntry.objects.values_list("billable", flat=True)) == [False, False]


def test_clockify_activity_column_is_the_task(alice):
    import_file(alice, SOLIDTIME / "clockify_time_entries_import_test_5.csv", timezone="Europe/Vienna", date_order="MDY")
    assert (TimeEntry.objects.count(), list(Task.objects.values_list("name", flat=True))) == (2, ["Task 1"])


def test_clockify_without_client_column(alice):
    import_file(alice, SOLIDTIME / "clockify_time_entries_import_test_6.csv", timezone="Europe/Vienna", date_order="MDY")
    assert TimeEntry.objects.count() == 2
    assert sorted(Project.objects.values_list("name", flat=True)) == ["Project A", "Project B"]
    assert Client.objects.count() == 0


def test_clockify_short_row_is_padded(alice):
    import_file(alice, SOLIDTIME / "clockify_time_entries_import_test_7.csv", timezone="Europe/Vienna", date_order="MDY")
    entry = TimeEntry.objects.get()
    assert (entry.project.name, entry.project.client_id, entry.notes) == ("Project A", None, "Working hard")
    assert Client.objects.count() == 0


def test_harvest_export_all_time_decimal_comma_hours(alice):
    preview = preview_file(alice, SOLIDTIME / "harvest_time_entries_import_test_1.csv", timezone="Europe/Vienna")
    assert preview.format_name == "harvest"
    assert "Billable Rate" not in preview.ignored_columns
    import_file(alice, SOLIDTIME / "harvest_time_entries_import_test_1.csv", timezone="Europe/Vienna")
    assert [
        (e.notes, e.start, e.end, e.billable, e.task.name if e.task_id else None)
        for e in TimeEntry.objects.order_by("-duration_seconds")
    ] == [
        ("", utc("2024-03-03 23:00:00"), utc("2024-03-04 19:00:00"), False, None),
        ("Working hard", utc("2024-03-03 23:00:00"), utc("2024-03-03 23:00:36"), True, "Task 1"),
    ]
    assert Tag.objects.count() == 0


def test_toggl_japanese_locale_billable_and_names(bob):
    import_file(bob, SAMPLES_DIR / "toggl" / "toggl_detailed_ja_locale.csv", timezone="Asia/Tokyo")
    entries = list(TimeEntry.objects.order_by("start"))
    assert [(e.start, e.end, e.duration_seconds, e.billable, e.project.name, e.project.client.name) for e in entries] == [
        (utc("2014-06-22 15:00:00"), utc("2014-06-22 23:00:00"), 28800, False, "生活", "第3領域"),
        (utc("2014-06-23 01:00:00"), utc("2014-06-23 13:00:00"), 43200, False, "娯楽", "第4領域"),
    ]


def test_unknown_billable_word_is_a_row_error(bob):
    data = b"project_name,start_time,end_time,billable\nWeb,2024-03-04 09:00,2024-03-04 10:00,vielleicht\n"
    data_import = import_file(bob, data)
    assert data_import.row_errors == [
        {"line": 2, "column": "billable", "value": "vielleicht",
         "message": "not a yes/no value (use true/false, yes/no or 1/0)"}
    ]


@pytest.mark.parametrize("name", ["clockify_projects_import_test_1.csv", "harvest_clients_import_test_1.csv"])
def test_files_that_are_not_time_entries_are_refused_with_the_reason(alice, name):
    from imports.services import ImportFileError

    with pytest.raises(ImportFileError) as error:
        preview_file(alice, SOLIDTIME / name)
    assert str(error.value).startswith("No known header row found (the first line reads")
