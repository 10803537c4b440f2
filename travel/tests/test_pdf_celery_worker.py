"""A large PDF export is built by a real Celery worker process."""

import io
import time

import pytest
from pypdf import PdfReader

from exports.models import DataExport

from .factories import make_per_diem


@pytest.mark.celery_worker
def test_worker_builds_large_per_diem_pdf(celery_worker, alice_client, alice, bob, settings):
    settings.TRAVEL_PDF_SYNC_MAX_ROWS = 1
    claims = [make_per_diem(alice, purpose=f"Audit {n}", city="Gdańsk") for n in range(3)]
    make_per_diem(bob, purpose="Bob audit")
    response = alice_client.get("/per-diem/export/pdf?search=audit")
    assert response.status_code == 302
    data_export = DataExport.objects.get()
    deadline = time.monotonic() + 60
    while data_export.status in ("pending", "processing") and time.monotonic() < deadline:
        time.sleep(0.2)
        data_export.refresh_from_db()
    assert data_export.status == "completed", celery_worker.log
    assert data_export.export_type == "per_diem" and data_export.record_count == 3
    assert data_export.file_name == "per_diem_export_2024-03-04_to_2024-03-06.pdf"
    body = b"".join(alice_client.get(f"/travel/exports/{data_export.pk}/download").streaming_content)
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(body)).pages)
    assert all(claim.purpose in text for claim in claims)
    assert "Bob audit" not in text and "Gdańsk, Germany" in text
