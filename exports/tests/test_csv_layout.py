"""Our CSV layout (issue 4 req. 3 and 4): exact bytes, offsets, precision, BOM, formula safety."""

import csv
import hashlib
import io

from conftest import CASES_DIR, make_user
from exports.models import DataExport

from .factories import at, entry

HEADER = "id,user_email,project_name,client_name,task_name,start_time,end_time,duration_hours,notes,tags,billable\r\n"


def entries_from_case_13(owner):
    """The seven rows of case 13, stored as the importer would store them for a UTC user."""
    with open(CASES_DIR / "13_csv_formula_injection_export.csv", encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    created = []
    for row in rows:
        created.append(
            entry(
                owner,
                project=row["project_name"],
                client=row["client_name"],
                start=at(row["start_time"]),
                end=at(row["end_time"]),
                notes=row["notes"],
                tags=tuple(t for t in row["tags"].split(";") if t),
                billable=row["billable"] == "true",
            )
        )
    return created


def test_case_13_exported_csv_matches_expected_bytes(db, login, filtered_export):
    owner = make_user("owner", timezone="UTC")
    created = entries_from_case_13(owner)

    status, body = filtered_export(login(owner), format="csv")

    expected = (CASES_DIR / "13_csv_formula_injection_export.expected_output.csv").read_bytes()
    # The expected file was written for ids 1-7 and owner@example.com; ids follow the database.
    for number, row in enumerate(created, start=1):
        expected = expected.replace(f"\r\n{number},owner@example.com,".encode(), f"\r\n{row.pk}|,owner@example.com,".encode(), 1)
    expected = expected.replace(b"|,", b",")
    assert body == expected
    assert status["record_count"] == 7
    assert status["sha256"] == hashlib.sha256(body).hexdigest()
    assert status["file_size"] == len(body)


def test_times_carry_the_owners_offset_across_dst_and_keep_microseconds(alice, login, filtered_export):
    # alice lives in Europe/Berlin: +01:00 in winter, +02:00 in summer.
    winter = entry(alice, start=at("2024-03-04 08:00"), end=at("2024-03-04 09:00"), notes="winter")
    summer = entry(
        alice,
        start=at("2024-07-01 07:30:00.837623"),
        end=at("2024-07-01 08:00:31.412"),
        notes="Ünïcödé ✓",
        tags=("b-tag", "a-tag"),
        billable=False,
        task="Design",
    )

    _, body = filtered_export(login(alice), format="csv")

    assert body.decode("utf-8") == (
        "\ufeff" + HEADER
        + f"{winter.pk},alice@example.com,Website,Acme,,2024-03-04T09:00:00+01:00,2024-03-04T10:00:00+01:00,1.00,winter,,true\r\n"
        + f"{summer.pk},alice@example.com,Website,Acme,Design,2024-07-01T09:30:00.837623+02:00,"
        "2024-07-01T10:00:31.412000+02:00,0.51,Ünïcödé ✓,a-tag;b-tag,false\r\n"
    )  # fmt: skip


def test_without_bom_option(alice, login, filtered_export):
    entry(alice, start=at("2024-03-04 08:00"), end=at("2024-03-04 08:20"), notes="x")

    _, body = filtered_export(login(alice), format="csv", bom=False)

    assert body.startswith(b"id,user_email,")
    assert not body.startswith(b"\xef\xbb\xbf")


def test_duration_rounds_half_up_and_running_entry_has_empty_end_and_duration(alice, login, filtered_export):
    eighteen_seconds = entry(alice, start=at("2024-01-02 10:00:00"), end=at("2024-01-02 10:00:18"))
    running = entry(alice, start=at("2024-01-03 10:00"), end=None, notes="timer runs")

    _, body = filtered_export(login(alice), format="csv", bom=False)

    lines = body.decode().split("\r\n")
    assert lines[1] == (
        f"{eighteen_seconds.pk},alice@example.com,Website,Acme,,2024-01-02T11:00:00+01:00,"
        "2024-01-02T11:00:18+01:00,0.01,,,true"
    )
    assert lines[2] == f"{running.pk},alice@example.com,Website,Acme,,2024-01-03T11:00:00+01:00,,,timer runs,,true"
    assert lines[3] == ""


def test_text_that_starts_with_a_quote_and_a_trigger_gets_one_more_quote(alice, login, filtered_export):
    entry(alice, start=at("2024-01-02 10:00"), end=at("2024-01-02 11:00"), notes="'=already quoted")
    entry(alice, start=at("2024-01-02 12:00"), end=at("2024-01-02 13:00"), notes="'just a quote")

    _, body = filtered_export(login(alice), format="csv", bom=False)

    rows = list(csv.reader(io.StringIO(body.decode())))
    assert [row[8] for row in rows[1:]] == ["''=already quoted", "'just a quote"]


def test_export_entries_command_writes_the_same_layout(alice, tmp_path):
    from django.core.management import call_command

    first = entry(alice, start=at("2024-03-04 08:00"), end=at("2024-03-04 09:30"), notes="=cmd", tags=("x",))
    output = tmp_path / "out" / "entries.csv"
    output.parent.mkdir()  # a missing folder is an error, not created (see test_gdpr_export)
    stdout, stderr = io.StringIO(), io.StringIO()

    call_command("export_entries", "--user", "alice", "--format", "csv", "--output", str(output), stdout=stdout, stderr=stderr)

    assert output.read_bytes() == (
        "\ufeff" + HEADER
        + f"{first.pk},alice@example.com,Website,Acme,,2024-03-04T09:00:00+01:00,2024-03-04T10:30:00+01:00,1.50,'=cmd,x,true\r\n"
    ).encode()  # fmt: skip
    export = DataExport.objects.get()
    assert stdout.getvalue() == (
        f"Wrote {output}: 1 time entries, {output.stat().st_size} bytes, SHA-256 "
        f"{hashlib.sha256(output.read_bytes()).hexdigest()}\n"
    )
    assert export.sha256 == hashlib.sha256(output.read_bytes()).hexdigest()
    assert "Exporting time entries" in stderr.getvalue()  # the tqdm bar
    assert "1/1" in stderr.getvalue()
