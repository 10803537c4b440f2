"""GDPR export (req. 2): everything about the user, nothing about others, no secrets."""

import csv
import hashlib
import io
import json
import zipfile
from datetime import date
from decimal import Decimal

import pytest
from django.core.management import call_command

from exports.models import DataExport
from imports.models import DataImport
from timetracker.models import ApiToken, Mileage, PerDiem

from .factories import at, entry

DATASETS = [
    "account", "time_entries", "clients", "projects", "tasks", "tags", "mileage", "per_diem", "api_tokens",
    "imports", "exports",
]  # fmt: skip


@pytest.fixture
def alice_data(alice, bob, acme, api_token):
    """alice's data of every kind, plus bob's, which must never show up."""
    first = entry(alice, start=at("2024-03-04 08:00"), end=at("2024-03-04 09:30"), notes="=SUM(A1)",
                  client="Acme", task="Design", tags=("urgent", "web"))  # fmt: skip
    second = entry(alice, start=at("2024-07-01 07:00:00.25"), end=at("2024-07-01 08:00"), project="Internal",
                   client=None, notes="Ünïcödé")  # fmt: skip
    entry(bob, start=at("2024-03-04 08:00"), end=at("2024-03-04 09:00"), project="Bob's secret project",
          client="Bob Client", tags=("bob-tag",))  # fmt: skip
    Mileage.objects.create(
        owner=alice, date=date(2024, 3, 5), purpose="Client visit", from_location="Berlin", to_location="Potsdam",
        distance=Decimal("35.5"), round_trip=True, rate_per_unit=Decimal("0.30"), project=first.project,
    )  # fmt: skip
    Mileage.objects.create(owner=bob, date=date(2024, 3, 5), purpose="Bob trip", from_location="A", to_location="B",
                           distance=Decimal("1"), rate_per_unit=Decimal("0.30"))  # fmt: skip
    PerDiem.objects.create(
        owner=alice, start_date=date(2024, 4, 1), end_date=date(2024, 4, 3), country="France", city="Paris",
        full_days=2, partial_days=1, daily_rate=Decimal("40.00"), partial_day_rate=Decimal("20.00"),
        lunches_provided=1, lunch_deduction=Decimal("8.00"), client=acme,
    )  # fmt: skip
    raw_token = api_token(alice, "read:time_entries", name="laptop")
    api_token(bob, "read:time_entries", name="bob token")
    DataImport.objects.create(owner=alice, import_type="csv", source_file_name="march.csv", status="completed",
                              total_records=2, successful_records=2, created_records=2)  # fmt: skip
    DataImport.objects.create(owner=bob, import_type="csv", source_file_name="bob.csv")
    DataExport.objects.create(owner=bob, export_type="filtered", export_format="csv")
    return {"first": first, "second": second, "raw_token": raw_token}


def assert_no_secrets(text: str, user, raw_token: str):
    assert user.password not in text
    assert "pbkdf2" not in text
    assert '"password"' not in text and ",password," not in text  # no such key or CSV column
    token = ApiToken.objects.get(owner=user)
    assert token.token_hash not in text
    assert raw_token not in text and raw_token[3:11] not in text


def assert_nothing_of_bob(text: str):
    for marker in ("bob", "Bob"):
        assert marker not in text


