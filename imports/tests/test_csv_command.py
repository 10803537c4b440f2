"""manage.py import_csv: same service, a progress bar on stderr and a summary on stdout."""

import pytest
from django.core.management import CommandError, call_command

from conftest import CASES_DIR
from imports.models import DataImport
from timetracker.models import TimeEntry


def run(*args):
    from io import StringIO

    out, err = StringIO(), StringIO()
    call_command("import_csv", *[str(a) for a in args], stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_imports_with_progress_bar_and_summary(alice):
    out, err = run(CASES_DIR / "01_utf8_bom_toggl_header.csv", "--user", "alice")
    assert "Importing: 100%" in err and "2/2" in err
    assert out.splitlines()[:2] == [
        "Format: Toggl Track detailed report (utf-8-sig, delimiter ','), date order YMD, timezone Europe/Berlin",
        "Rows: 2; created 2, updated 0, unchanged 0, failed 0",
    ]
    data_import = DataImport.objects.get()
    assert out.splitlines()[-1] == f"Import #{data_import.pk} completed: Imported: 2 created, 0 updated, 0 unchanged."
    assert (data_import.owner, data_import.source_file_name) == (alice, "01_utf8_bom_toggl_header.csv")
    assert TimeEntry.objects.order_by("start").first().start.isoformat() == "2024-03-04T08:00:00+00:00"


def test_timezone_date_order_and_dry_run_options(alice, tmp_path):
    path = tmp_path / "harvest.csv"
    path.write_text("Date,Project,Hours\n03/04/2024,Web,1.5\n")
    out, _ = run(path, "--user", "alice", "--timezone", "UTC", "--date-order", "MDY", "--dry-run")
    assert "date order MDY, timezone UTC" in out
    assert "Checked (dry run): 1 created" in out
    assert TimeEntry.objects.count() == 0


def test_invalid_rows_listed_and_command_fails(alice):
    with pytest.raises(CommandError) as error:
        run(CASES_DIR / "07_entry_crossing_midnight.csv", "--user", "alice")
    assert str(error.value) == "Nothing was imported: 1 of 2 rows are invalid."
    assert TimeEntry.objects.count() == 0


def test_skip_invalid_imports_the_rest(alice):
    out, _ = run(CASES_DIR / "07_entry_crossing_midnight.csv", "--user", "alice", "--skip-invalid")
    assert '  line 3, column "End time", value "01:00:00": End (2020-07-03 01:00) is before start (2020-07-03 23:30)' in out
    assert "completed_with_errors: Imported: 1 created, 0 updated, 0 unchanged, 1 invalid rows skipped." in out
    assert TimeEntry.objects.count() == 1


def test_unknown_user_and_unreadable_file(alice, tmp_path):
    with pytest.raises(CommandError, match='No user "zed"'):
        run(CASES_DIR / "01_utf8_bom_toggl_header.csv", "--user", "zed")
    binary = tmp_path / "x.csv"
    binary.write_bytes(b"\x00\x01\x02")
    with pytest.raises(CommandError, match="not a CSV text file"):
        run(binary, "--user", "alice")
