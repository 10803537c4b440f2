"""Files that once crashed the import with a 500 get a JSON answer through every entry point
(the session endpoint and the v1 API, preview and import), and nothing is half-written."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from imports.models import DataImport
from timetracker.models import TimeEntry

HEADER = b"project_name,start_time,end_time,notes\n"
ROW = b"Web,2024-03-04 09:00,2024-03-04 10:00,x\n"
HOSTILE = {
    # a quoted cell over the csv module's 10 MB field limit
    "huge-field": HEADER + b'Web,2024-03-04 09:00,2024-03-04 10:00,"' + b"x" * (10 * 1024 * 1024 + 10) + b'"\n',
    # a UTF-16 byte order mark followed by lone surrogates
    "broken-utf16": b"\xff\xfe" + b"\x00\xd8" * 10,
    # a duration no datetime can hold
    "huge-duration": b"project_name,start_time,duration_hours\nWeb,2024-03-04 09:00,99999999999999999\n",
    # a NUL byte after the first 64 KB (PostgreSQL text cannot hold it)
    "late-nul": HEADER + ROW * 3000 + b"Web,2024-03-04 09:00,2024-03-04 11:00,a\x00b\n",
}


HUGE_DURATION_ERROR = (
    'line 2, column "duration_hours", value "99999999999999999": longer than a time entry can be (68 years)'
)
# (answer to a preview, answer to an import): a 400 message, or the row error / failed status.
EXPECTED = {
    # The upload check reads up to the first data row (a header alone is refused), so the import
    # is refused up front too instead of being queued to fail.
    "huge-field": ("The file is not readable CSV at line 2: field larger than field limit (10485760).",) * 2,
    "broken-utf16": ("The file starts like UTF-16 text but cannot be decoded as such; save it as CSV UTF-8.",) * 2,
    "huge-duration": (("row error", HUGE_DURATION_ERROR), ("failed", HUGE_DURATION_ERROR)),
    "late-nul": ("The file is not a CSV text file (it contains binary data).",) * 2,
}


def assert_clear_answer(response, expected) -> None:
    body = response.json()
    if isinstance(expected, str):
        assert response.status_code == 400, body
        assert body == {"success": False, "error": expected}
    elif expected[0] == "row error":
        assert response.status_code == 200, body
        errors = body["preview"]["errors"]
        assert [f'line {e["line"]}, column "{e["column"]}", value "{e["value"]}": {e["message"]}' for e in errors] == [
            expected[1]
        ]
    else:
        assert response.status_code in (200, 202), body
        assert body["status"] == "failed"
        assert body["summary"]["errors"] == ([expected[1]] if expected[1] else [])


@pytest.mark.parametrize("name", list(HOSTILE))
@pytest.mark.parametrize("preview", ["1", "0"])
def test_v1_api(client, alice, api_token, settings, name, preview):
    settings.MAX_UPLOAD_SIZE = 20 * 1024 * 1024
    raw = api_token(alice, "write:time_entries")
    response = client.post(
        f"/api/v1/time-entries/import-csv?preview={preview}", HOSTILE[name], content_type="text/csv",
        HTTP_AUTHORIZATION=f"Bearer {raw}",
    )
    assert_clear_answer(response, EXPECTED[name][preview == "0"])
    assert TimeEntry.objects.count() == 0


@pytest.mark.parametrize("name", list(HOSTILE))
@pytest.mark.parametrize("preview", ["1", "0"])
def test_session_endpoint(alice, settings, name, preview):
    settings.MAX_UPLOAD_SIZE = 20 * 1024 * 1024
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    client.get("/import-export/")
    response = client.post(
        "/api/import/csv",
        {"file": SimpleUploadedFile("hostile.csv", HOSTILE[name]), "preview": preview},
        HTTP_X_CSRFTOKEN=client.cookies["csrftoken"].value,
    )
    assert_clear_answer(response, EXPECTED[name][preview == "0"])
    assert TimeEntry.objects.count() == 0
    assert not DataImport.objects.filter(status="completed").exists()