def test_gdpr_json_is_one_document_with_every_dataset(alice, alice_data, login, gdpr_export):
    status, body = gdpr_export(login(alice), format="json")

    document = json.loads(body)
    assert list(document) == ["export_info", *DATASETS]
    info = document["export_info"]
    assert info["username"] == "alice" and info["export_id"] == status["id"]
    assert info["record_counts"] == {
        "account": 1, "time_entries": 2, "clients": 1, "projects": 2, "tasks": 1, "tags": 2, "mileage": 1,
        "per_diem": 1, "api_tokens": 1, "imports": 1, "exports": 1,
    }  # fmt: skip
    assert status["record_count"] == 14

    assert document["account"] == {
        "id": alice.pk, "username": "alice", "email": "alice@example.com", "first_name": "", "last_name": "",
        "is_active": True, "is_staff": False, "is_superuser": False,
        "date_joined": alice.date_joined.astimezone(__import__("zoneinfo").ZoneInfo("Europe/Berlin")).isoformat(),
        "last_login": document["account"]["last_login"], "timezone": "Europe/Berlin", "portal_client": None,
    }  # fmt: skip
    first = alice_data["first"]
    assert document["time_entries"][0] == {
        "id": first.pk, "user_email": "alice@example.com", "project_name": "Website", "client_name": "Acme",
        "task_name": "Design", "start_time": "2024-03-04T09:00:00+01:00", "end_time": "2024-03-04T10:30:00+01:00",
        "duration_seconds": 5400, "duration_hours": "1.50", "notes": "=SUM(A1)", "tags": ["urgent", "web"],
        "billable": True, "source_system": "", "source_id": "",
        "created_at": first.created_at.astimezone(__import__("zoneinfo").ZoneInfo("Europe/Berlin")).isoformat(),
        "updated_at": first.updated_at.astimezone(__import__("zoneinfo").ZoneInfo("Europe/Berlin")).isoformat(),
    }  # fmt: skip
    assert document["time_entries"][1]["start_time"] == "2024-07-01T09:00:00.250000+02:00"
    assert [c["name"] for c in document["clients"]] == ["Acme"]
    assert [(p["name"], p["client_name"]) for p in document["projects"]] == [("Internal", None), ("Website", "Acme")]
    assert [t["name"] for t in document["tags"]] == ["urgent", "web"]
    assert document["mileage"][0] | {} == document["mileage"][0]
    assert {k: document["mileage"][0][k] for k in ("purpose", "distance", "round_trip", "amount", "project_name")} == {
        "purpose": "Client visit", "distance": "35.50", "round_trip": True, "amount": "21.30",
        "project_name": "Website",
    }  # fmt: skip
    assert {k: document["per_diem"][0][k] for k in ("country", "full_days", "amount", "client_name")} == {
        "country": "France", "full_days": 2, "amount": "92.00", "client_name": "Acme",
    }  # fmt: skip
    assert list(document["api_tokens"][0]) == [
        "id", "name", "scopes", "created_at", "last_used_at", "expires_at", "revoked_at",
    ]  # fmt: skip
    assert document["api_tokens"][0]["name"] == "laptop"
    assert document["api_tokens"][0]["scopes"] == ["read:time_entries"]
    assert document["imports"][0]["source_file_name"] == "march.csv"
    assert [e["id"] for e in document["exports"]] == [status["id"]]

    assert_no_secrets(body.decode(), alice, alice_data["raw_token"])
    assert_nothing_of_bob(body.decode())


def test_gdpr_zip_members_manifest_checksums_and_csvs(alice, alice_data, login, gdpr_export):
    status, body = gdpr_export(login(alice), format="zip")

    assert hashlib.sha256(body).hexdigest() == status["sha256"]
    archive = zipfile.ZipFile(io.BytesIO(body))
    assert archive.testzip() is None
    expected_members = [f"{name}.{ext}" for name in DATASETS for ext in ("json", "csv")]
    assert archive.namelist() == [*expected_members, "README.txt", "manifest.json"]

    manifest = json.loads(archive.read("manifest.json"))
    assert [f["name"] for f in manifest["files"]] == [*expected_members, "README.txt"]
    for listed in manifest["files"]:
        content = archive.read(listed["name"])
        assert listed["sha256"] == hashlib.sha256(content).hexdigest(), listed["name"]
        assert listed["bytes"] == len(content)
    records = {f["name"]: f["records"] for f in manifest["files"]}
    assert records["time_entries.csv"] == records["time_entries.json"] == 2
    assert records["mileage.csv"] == records["per_diem.json"] == records["account.json"] == 1
    assert records["README.txt"] is None

    # Each CSV has one row per record; JSON arrays as long.
    for name in DATASETS:
        rows = list(csv.reader(io.StringIO(archive.read(f"{name}.csv").decode("utf-8-sig"))))
        assert len(rows) - 1 == records[f"{name}.csv"], name
        loaded = json.loads(archive.read(f"{name}.json"))
        assert (1 if name == "account" else len(loaded)) == records[f"{name}.json"], name

    # time_entries.csv is our CSV layout, formula-safe, BOM first.
    entries_csv = archive.read("time_entries.csv")
    first, second = alice_data["first"], alice_data["second"]
    assert entries_csv.decode("utf-8") == (
        "\ufeffid,user_email,project_name,client_name,task_name,start_time,end_time,duration_hours,notes,tags,billable\r\n"
        f"{first.pk},alice@example.com,Website,Acme,Design,2024-03-04T09:00:00+01:00,2024-03-04T10:30:00+01:00,1.50,"
        "'=SUM(A1),urgent;web,true\r\n"
        f"{second.pk},alice@example.com,Internal,,,2024-07-01T09:00:00.250000+02:00,2024-07-01T10:00:00+02:00,1.00,"
        "Ünïcödé,,true\r\n"
    )  # fmt: skip
    tokens_csv = list(csv.DictReader(io.StringIO(archive.read("api_tokens.csv").decode("utf-8-sig"))))
    assert tokens_csv[0]["name"] == "laptop" and tokens_csv[0]["scopes"] == "read:time_entries"

    readme = archive.read("README.txt").decode()
    assert "time_entries.json, time_entries.csv (2 records)" in readme
    assert "mileage.json, mileage.csv (1 records)" in readme

    everything = "".join(archive.read(name).decode("utf-8") for name in archive.namelist())
    assert_no_secrets(everything, alice, alice_data["raw_token"])
    assert_nothing_of_bob(everything)


