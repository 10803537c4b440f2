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


def assert_clear_answer(response) -> None:
    assert response.status_code in (200, 202, 400), response.content[:300]
    body = response.json()
    if response.status_code == 400:
        assert body["success"] is False and body["error"]
    elif "preview" in body:
        assert body["preview"]["errors"], "a file that cannot be imported as is must show its errors"
    else:
        assert body["status"] in ("completed_with_errors", "failed"), body


@pytest.mark.parametrize("content", list(HOSTILE.values()), ids=list(HOSTILE))
@pytest.mark.parametrize("preview", ["1", "0"])
def test_v1_api(client, alice, api_token, settings, content, preview):
    settings.MAX_UPLOAD_SIZE = 20 * 1024 * 1024
    raw = api_token(alice, "write:time_entries")
    response = client.post(
        f"/api/v1/time-entries/import-csv?preview={preview}", content, content_type="text/csv",
        HTTP_AUTHORIZATION=f"Bearer {raw}",
    )
    assert_clear_answer(response)
    assert TimeEntry.objects.count() == 0


@pytest.mark.parametrize("content", list(HOSTILE.values()), ids=list(HOSTILE))
@pytest.mark.parametrize("preview", ["1", "0"])
def test_session_endpoint(alice, settings, content, preview):
    settings.MAX_UPLOAD_SIZE = 20 * 1024 * 1024
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    client.get("/import-export/")
    response = client.post(
        "/api/import/csv",
        {"file": SimpleUploadedFile("hostile.csv", content), "preview": preview},
        HTTP_X_CSRFTOKEN=client.cookies["csrftoken"].value,
    )
    assert_clear_answer(response)
    assert TimeEntry.objects.count() == 0
    assert not DataImport.objects.filter(status="completed").exists()
