"""Behaviour of the CSV import service: file-level errors, time zones and DST, date order,
validate-then-write, re-import and resumable runs."""

import io
import json
from datetime import UTC, datetime

import pytest

from conftest import CASES_DIR
from imports.selectors import data_imports_visible_to
from imports.services import (
    CsvImportOptions,
    ImportFileError,
    RowError,
    UploadTooLarge,
    csv_import_create,
    csv_import_run,
    csv_rows_store,
    csv_text_store,
    csv_upload_store,
)
from imports.tests.factories import FileUpload, import_file, preview_file
from timetracker.models import Client, TimeEntry

HEADER = "project_name,client_name,task_name,start_time,end_time,duration_hours,notes,tags,billable\n"


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def template(*rows: str) -> bytes:
    return (HEADER + "".join(row + "\n" for row in rows)).encode()


def test_row_error_text_and_dict():
    error = RowError(line=7, column="start_time", value="2024-13-01", message="not a valid date")
    assert str(error) == 'line 7, column "start_time", value "2024-13-01": not a valid date'
    assert error.as_dict() == {"line": 7, "column": "start_time", "value": "2024-13-01", "message": "not a valid date"}


def test_upload_over_the_limit_is_refused_and_not_kept(alice, settings, private_storage):
    settings.MAX_UPLOAD_SIZE = 1024
    with pytest.raises(UploadTooLarge) as error:
        csv_upload_store(user=alice, uploaded_file=FileUpload(b"x" * 1025))
    assert str(error.value) == "The file is larger than the upload limit of 1 KB."

    class Unsized:  # a stream that does not say its size: counted while copying
        def __init__(self):
            self.stream = io.BytesIO(b"y" * 5000)

        def read(self, size):
            return self.stream.read(size)

    with pytest.raises(UploadTooLarge):
        csv_upload_store(user=alice, uploaded_file=Unsized())
    assert list((private_storage / "imports").rglob("*.csv")) == []


def test_text_and_json_rows_are_stored_as_template_csv(alice, private_storage):
    stored = csv_rows_store(
        user=alice,
        rows=[{"project_name": "Web", "start_time": "2024-03-04 09:00", "end_time": "2024-03-04 10:00", "tags": ["a", "b"], "billable": True}],
    )
    assert (private_storage / stored).read_text() == (
        HEADER + "Web,,,2024-03-04 09:00,2024-03-04 10:00,,,a;b,true\n"
    )
    # Unknown keys are columns of their own, ignored and listed by the import.
    stored = csv_rows_store(user=alice, rows=[{"project_name": "Web", "invoice": "R-1"}, {"project": "Web"}])
    assert (private_storage / stored).read_text() == (
        HEADER.rstrip("\n") + ",invoice,project\nWeb,,,,,,,,,R-1,\n,,,,,,,,,,Web\n"
    )
    with pytest.raises(ImportFileError):
        csv_text_store(user=alice, text="   ")


@pytest.mark.parametrize(
    "data,message",
    [
        (b"PK\x03\x04\x00\x00binary", "The file is not a CSV text file (it contains binary data)."),
        (b"project_name,start_time\nCaf\x81\xff\xfe,2024-01-01\n" + b"\x81" * 3,
         "The file cannot be decoded as UTF-8 or Windows-1252 text; save it as CSV UTF-8."),
        (b"\xff\xfe" + b"\x00\xd8" * 10,
         "The file starts like UTF-16 text but cannot be decoded as such; save it as CSV UTF-8."),
        (b'project_name,start_time\nWeb,"' + b"x" * (10 * 1024 * 1024 + 1) + b'"\n',
         "The file is not readable CSV at line 2: field larger than field limit (10485760)."),
        (b"name,color\nWeb,red\n",
         (
             'No known header row found (the first line reads "name,color"). Expected our template (project_name, '
             "client_name, task_name, start_time, end_time, duration_hours, notes, tags, billable) or a Toggl, "
             "Clockify or Harvest detailed report CSV."
         )),
    ],
)
def test_files_that_cannot_be_read_give_a_reason(alice, data, message):
    with pytest.raises(ImportFileError) as error:
        preview_file(alice, data)
    assert str(error.value) == message