def test_gdpr_export_invalid_format(alice, login):
    response = login(alice).post("/api/export/gdpr", {"format": "xml"}, content_type="application/json")
    assert (response.status_code, response.json()) == (400, {"error": 'Invalid format. Use "json" or "zip"'})


def test_export_gdpr_command_writes_the_zip(alice, alice_data, tmp_path):
    output = tmp_path / "alice.zip"
    stdout, stderr = io.StringIO(), io.StringIO()

    call_command("export_gdpr", "alice", "--format", "zip", "--output", str(output), stdout=stdout, stderr=stderr)

    export = DataExport.objects.get(owner=alice)
    assert export.export_type == "gdpr" and export.status == "completed"
    assert hashlib.sha256(output.read_bytes()).hexdigest() == export.sha256
    assert zipfile.ZipFile(output).read("time_entries.csv").count(b"\r\n") == 3
    assert stdout.getvalue() == f"Wrote {output}: 14 records, {export.file_size} bytes, SHA-256 {export.sha256}\n"
    assert "GDPR export of alice" in stderr.getvalue()


def test_export_gdpr_command_unknown_user(db, tmp_path):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="No user named 'nobody'."):
        call_command("export_gdpr", "nobody", "--output", str(tmp_path / "x.zip"))


def test_export_gdpr_command_into_a_folder_writes_the_usual_name_readable_by_the_owner_only(alice, tmp_path):
    folder = tmp_path / "out"
    folder.mkdir()
    call_command("export_gdpr", "alice", "--format", "json", "--output", str(folder), stdout=io.StringIO(),
                 stderr=io.StringIO(), no_progress=True)  # fmt: skip

    export = DataExport.objects.get(owner=alice)
    written = folder / export.file_name
    assert [path.name for path in folder.iterdir()] == [export.file_name]
    assert export.file_name.startswith("gdpr_export_alice_") and export.status == "completed"
    assert hashlib.sha256(written.read_bytes()).hexdigest() == export.sha256
    assert written.stat().st_mode & 0o777 == 0o600


def test_export_commands_refuse_an_output_in_a_missing_folder(alice, tmp_path):
    from django.core.management.base import CommandError

    missing = tmp_path / "nonexistent" / "dir" / "x.json"
    with pytest.raises(CommandError, match=f"^The folder {tmp_path}/nonexistent/dir does not exist.$"):
        call_command("export_gdpr", "alice", "--format", "json", "--output", str(missing), no_progress=True)
    with pytest.raises(CommandError, match=f"^The folder {tmp_path}/nonexistent/dir does not exist.$"):
        call_command("export_entries", "--user", "alice", "--output", str(missing), no_progress=True)

    assert not (tmp_path / "nonexistent").exists()
    assert not DataExport.objects.exists()


def test_export_gdpr_command_marks_the_export_failed_when_the_file_cannot_be_written(alice, tmp_path):
    from django.core.management.base import CommandError

    # A link to a folder that does not exist: the folder check passes, writing the file fails.
    output = tmp_path / "x.json"
    output.symlink_to(tmp_path / "gone" / "x.json")
    with pytest.raises(CommandError, match=r"^Could not write .*x\.json: \[Errno 2\] No such file or directory"):
        call_command("export_gdpr", "alice", "--format", "json", "--output", str(output), no_progress=True)
    assert DataExport.objects.get(owner=alice).status == "failed"


