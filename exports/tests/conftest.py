import pytest
from django.test import Client as HttpClient


@pytest.fixture
def login():
    """login(user) -> a fresh test client logged in as `user` (several users in one test)."""

    def make(user, *, enforce_csrf_checks: bool = False) -> HttpClient:
        http = HttpClient(enforce_csrf_checks=enforce_csrf_checks)
        http.force_login(user)
        return http

    return make


@pytest.fixture
def filtered_export():
    """filtered_export(client, format="csv", filters={}, bom=True) -> (status JSON, file bytes),
    through the session endpoints: POST, status, download."""

    def run(http, *, format: str = "csv", filters: dict | None = None, bom: bool = True):
        response = http.post(
            "/api/export/filtered",
            {"format": format, "filters": filters or {}, "bom": bom},
            content_type="application/json",
        )
        assert response.status_code == 202, response.content
        status = http.get(f"/api/export/status/{response.json()['id']}").json()
        assert status["status"] == "completed", status
        download = http.get(status["download_url"])
        assert download.status_code == 200, download.content
        return status, b"".join(download.streaming_content)

    return run


@pytest.fixture
def gdpr_export():
    """gdpr_export(client, format) -> (status JSON, file bytes) through the session endpoints."""

    def run(http, *, format: str):
        response = http.post("/api/export/gdpr", {"format": format}, content_type="application/json")
        assert response.status_code == 202, response.content
        status = http.get(f"/api/export/status/{response.json()['id']}").json()
        assert status["status"] == "completed", status
        download = http.get(status["download_url"])
        assert download.status_code == 200, download.content
        return status, b"".join(download.streaming_content)

    return run