def test_unknown_timezone_and_date_order_are_refused(alice):
    with pytest.raises(ImportFileError, match='Unknown timezone "Mars/Base"'):
        preview_file(alice, template("Web,,,2024-03-04 09:00,2024-03-04 10:00,,,,"), timezone="Mars/Base")
    with pytest.raises(ImportFileError, match='Unknown date order "DYM"'):
        preview_file(alice, template("Web,,,2024-03-04 09:00,2024-03-04 10:00,,,,"), date_order="DYM")


def test_template_defaults_client_to_project_and_reads_profile_timezone(alice):
    data_import = import_file(alice, template("Web,,,2024-07-01 09:00:00,,1.5,Notes,x;y,yes"))
    assert data_import.options["timezone"] == "Europe/Berlin"
    entry = TimeEntry.objects.get()
    assert (entry.start, entry.end, entry.duration_seconds) == (utc("2024-07-01 07:00"), utc("2024-07-01 08:30"), 5400)
    assert (entry.project.name, entry.project.client.name, entry.billable) == ("Web", "Web", True)
    assert sorted(entry.tags.values_list("name", flat=True)) == ["x", "y"]
    assert (entry.source_system, len(entry.source_id)) == ("csv", 42)


def test_offsets_in_the_file_win_over_the_timezone(alice):
    import_file(alice, template("Web,,,2024-07-01T09:00:00-04:00,2024-07-01T15:00:00Z,,,,"), timezone="Asia/Tokyo")
    entry = TimeEntry.objects.get()
    assert (entry.start, entry.end, entry.duration_seconds) == (utc("2024-07-01 13:00"), utc("2024-07-01 15:00"), 7200)


def test_end_before_start_across_offsets_is_an_error(alice):
    data_import = import_file(alice, template("Web,,,2024-07-01T09:00:00-04:00,2024-07-01T10:00:00Z,,,,"))
    assert data_import.row_errors == [
        {"line": 2, "column": "end_time", "value": "2024-07-01T10:00:00Z",
         "message": "End (2024-07-01 10:00) is before start (2024-07-01 09:00)"}
    ]


FOLD_0230 = (
    "2024-10-27 02:30 happens twice in Europe/Berlin (clocks go back); add a UTC offset or a duration to tell which one"
)


def test_dst_gap_and_fold_are_row_errors_unless_a_duration_settles_them(alice):
    rows = template(
        "Web,,,2024-03-31 02:30,2024-03-31 04:00,,gap,,",  # 02:30 does not exist in Berlin
        "Web,,,2024-10-27 02:30,2024-10-27 02:45,,fold,,",  # 02:30 happens twice
        "Web,,,2024-10-27 02:30,2024-10-27 02:15,0.75,fold settled,,",  # only CEST 02:30 -> CET 02:15 lasts 45 min
        "Web,,,2024-10-27 01:30,2024-10-27 02:10,1.67,fold end settled,,",  # 100 min: the second 02:10
        "Web,,,2024-10-27 02:30,2024-10-27 02:15,1,too vague,,",  # whole hours cannot tell 45 min apart
    )
    preview = preview_file(alice, rows, timezone="Europe/Berlin")
    assert [str(e) for e in preview.errors] == [
        'line 2, column "start_time", value "2024-03-31 02:30": 2024-03-31 02:30 does not exist in Europe/Berlin (clocks go forward)',
        f'line 3, column "start_time", value "2024-10-27 02:30": {FOLD_0230}',
        f'line 6, column "start_time", value "2024-10-27 02:30": {FOLD_0230}',
    ]
    settled = {row["notes"]: (row["start_time"], row["end_time"]) for row in preview.sample_rows}
    assert settled == {
        "fold settled": ("2024-10-27T00:30:00+00:00", "2024-10-27T01:15:00+00:00"),
        "fold end settled": ("2024-10-26T23:30:00+00:00", "2024-10-27T01:10:00+00:00"),
    }