def v1_gdpr(raw_token: str, *, format: str) -> tuple[dict, bytes]:
    from django.test import Client as HttpClient

    http, auth = HttpClient(), {"HTTP_AUTHORIZATION": f"Bearer {raw_token}"}
    response = http.post("/api/v1/exports/gdpr", {"format": format}, content_type="application/json", **auth)
    assert response.status_code == 202, response.content
    download = http.get(response.json()["download_url"], **auth)
    assert download.status_code == 200, download.content
    return response.json(), b"".join(download.streaming_content)


@pytest.fixture
def roadshow(alice):
    """A trip on a project no time entry uses: its project and client are mileage data too."""
    from timetracker.models import Client, Project

    globex = Client.objects.create(name="Globex")
    Mileage.objects.create(
        owner=alice, date=date(2024, 5, 1), purpose="Roadshow", from_location="Köln", to_location="Bonn",
        distance=Decimal("30"), rate_per_unit=Decimal("0.30"), project=Project.objects.create(name="Tour", client=globex),
    )  # fmt: skip


def test_gdpr_export_with_a_token_holds_only_what_the_token_may_read(alice, alice_data, roadshow):
    status, body = v1_gdpr(alice_data["raw_token"], format="json")  # read:time_entries only

    document = json.loads(body)
    omitted = {"mileage": "the token lacks read:mileage", "per_diem": "the token lacks read:per_diem"}
    assert list(document) == [
        "export_info", "omitted", "account", "time_entries", "clients", "projects", "tasks", "tags", "api_tokens",
        "imports", "exports",
    ]  # fmt: skip
    assert document["omitted"] == omitted
    assert status["filters"] == {"omitted": omitted}
    assert document["export_info"]["record_counts"] == {
        "account": 1, "time_entries": 2, "clients": 1, "projects": 2, "tasks": 1, "tags": 2, "api_tokens": 1,
        "imports": 1, "exports": 1,
    }  # fmt: skip
    assert [c["name"] for c in document["clients"]] == ["Acme"]
    assert [p["name"] for p in document["projects"]] == ["Internal", "Website"]
    for travel_text in ("Client visit", "Roadshow", "Tour", "Globex", "Paris", "France", "Potsdam"):
        assert travel_text not in body.decode(), travel_text


def test_gdpr_zip_with_a_token_names_what_it_left_out_in_the_manifest_and_readme(alice, alice_data, api_token):
    raw = api_token(alice, "read:time_entries", "read:mileage", name="mileage reader")
    _, body = v1_gdpr(raw, format="zip")

    archive = zipfile.ZipFile(io.BytesIO(body))
    kept = [name for name in DATASETS if name != "per_diem"]
    assert archive.namelist() == [*(f"{name}.{ext}" for name in kept for ext in ("json", "csv")), "README.txt",
                                  "manifest.json"]  # fmt: skip
    manifest = json.loads(archive.read("manifest.json"))
    assert list(manifest) == ["export_info", "omitted", "files"]
    assert manifest["omitted"] == {"per_diem": "the token lacks read:per_diem"}
    assert json.loads(archive.read("mileage.json"))[0]["purpose"] == "Client visit"
    readme = archive.read("README.txt").decode()
    assert (
        "This export was started with an API token and leaves out what the token may not read:\n"
        "    per_diem: the token lacks read:per_diem\n"
    ) in readme
    assert "Paris" not in "".join(archive.read(name).decode("utf-8") for name in archive.namelist())


def test_gdpr_export_with_a_token_reading_everything_is_complete(alice, alice_data, api_token):
    _, body = v1_gdpr(api_token(alice, "read:*", name="reads all"), format="json")

    document = json.loads(body)
    assert list(document) == ["export_info", *DATASETS]
    assert [m["purpose"] for m in document["mileage"]] == ["Client visit"]


def test_a_complete_gdpr_export_is_not_downloaded_with_a_token_that_may_not_read_all_of_it(
    alice, alice_data, login, gdpr_export, api_token
):
    from django.test import Client as HttpClient

    status, _ = gdpr_export(login(alice), format="json")  # on the page: complete
    http = HttpClient()

    answer = http.get(f"/api/v1/exports/{status['id']}/download", HTTP_AUTHORIZATION=f"Bearer {alice_data['raw_token']}")
    assert answer.status_code == 403
    assert (answer.json()["required_scope"], answer.json()["available_scopes"]) == ("read:mileage", ["read:time_entries"])
    everything = api_token(alice, "read:time_entries", "read:mileage", "read:per_diem", name="all three")
    answer = http.get(f"/api/v1/exports/{status['id']}/download", HTTP_AUTHORIZATION=f"Bearer {everything}")
    assert answer.status_code == 200
