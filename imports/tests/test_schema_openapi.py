"""The OpenAPI schema at /api/schema/ describes the import API accurately, its docs page
renders, and a schemathesis run over the whole schema against a live server finds no 5xx."""

import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree

SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")


def test_schema_describes_the_import_endpoints(client, db):
    response = client.get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    schema = response.json()

    operation = schema["paths"]["/api/v1/time-entries/import-csv"]["post"]
    assert set(operation["requestBody"]["content"]) == {"multipart/form-data", "application/json", "text/csv"}
    assert operation["requestBody"]["content"]["text/csv"]["schema"] == {"type": "string"}
    assert {"200", "202", "400", "401", "403", "413", "429"} <= set(operation["responses"])
    assert operation["responses"]["202"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ImportAccepted"
    }
    assert {p["name"] for p in operation["parameters"]} == {"timezone", "date_order", "skip_invalid", "preview"}
    assert operation["security"] == [{"ApiToken": []}]

    components = schema["components"]
    assert components["securitySchemes"]["ApiToken"]["scheme"] == "bearer"
    assert set(components["schemas"]["CsvImportJson"]["properties"]) == {
        "csv", "data", "timezone", "date_order", "skip_invalid", "preview"
    }
    assert components["schemas"]["CsvImportMultipart"]["required"] == ["file"]

    detail = schema["paths"]["/api/v1/imports/{import_id}"]["get"]
    assert detail["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/DataImportOutput"
    }
    assert {"progress_percent", "error_log", "status", "created_records"} <= set(
        components["schemas"]["DataImportOutput"]["properties"]
    )


def test_docs_page_renders(client, db):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    assert b"swagger-ui" in response.content
    assert b"/api/schema/" in response.content


# About 0.15 s a case on the CI machine: ~600 cases keep the run near a minute however many
# operations the other apps add to the schema.
CASE_BUDGET = 600


def test_schemathesis_finds_no_server_error(client, live_server, alice, api_token, settings, tmp_path):
    """Every operation in /api/schema/ with generated valid and invalid input, authenticated
    with a token holding every scope. Bounded: a fixed seed, the examples and fuzzing phases
    (the coverage phase walks every enum value, minutes for the timezone list) and a budget
    of cases shared by the operations (50 each at most, 10 at least)."""
    settings.API_TOKEN_RATE_LIMIT_PER_MINUTE = 100_000
    settings.API_TOKEN_RATE_LIMIT_PER_HOUR = 100_000
    raw = api_token(alice, "*")
    paths = client.get("/api/schema/", {"format": "json"}).json()["paths"]
    methods = ("get", "post", "put", "patch", "delete")
    operations = sum(1 for item in paths.values() for method in item if method in methods)
    max_examples = max(10, min(50, CASE_BUDGET // operations))
    result = subprocess.run(
        [
            str(SCHEMATHESIS), "run", f"{live_server.url}/api/schema/",
            "--checks", "not_a_server_error",
            "--header", f"Authorization: Bearer {raw}",
            "--max-examples", str(max_examples),
            "--seed", "20261203",
            "--workers", "1",
            "--request-timeout", "20",
            "--phases", "examples,fuzzing",
            "--suppress-health-check", "all",
            "--generation-database", "none",
            "--report", "junit",
            "--report-junit-path", str(tmp_path / "junit.xml"),
            "--no-color",
        ],
        check=False,
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    cases = ElementTree.parse(tmp_path / "junit.xml").getroot().iter("testcase")
    tested = {case.get("name") for case in cases}
    assert {"POST /api/v1/time-entries/import-csv", "GET /api/v1/imports/{import_id}"} <= tested, tested