def test_a_duration_settles_a_nonexistent_end_as_it_does_a_nonexistent_start(alice):
    rows = template(
        "Web,,,2024-03-31 02:30,2024-03-31 04:00,0.5,start in the gap,,",
        "Web,,,2024-03-31 01:30,2024-03-31 02:30,0.5,end in the gap,,",
        "Web,,,2024-03-31 01:30,2024-03-31 02:30,2,too long for the gap,,",
    )
    preview = preview_file(alice, rows, timezone="Europe/Berlin")
    assert [str(e) for e in preview.errors] == [
        'line 4, column "end_time", value "2024-03-31 02:30": 2024-03-31 02:30 does not exist in Europe/Berlin (clocks go forward)',
    ]
    settled = {row["notes"]: (row["start_time"], row["end_time"]) for row in preview.sample_rows}
    assert settled == {
        "start in the gap": ("2024-03-31T01:30:00+00:00", "2024-03-31T02:00:00+00:00"),
        "end in the gap": ("2024-03-31T00:30:00+00:00", "2024-03-31T01:00:00+00:00"),
    }


def test_date_order_detected_from_the_data_or_asked_for(alice):
    dmy = b"Date,Project,Hours\n03/04/2024,Web,1\n25/04/2024,Web,2\n"
    preview = preview_file(alice, dmy, timezone="UTC")
    assert (preview.date_order, preview.date_order_detected, preview.needs_date_order) == ("DMY", True, False)
    assert [r["start_time"] for r in preview.sample_rows] == ["2024-04-03T00:00:00+00:00", "2024-04-25T00:00:00+00:00"]

    dotted = b"Date,Project,Hours\n03.04.2024,Web,1\n"
    assert preview_file(alice, dotted, timezone="UTC").date_order == "DMY"

    ambiguous = b"Date,Project,Hours\n03/04/2024,Web,1\n"
    preview = preview_file(alice, ambiguous, timezone="UTC")
    assert (preview.date_order, preview.needs_date_order) == (None, True)
    # Undecided: the date as written, not one reading of it.
    assert [(r["start_time"], r["end_time"], r["duration_seconds"]) for r in preview.sample_rows] == [
        ("03/04/2024", "", 3600)
    ]
    assert preview.warnings[0] == "The dates fit both day/month and month/day order; choose the date order before importing."
    chosen = preview_file(alice, ambiguous, timezone="UTC", date_order="MDY")
    assert (chosen.date_order, chosen.date_order_detected, chosen.sample_rows[0]["start_time"]) == (
        "MDY", False, "2024-03-04T00:00:00+00:00",
    )


def test_a_start_that_is_not_a_date_is_a_row_error_not_a_date_order_question(alice):
    data = template(
        "Web,,,2024-03-04 09:00:00,2024-03-04 10:00:00,,a,,",
        "Web,,,2024-03-04 10:00:00,2024-03-04 11:00:00,,b,,",
        "Web,,,2024-03-04 11:00:00,2024-03-04 12:00:00,,c,,",
        "Web,,,bad,,,,,",
    )
    preview = preview_file(alice, data, timezone="UTC", skip_invalid=True)
    assert (preview.date_order, preview.date_order_detected, preview.needs_date_order) == ("YMD", True, False)
    assert [str(e) for e in preview.errors] == [
        'line 5, column "start_time", value "bad": not a date (expected e.g. 2024-03-04, 04.03.2024 or 03/04/2024)'
    ]
    data_import = import_file(alice, data, timezone="UTC", skip_invalid=True)
    assert (data_import.status, data_import.created_records, data_import.failed_records) == (
        "completed_with_errors", 3, 1,
    )
    assert sorted(TimeEntry.objects.values_list("notes", flat=True)) == ["a", "b", "c"]


def test_a_row_with_another_delimiter_is_reported_by_its_cell_count(alice):
    data = template(
        "Web;;;2024-03-04 09:00;2024-03-04 10:00;;semicolons;;",
        "Web,,,2024-03-04 10:00,2024-03-04 11:00",  # trailing empty cells left out: fine
        "Web,,,2024-03-04 11:00,2024-13-04 12:00",  # short too, but its error is its own
    )
    preview = preview_file(alice, data, timezone="UTC")
    assert [str(e) for e in preview.errors] == [
        'line 2: 1 cell(s), the header has 9 columns (the row seems to be separated by ";" instead of ",")',
        'line 4, column "end_time", value "2024-13-04 12:00": not a valid date in year-month-day order',
    ]
    assert preview.errors[0].as_dict() == {
        "line": 2,
        "column": "",
        "value": "Web;;;2024-03-04 09:00;2024-03-04 10:00;;semicolons;;",
        "message": '1 cell(s), the header has 9 columns (the row seems to be separated by ";" instead of ",")',
    }
    assert (preview.total_rows, preview.would_create) == (3, 1)


