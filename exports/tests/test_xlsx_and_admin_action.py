"""XLSX export read back with openpyxl (req. 4, 10) and the TimeEntry admin action (req. 8)."""

import csv
import io
from decimal import Decimal

from openpyxl import load_workbook

from conftest import CASES_DIR, make_user
from exports.models import DataExport
from timetracker.models import TimeEntry

from .factories import at, entry
from .test_csv_layout import entries_from_case_13


def read_sheet(body: bytes):
    workbook = load_workbook(io.BytesIO(body))
    assert workbook.sheetnames == ["Time entries"]
    return workbook["Time entries"]


def expected_case_13_rows(created) -> list[list[str]]:
    """The case's expected CSV cells, with the ids of the database."""
    text = (CASES_DIR / "13_csv_formula_injection_export.expected_output.csv").read_bytes().decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    for row, created_entry in zip(rows[1:], created, strict=True):
        row[0] = str(created_entry.pk)
    return rows


def test_xlsx_cells_match_case_13_and_nothing_is_a_formula(db, login, filtered_export):
    owner = make_user("owner", timezone="UTC")
    created = entries_from_case_13(owner)

    status, body = filtered_export(login(owner), format="xlsx")

    sheet = read_sheet(body)
    expected = expected_case_13_rows(created)
    cells = [list(row) for row in sheet.iter_rows()]
    assert len(cells) == 8 and status["record_count"] == 7
    for row_cells, expected_row in zip(cells, expected, strict=True):
        for cell, want in zip(row_cells, expected_row, strict=True):
            assert cell.data_type != "f", cell.coordinate
            if cell.column_letter == "A" and cell.row > 1:
                assert (cell.value, cell.data_type) == (int(want), "n")
            elif cell.column_letter == "H" and cell.row > 1:
                assert (cell.value, cell.data_type, cell.number_format) == (float(Decimal(want)), "n", "0.00")
            else:
                assert (cell.value or "") == want, cell.coordinate
                if cell.value is not None:
                    assert cell.data_type == "s", cell.coordinate


def test_xlsx_replaces_characters_xml_cannot_hold(alice, login, filtered_export):
    entry(alice, start=at("2024-01-01 09:00"), end=at("2024-01-01 10:00"), notes="bell\x07here")

    _, body = filtered_export(login(alice), format="xlsx")

    assert read_sheet(body)["I2"].value == "bell\ufffdhere"


def test_admin_action_exports_selected_entries_as_csv_and_xlsx(alice, bob, charlie, login):
    chosen = entry(alice, start=at("2024-01-01 09:00"), end=at("2024-01-01 10:00"), notes="+chosen")
    other = entry(bob, start=at("2024-01-02 09:00"), end=at("2024-01-02 10:00"), notes="chosen too")
    entry(alice, start=at("2024-01-03 09:00"), end=at("2024-01-03 10:00"), notes="not selected")
    http = login(charlie)
    changelist = "/admin/timetracker/timeentry/"
    assert "Export selected time entries (CSV)" in http.get(changelist).content.decode()

    response = http.post(
        changelist,
        {"action": "export_selected_time_entries_csv", "_selected_action": [chosen.pk, other.pk]},
    )
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    body = b"".join(response.streaming_content).decode("utf-8")
    assert body == (
        "\ufeffid,user_email,project_name,client_name,task_name,start_time,end_time,duration_hours,notes,tags,billable\r\n"
        f"{chosen.pk},alice@example.com,Website,Acme,,2024-01-01T10:00:00+01:00,2024-01-01T11:00:00+01:00,1.00,"
        "'+chosen,,true\r\n"
        f"{other.pk},bob@example.com,Website,Acme,,2024-01-02T09:00:00+00:00,2024-01-02T10:00:00+00:00,1.00,"
        "chosen too,,true\r\n"
    )  # fmt: skip
    export = DataExport.objects.get(export_format="csv")
    assert (export.owner, export.status, export.record_count) == (charlie, "completed", 2)
    assert export.filters == {"source": "admin selection", "selected": 2, "ids": sorted([chosen.pk, other.pk])}

    response = http.post(
        changelist, {"action": "export_selected_time_entries_xlsx", "_selected_action": [chosen.pk]}
    )
    sheet = read_sheet(b"".join(response.streaming_content))
    assert [cell.value for cell in sheet[2]][:3] == [chosen.pk, "alice@example.com", "Website"]
    assert sheet["I2"].value == "'+chosen"
    assert sheet.max_row == 2
    assert TimeEntry.objects.count() == 3
