"""Blank lines before the header are skipped however many there are: the header search streams
the file line by line instead of reading a first chunk."""

from imports.models import DataImport
from timetracker.models import TimeEntry

URL = "/api/v1/time-entries/import-csv"
# More than the 256 KB the header search used to read (QA's file had 2,000,000).
BLANK_LINES = 300_000
HEADER_AND_ROW = b"project_name,start_time,end_time\nWeb,2024-03-04 09:00:00,2024-03-04 10:00:00\n"


def bearer(raw: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def test_300000_blank_lines_then_a_header_and_a_row_are_imported(client, alice, api_token):
    raw = api_token(alice, "write:time_entries")
    body = b"\n" * BLANK_LINES + HEADER_AND_ROW

    preview = client.post(f"{URL}?preview=true&timezone=UTC", body, content_type="text/csv", **bearer(raw))

    assert preview.status_code == 200, preview.content
    result = preview.json()["preview"]
    assert (result["total_rows"], result["would_create"], result["errors"]) == (1, 1, [])
    listed = ", ".join(str(n) for n in range(1, 101))
    assert result["warnings"] == [f"300000 blank lines ignored (lines {listed} and 299900 more)"]

    response = client.post(f"{URL}?timezone=UTC", body, content_type="text/csv", **bearer(raw))

    assert response.status_code == 202, response.content
    assert DataImport.objects.get().status == "completed"
    assert list(TimeEntry.objects.values_list("project__name", "start__hour", "duration_seconds")) == [("Web", 9, 3600)]


def test_a_file_of_blank_lines_only_is_still_empty(client, alice, api_token):
    raw = api_token(alice, "write:time_entries")
    response = client.post(URL, b"\r\n" * 300_000, content_type="text/csv", **bearer(raw))
    assert (response.status_code, response.json()) == (400, {"success": False, "error": "Empty CSV"})