def test_a_quote_that_is_never_closed_is_a_file_error_naming_where_it_opens(alice):
    data = template(
        'Web,,,2024-03-04 09:00,2024-03-04 10:00,,"unterminated,,',
        "Web,,,2024-03-04 10:00,2024-03-04 11:00,,b,,",
        "Web,,,2024-03-04 11:00,2024-03-04 12:00,,c,,",
    )
    message = (
        'line 2, column "notes": a quoted value is never closed, so everything after its opening quote would be '
        "read into this cell. Close or remove the quote and upload the file again."
    )
    with pytest.raises(ImportFileError) as error:
        preview_file(alice, data)
    assert str(error.value) == message
    data_import = import_file(alice, data, skip_invalid=True)
    assert (data_import.status, data_import.status_message, TimeEntry.objects.count()) == ("failed", message, 0)


def test_undecided_preview_leaves_out_a_duration_that_depends_on_the_date_order(alice):
    header = "Project,Description,Start date,Start time,End date,End time\n"
    data = (header + "Web,span,03/04/2024,09:00,04/04/2024,10:00\n").encode()
    preview = preview_file(alice, data, timezone="UTC")
    assert preview.needs_date_order is True
    # Day first it lasts a day and an hour, month first a month and an hour.
    assert [(r["start_time"], r["end_time"], r["duration_seconds"]) for r in preview.sample_rows] == [
        ("03/04/2024 09:00", "04/04/2024 10:00", None)
    ]


def test_any_invalid_row_writes_nothing_and_the_message_counts_them(alice):
    data = template(
        "Web,,,2024-03-04 09:00,2024-03-04 10:00,,ok,,",
        "Web,,,2024-13-01 09:00,2024-03-04 10:00,,bad month,,",
        ",,,2024-03-04 09:00,2024-03-04 10:00,,no project,,",
    )
    data_import = import_file(alice, data)
    assert data_import.status == "failed"
    assert data_import.status_message == "Nothing was imported: 2 of 3 rows are invalid."
    assert data_import.row_errors == [
        {"line": 3, "column": "start_time", "value": "2024-13-01 09:00", "message": "not a valid date in year-month-day order"},
        {"line": 4, "column": "project_name", "value": "", "message": "a project is required"},
    ]
    assert (data_import.failed_records, TimeEntry.objects.count()) == (2, 0)

    skipped = import_file(alice, data, skip_invalid=True)
    assert (skipped.status, skipped.created_records, skipped.failed_records, skipped.successful_records) == (
        "completed_with_errors", 1, 2, 1,
    )
    assert list(TimeEntry.objects.values_list("notes", flat=True)) == ["ok"]


def test_dry_run_counts_but_writes_nothing(alice):
    data_import = import_file(alice, template("Web,,,2024-03-04 09:00,2024-03-04 10:00,,,,"), dry_run=True)
    assert (data_import.status, data_import.created_records, data_import.status_message) == (
        "completed", 1, "Checked (dry run): 1 created, 0 updated, 0 unchanged.",
    )
    assert TimeEntry.objects.count() == 0


