"""DRF v1 equivalents (req. 8) with scope read:time_entries."""

import json
import zipfile
from datetime import timedelta
from io import BytesIO

from django.test import Client as HttpClient
from django.utils import timezone

from exports.models import DataExport

from .factories import at, entry


def bearer(raw: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def test_v1_gdpr_zip_flow_status_history_download(alice, bob, api_token):
    entry(alice, start=at("2024-01-01 09:00"), end=at("2024-01-01 10:00"))
    http = HttpClient()
    token = bearer(api_token(alice, "read:time_entries"))

    response = http.post("/api/v1/exports/gdpr", {"format": "zip"}, content_type="application/json", **token)
    assert response.status_code == 202
    created = response.json()
    assert (created["export_type"], created["export_format"], created["status"]) == ("gdpr", "zip", "completed")
    assert created["download_url"] == f"/api/v1/exports/{created['id']}/download"

    status = http.get(f"/api/v1/exports/{created['id']}", **token).json()
    assert status["record_count"] == created["record_count"] == 6  # account, 1 entry, client, project, token, export
    history = http.get("/api/v1/exports", **token).json()
    assert [item["id"] for item in history["exports"]] == [created["id"]]

    download = http.get(created["download_url"], **token)
    assert download.status_code == 200
    archive = zipfile.ZipFile(BytesIO(b"".join(download.streaming_content)))
    assert "time_entries.csv" in archive.namelist() and "manifest.json" in archive.namelist()

    # bob's token sees nothing of it.
    other = bearer(api_token(bob, "read:time_entries"))
    assert http.get(f"/api/v1/exports/{created['id']}", **other).status_code == 404
    assert http.get(created["download_url"], **other).json() == {"error": "Export not found"}
    assert http.get("/api/v1/exports", **other).json() == {"exports": []}


def test_v1_filtered_csv_with_filters_and_no_bom(alice, api_token):
    kept = entry(alice, start=at("2024-01-05 09:00"), end=at("2024-01-05 10:00"), tags=("x",))
    entry(alice, start=at("2024-01-06 09:00"), end=at("2024-01-06 10:00"))
    http = HttpClient()
    token = bearer(api_token(alice, "read:*"))

    response = http.post(
        "/api/v1/exports/filtered",
        {"format": "csv", "bom": False, "filters": {"start_date": "2024-01-05", "end_date": "2024-01-05", "tag": "x"}},
        content_type="application/json",
        **token,
    )
    assert response.status_code == 202, response.content
    body = b"".join(http.get(response.json()["download_url"], **token).streaming_content).decode()
    assert body.split("\r\n")[1].startswith(f"{kept.pk},alice@example.com,")
    assert len(body.split("\r\n")) == 3


def test_v1_validation_errors(alice, api_token):
    http = HttpClient()
    token = bearer(api_token(alice, "read:time_entries"))

    def post(url, body):
        response = http.post(url, json.dumps(body), content_type="application/json", **token)
        return response.status_code, response.json()

    assert post("/api/v1/exports/gdpr", {"format": "pdf"}) == (400, {"error": 'Invalid format. Use "json" or "zip"'})
    assert post("/api/v1/exports/filtered", {"filters": {"start_date": "2024-02-30"}})[0] == 400
    # The same words as the session endpoint (test_filtered_export), not "datetime.date(1, 1, 1)".
    assert post("/api/v1/exports/filtered", {"filters": {"start_date": "0001-01-01"}}) == (
        400,
        {"error": "start_date: '0001-01-01' is outside the years 1900-2200"},
    )
    assert post("/api/v1/exports/filtered", {"filters": {"colour": "red"}}) == (
        400,
        {"error": "filters: Unknown filter 'colour'. Known filters: start_date, end_date, client, project, task, tag, "
                  "client_id, project_id, task_id, tag_id, billable, search, user"},
    )  # fmt: skip
    assert post("/api/v1/exports/filtered", {"filters": {"user": "all"}}) == (
        403,
        {"error": "Only admins can export all users' entries."},
    )
    assert not DataExport.objects.exists()


def test_v1_needs_the_read_scope(alice, api_token):
    http = HttpClient()
    token = bearer(api_token(alice, "write:time_entries"))

    response = http.post("/api/v1/exports/gdpr", {"format": "json"}, content_type="application/json", **token)

    assert response.status_code == 403
    assert response.json()["required_scope"] == "read:time_entries"
    assert response.json()["available_scopes"] == ["write:time_entries"]
    assert HttpClient().get("/api/v1/exports").status_code == 401
    # A logged-in session is not a token: the v1 API wants one.
    session = HttpClient()
    session.force_login(alice)
    assert session.get("/api/v1/exports").status_code == 401


def test_v1_download_after_expiry_is_410(alice, api_token, monkeypatch):
    http = HttpClient()
    token = bearer(api_token(alice, "read:time_entries"))
    created = http.post("/api/v1/exports/gdpr", {"format": "json"}, content_type="application/json", **token).json()
    later = timezone.now() + timedelta(days=7, minutes=1)
    monkeypatch.setattr(timezone, "now", lambda: later)

    response = http.get(f"/api/v1/exports/{created['id']}/download", **token)

    assert response.status_code == 410
    expires = DataExport.objects.get().expires_at
    day = timezone.localtime(expires, __import__("zoneinfo").ZoneInfo("Europe/Berlin")).date().isoformat()
    assert response.json() == {"error": f"This export expired on {day}; create a new one"}


def test_v1_endpoints_are_in_the_openapi_schema(alice, api_token):
    schema = HttpClient().get("/api/schema/", HTTP_ACCEPT="application/json").json()
    for path in ("/api/v1/exports", "/api/v1/exports/gdpr", "/api/v1/exports/filtered",
                 "/api/v1/exports/{export_id}", "/api/v1/exports/{export_id}/download"):  # fmt: skip
        assert path in schema["paths"], path
    assert "410" in schema["paths"]["/api/v1/exports/{export_id}/download"]["get"]["responses"]


def test_v1_status_and_download_ask_for_the_scope_of_the_exports_type(alice, api_token, settings):
    folder = settings.PRIVATE_STORAGE_DIR / "travel" / "7"
    folder.mkdir(parents=True)
    (folder / "mileage.pdf").write_bytes(b"%PDF-mileage")
    (folder / "per_diem.pdf").write_bytes(b"%PDF-per-diem")
    later = timezone.now() + timedelta(days=1)
    mileage, per_diem = (
        DataExport.objects.create(
            owner=alice,
            export_type=kind,
            export_format="pdf",
            status="completed",
            file_path=f"travel/7/{kind}.pdf",
            file_name=f"{kind}.pdf",
            expires_at=later,
        )
        for kind in ("mileage", "per_diem")
    )
    http = HttpClient()

    def get(url, scope):
        return http.get(url, **bearer(api_token(alice, scope)))

    for export, scope in ((mileage, "read:mileage"), (per_diem, "read:per_diem")):
        for wrong in ("read:time_entries", "read:mileage" if scope == "read:per_diem" else "read:per_diem"):
            for url in (f"/api/v1/exports/{export.pk}", f"/api/v1/exports/{export.pk}/download"):
                denied = get(url, wrong)
                assert denied.status_code == 403
                assert denied.json()["required_scope"] == scope
        assert get(f"/api/v1/exports/{export.pk}", scope).json()["status"] == "completed"
        download = get(f"/api/v1/exports/{export.pk}/download", scope)
        assert download.status_code == 200
        assert b"".join(download.streaming_content) == f"%PDF-{export.export_type.replace('_', '-')}".encode()
