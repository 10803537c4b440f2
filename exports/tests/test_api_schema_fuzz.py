"""schemathesis over the exports part of /api/schema/ against a live server: no 5xx. Small
(10 cases an operation): the import team's run over the whole schema covers these too."""

import subprocess
import sys
import xml.etree.ElementTree as ElementTree
from pathlib import Path

from .factories import at, entry

SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")


def test_schemathesis_finds_no_server_error_in_exports(live_server, alice, api_token, settings, tmp_path):
    settings.API_TOKEN_RATE_LIMIT_PER_MINUTE = 100_000
    settings.API_TOKEN_RATE_LIMIT_PER_HOUR = 100_000
    entry(alice, start=at("2024-01-01 09:00"), end=at("2024-01-01 10:00"), tags=("x",))
    raw = api_token(alice, "*")
    result = subprocess.run(
        [
            str(SCHEMATHESIS), "run", f"{live_server.url}/api/schema/",
            "--include-path-regex", "^/api/v1/exports",
            "--checks", "not_a_server_error",
            "--header", f"Authorization: Bearer {raw}",
            "--max-examples", "10",
            "--seed", "20261203",
            "--workers", "1",
            "--request-timeout", "20",
            "--phases", "examples,fuzzing",
            "--suppress-health-check", "all",
            "--generation-database", "none",
            "--report", "junit",
            "--report-junit-path", str(tmp_path / "junit.xml"),
            "--no-color",
        ],  # fmt: skip
        capture_output=True,
        text=True,
        timeout=240,
        cwd=tmp_path,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    tested = {case.get("name") for case in ElementTree.parse(tmp_path / "junit.xml").getroot().iter("testcase")}
    assert tested == {
        "GET /api/v1/exports",
        "POST /api/v1/exports/gdpr",
        "POST /api/v1/exports/filtered",
        "GET /api/v1/exports/{export_id}",
        "GET /api/v1/exports/{export_id}/download",
    }, tested