def test_export_layout_updates_by_id_only_for_the_owner(alice, bob):
    import_file(alice, template("Web,Acme,,2024-03-04 09:00,2024-03-04 10:00,,old note,,true"))
    entry = TimeEntry.objects.get(owner=alice)
    export = (
        "id,user_email,project_name,client_name,task_name,start_time,end_time,duration_hours,notes,tags,billable\n"
        f"{entry.pk},alice@example.com,Web,Acme,,2024-03-04T08:00:00+00:00,2024-03-04T09:30:00+00:00,1.50,new note,t1,false\n"
    ).encode()
    updated = import_file(alice, export)
    assert (updated.created_records, updated.updated_records) == (0, 1)
    entry.refresh_from_db()
    assert (entry.notes, entry.billable, entry.end, entry.duration_seconds) == ("new note", False, utc("2024-03-04 09:30"), 5400)
    assert list(entry.tags.values_list("name", flat=True)) == ["t1"]

    # bob (not staff) importing alice's export gets his own new entry; alice's is untouched.
    into_bob = import_file(bob, export)
    assert (into_bob.created_records, into_bob.updated_records) == (1, 0)
    assert TimeEntry.objects.filter(owner=bob).count() == 1
    entry.refresh_from_db()
    assert entry.notes == "new note"


def test_admin_imports_for_other_users_by_email(charlie, alice):
    data = (
        b"id,user_email,project_name,client_name,task_name,start_time,end_time,duration_hours,notes,tags,billable\n"
        b",alice@example.com,Web,Acme,,2024-03-04T08:00:00Z,2024-03-04T09:00:00Z,,for alice,,true\n"
        b",nobody@example.com,Web,Acme,,2024-03-04T08:00:00Z,2024-03-04T09:00:00Z,,for nobody,,true\n"
    )
    data_import = import_file(charlie, data, skip_invalid=True)
    assert data_import.row_errors == [
        {"line": 3, "column": "user_email", "value": "nobody@example.com", "message": "no user has this e-mail address"}
    ]
    assert list(TimeEntry.objects.values_list("owner__username", "notes")) == [("alice", "for alice")]


def test_running_twice_and_resuming_after_a_stop(alice, settings):
    settings.IMPORT_CSV_BATCH_SIZE = 2
    rows = [f"Web,,,2024-03-04 {9 + n:02d}:00,2024-03-04 {9 + n:02d}:30,,row {n},,yes" for n in range(5)]
    stored = csv_text_store(user=alice, text=template(*rows).decode())
    data_import = csv_import_create(
        user=alice, stored_file=stored, source_file_name="five.csv", options=CsvImportOptions(), enqueue=False
    )
    stopped = csv_import_run(data_import_id=data_import.pk, stop_after_batches=1)
    # As after a crash: one batch committed with its checkpoint, progress visible.
    assert (stopped.status, stopped.processed_records, stopped.created_records, stopped.total_records) == (
        "processing", 2, 2, 5,
    )
    assert stopped.checkpoint["batches"] == 1
    assert stopped.checkpoint["counts"] == {"created": 2, "updated": 0, "unchanged": 0, "failed": 0, "processed": 2}
    assert TimeEntry.objects.count() == 2

    finished = csv_import_run(data_import_id=data_import.pk)
    assert (finished.status, finished.created_records, finished.processed_records, finished.successful_records) == (
        "completed", 5, 5, 5,
    )
    assert sorted(TimeEntry.objects.values_list("notes", flat=True)) == [f"row {n}" for n in range(5)]
    assert finished.started_at <= finished.finished_at

    again = csv_import_run(data_import_id=data_import.pk)
    assert (again.status, again.created_records, TimeEntry.objects.count()) == ("completed", 5, 5)


def test_selector_shows_own_imports_and_all_to_staff(alice, bob, charlie):
    mine = import_file(alice, template("Web,,,2024-03-04 09:00,2024-03-04 10:00,,,,"))
    theirs = import_file(bob, template("Web,,,2024-03-04 09:00,2024-03-04 10:00,,,,"))
    assert list(data_imports_visible_to(user=alice)) == [mine]
    assert list(data_imports_visible_to(user=bob)) == [theirs]
    assert set(data_imports_visible_to(user=charlie)) == {mine, theirs}


def test_preview_is_json_serialisable(alice):
    preview = preview_file(alice, template("Web,,,2024-03-04 09:00,2024-03-04 10:00,,,,", "x"))
    data = json.loads(json.dumps(preview.as_dict()))
    assert data["errors"][0]["line"] == 3
    assert (data["format_name"], data["would_create"], data["total_rows"]) == ("template", 1, 2)


