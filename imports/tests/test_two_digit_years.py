"""Dates with a two-digit year (`24-03-04`) are row errors under every date order: whether the
year is the first part or the last cannot be told, so it is never guessed."""

import pytest

from imports.models import DataImport
from timetracker.models import TimeEntry

URL = "/api/v1/time-entries/import-csv"
CSV_TEXT = "project_name,start_time,end_time\nWeb,24-03-04 09:00:00,24-03-04 10:00:00\n"
MESSAGE = (
    "the year has only two digits, so it cannot be told from the day or month; "
    "write it with four digits (e.g. 2024-03-04)"
)


def bearer(raw: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


@pytest.mark.parametrize("date_order", ["", "DMY", "MDY", "YMD"])
def test_two_digit_year_is_a_row_error_whatever_the_date_order(client, alice, api_token, date_order):
    raw = api_token(alice, "write:time_entries")
    response = client.post(
        f"{URL}?preview=true&date_order={date_order}", CSV_TEXT.encode(), content_type="text/csv", **bearer(raw)
    )
    preview = response.json()["preview"]
    assert preview["errors"] == [
        {"line": 2, "column": "start_time", "value": "24-03-04 09:00:00", "message": MESSAGE},
        {"line": 2, "column": "end_time", "value": "24-03-04 10:00:00", "message": MESSAGE},
    ]
    assert (preview["date_order"], preview["date_order_detected"]) == (date_order or None, False)


def test_import_of_a_two_digit_year_writes_nothing(client, alice, api_token):
    raw = api_token(alice, "write:time_entries")
    response = client.post(URL, CSV_TEXT.encode(), content_type="text/csv", **bearer(raw))
    assert response.json()["summary"]["errors"] == [
        f'line 2, column "start_time", value "24-03-04 09:00:00": {MESSAGE}',
        f'line 2, column "end_time", value "24-03-04 10:00:00": {MESSAGE}',
    ]
    assert DataImport.objects.get().status == "failed"
    assert TimeEntry.objects.count() == 0


def test_day_first_date_with_four_digit_year_is_still_read(client, alice, api_token):
    raw = api_token(alice, "write:time_entries")
    text = "project_name,start_time,end_time\nWeb,24.03.2004 09:00:00,24.03.2004 10:00:00\n"
    response = client.post(f"{URL}?preview=true", text.encode(), content_type="text/csv", **bearer(raw))
    preview = response.json()["preview"]
    assert (preview["errors"], preview["date_order"], preview["date_order_detected"]) == ([], "DMY", True)
    assert preview["sample_rows"][0]["start_time"] == "2004-03-24T08:00:00+00:00"
