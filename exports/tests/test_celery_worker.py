"""The GDPR export is built by a real Celery worker (req. 2): pending, then a download link."""

import hashlib
import io
import time
import zipfile

import pytest

from exports.models import DataExport

from .factories import at, entry


@pytest.mark.celery_worker
def test_real_worker_builds_the_gdpr_zip(celery_worker, alice, login):
    for day in range(1, 4):
        entry(alice, start=at(f"2024-01-0{day} 09:00"), end=at(f"2024-01-0{day} 10:00"), notes=f"day {day}")
    http = login(alice)

    response = http.post("/api/export/gdpr", {"format": "zip"}, content_type="application/json")
    assert response.status_code == 202
    created = response.json()
    assert created["status"] == "pending" and created["download_url"] is None

    deadline = time.monotonic() + 30
    status = created
    while status["status"] in ("pending", "processing") and time.monotonic() < deadline:
        time.sleep(0.1)
        status = http.get(created["status_url"]).json()
    assert status["status"] == "completed", celery_worker.log
    assert status["progress_percent"] == 100
    assert status["processed_records"] == status["total_records"] == 2 * status["record_count"]

    body = b"".join(http.get(status["download_url"]).streaming_content)
    assert hashlib.sha256(body).hexdigest() == status["sha256"] == DataExport.objects.get().sha256
    entries_csv = zipfile.ZipFile(io.BytesIO(body)).read("time_entries.csv").decode("utf-8-sig")
    assert [line.split(",")[8] for line in entries_csv.split("\r\n")[1:-1]] == ["day 1", "day 2", "day 3"]