def test_a_nul_byte_anywhere_makes_the_file_not_csv(alice):
    data = template(*["Web,,,2024-03-04 09:00,2024-03-04 10:00,,x,,"] * 3000) + b"Web,,,2024-03-04 09:00,,1,a\x00b,,\n"
    assert len(data) > 64 * 1024
    with pytest.raises(ImportFileError, match=r"^The file is not a CSV text file \(it contains binary data\)\.$"):
        preview_file(alice, data)


def test_out_of_range_years_and_durations_are_row_errors(alice):
    data = template(
        "Web,,,0001-01-01 00:00,0001-01-01 01:00,,year one,,",
        "Web,,,2024-03-04 09:00,,99999999999999999,forever,,",
        "Web,,,1999-03-04 09:00,2199-03-04 10:00,,two centuries,,",
    )
    preview = preview_file(alice, data, timezone="Asia/Tokyo")
    assert [str(e) for e in preview.errors] == [
        'line 2, column "start_time", value "0001-01-01 00:00": the year must be between 1900 and 2200',
        'line 2, column "end_time", value "0001-01-01 01:00": the year must be between 1900 and 2200',
        'line 3, column "duration_hours", value "99999999999999999": longer than a time entry can be (68 years)',
        'line 4, column "end_time", value "2199-03-04 10:00": start and end are further apart than a time entry can be (68 years)',
    ]


def test_unknown_columns_are_ignored_and_listed_and_currency_named(alice):
    preview = preview_file(alice, CASES_DIR / "01_utf8_bom_toggl_header.csv")
    assert (preview.currency, preview.ignored_columns) == ("EUR", [])
    data = b"project_name,start_time,end_time,Mood,notes\nWeb,2024-03-04 09:00,2024-03-04 10:00,happy,x\n"
    preview = preview_file(alice, data)
    assert (preview.ignored_columns, preview.total_rows, preview.errors) == (["Mood"], 1, [])


def test_names_are_unicode_normalised_so_one_client_stays_one(alice):
    composed, decomposed = "M\u00fcller", "Mu\u0308ller"
    data = template(
        f"Web,{composed},,2024-03-04 09:00,2024-03-04 10:00,,a,,",
        f"Web,{decomposed},,2024-03-04 10:00,2024-03-04 11:00,,b,,",
    )
    import_file(alice, data)
    assert list(Client.objects.values_list("name", flat=True)) == [composed]
    assert TimeEntry.objects.filter(project__client__name=composed).count() == 2


def test_duration_column_disagreeing_is_a_warning_then_an_error(alice):
    header = "User,Email,Client,Project,Task,Description,Billable,Start date,Start time,End date,End time,Duration,Tags\n"
    data = (
        header
        + "A,a@example.com,Acme,Web,,rounded,Yes,2024-03-04,10:00:00,2024-03-04,10:52:00,01:00:00,\n"
        + "A,a@example.com,Acme,Web,,am pm mixup,Yes,2024-03-04,00:10:00,2024-03-04,12:35:00,00:25:00,\n"
    ).encode()
    preview = preview_file(alice, data, timezone="UTC")
    assert "line 2: the Duration cell (01:00:00) differs from start/end (00:52:00)" in preview.warnings
    assert [str(e) for e in preview.errors] == [
        'line 3, column "Duration", value "00:25:00": start and end are 12:25:00 apart, which does not match this duration'
    ]


def test_an_h_mm_duration_is_hours_and_minutes(alice):
    data_import = import_file(alice, template("Web,,,2024-03-04 09:00,,1:30,,,"), timezone="UTC")
    assert (data_import.status, data_import.created_records) == ("completed", 1)
    entry = TimeEntry.objects.get()
    assert (entry.start, entry.end, entry.duration_seconds) == (utc("2024-03-04 09:00"), utc("2024-03-04 10:30"), 5400)


def test_clock_times_without_end_dates_cross_midnight(alice):
    data = b"Date,Project,Notes,Hours,Started At,Ended At\n2024-03-04,Ops,late deploy,2,11:00pm,1:00am\n"
    import_file(alice, data, timezone="UTC")
    entry = TimeEntry.objects.get()
    assert (entry.start, entry.end, entry.duration_seconds) == (utc("2024-03-04 23:00"), utc("2024-03-05 01:00"), 7200)


def test_utf16_text_from_excel_is_read(alice):
    data = "project_name\tstart_time\tend_time\nCafé\t2024-03-04 09:00\t2024-03-04 10:00\n".encode("utf-16")
    preview = preview_file(alice, data, timezone="UTC")
    assert (preview.encoding, preview.delimiter, preview.sample_rows[0]["project_name"]) == ("utf-16", "\t", "Café")
    assert preview.format_label == "TimeTracker template"


def test_an_offset_out_of_range_is_named_not_pythons_message(alice):
    preview = preview_file(alice, template("Web,,,2024-03-04 09:00:00+25:00,2024-03-04 10:00:00Z,,,,"))
    assert [str(e) for e in preview.errors] == [
        'line 2, column "start_time", value "2024-03-04 09:00:00+25:00": the UTC offset +25:00 is out of range'
    ]


def test_a_harvest_row_without_hours_names_the_hours_column(alice):
    preview = preview_file(alice, b"Date,Project,Hours\n2024-03-04,Web,\n", timezone="UTC")
    assert [e.as_dict() for e in preview.errors] == [
        {"line": 2, "column": "Hours", "value": "", "message": "a duration is required"}
    ]


def test_dates_that_fit_neither_order_say_so_and_where(alice):
    data = b"Date,Project,Hours\n04/25/2024,Web,1\n25/04/2024,Web,1\n"
    preview = preview_file(alice, data, timezone="UTC")
    assert preview.needs_date_order is True
    assert preview.warnings[0] == (
        "The dates fit neither day/month nor month/day order throughout: line 3 only day/month, "
        "line 2 only month/day; choose the date order before importing."
    )
    data_import = import_file(alice, data, timezone="UTC")
    assert (data_import.status, data_import.status_message) == (
        "failed",
        (
            "Nothing was imported: the dates fit neither day/month nor month/day order throughout: line 3 only "
            "day/month, line 2 only month/day. Choose the date order (DMY, MDY or YMD) and import again."
        ),
    )


def test_rows_that_differ_in_billable_are_not_called_identical(alice):
    rows = template(
        "Web,,,2024-03-04 09:00,2024-03-04 10:00,,same,,true",
        "Web,,,2024-03-04 09:00,2024-03-04 10:00,,same,,false",
        "Web,,,2024-03-05 09:00,2024-03-05 10:00,,twin,,true",
        "Web,,,2024-03-05 09:00,2024-03-05 10:00,,twin,,true",
    )
    preview = preview_file(alice, rows, timezone="UTC")
    assert preview.warnings == [
        "2 rows differ only in billable: lines 2 and 3 (all are imported)",
        "2 identical rows: lines 4 and 5 (all are imported)",
    ]


def test_text_lines_before_the_header_are_listed_like_blank_lines(alice):
    data = b"Detailed report\nExported 2024-03-05\n\n" + template("Web,,,2024-03-04 09:00,2024-03-04 10:00,,,,")
    preview = preview_file(alice, data, timezone="UTC")
    assert (preview.total_rows, preview.errors) == (1, [])
    assert preview.warnings == [
        "1 blank lines ignored (lines 3)",
        "2 lines before the header row ignored (lines 1, 2)",
    ]


@pytest.mark.parametrize(
    ("cell", "seconds"),
    [("90 min", 5400), ("90 m", 5400), ("45m", 2700), ("2 h", 7200), ("1.5 h", 5400), ("1h 30m", 5400),
     ("1h30m", 5400), ("1 hr 5 mins", 3900)],
)
def test_durations_with_units(alice, cell, seconds):
    preview = preview_file(alice, template(f"Web,,,2024-03-04 09:00,,{cell},,,"), timezone="UTC")
    assert (preview.errors, preview.sample_rows[0]["duration_seconds"]) == ([], seconds)


def test_a_duration_with_units_still_checks_its_minutes(alice):
    preview = preview_file(alice, template("Web,,,2024-03-04 09:00,,1h 75m,,,"), timezone="UTC")
    assert [str(e) for e in preview.errors] == ['line 2, column "duration_hours", value "1h 75m": minutes must be below 60']
