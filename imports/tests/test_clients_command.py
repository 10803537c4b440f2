"""manage.py import_clients FILE: the same service as the page, a summary on stdout."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from imports.models import DataImport
from timetracker.models import Client, Contact


def run(*args) -> str:
    out = StringIO()
    call_command("import_clients", *[str(a) for a in args], stdout=out, stderr=StringIO())
    return out.getvalue()


def test_imports_for_the_first_superuser_by_default(charlie, tmp_path):
    path = tmp_path / "clients.csv"
    path.write_text("name,status,contact_1_first_name,contact_1_last_name\nAcme,archived,Jane,Roe\n")
    out = run(path)
    data_import = DataImport.objects.get()
    assert out.splitlines() == [
        "Rows: 1; created 1, updated 0, unchanged 0, skipped 0, invalid 0",
        f"Import #{data_import.pk} completed: Imported: 1 created, 0 updated, 0 unchanged, 0 duplicates skipped.",
    ]
    assert (data_import.owner, data_import.import_type, data_import.source_file_name) == (
        charlie, "csv_clients", "clients.csv"
    )
    assert list(Client.objects.values_list("name", "status")) == [("Acme", "archived")]
    assert list(Contact.objects.values_list("first_name", "last_name", "is_primary")) == [("Jane", "Roe", True)]


def test_update_keeps_status_and_merges_custom_fields(charlie, tmp_path):
    Client.objects.create(name="Acme", status="inactive", custom_fields={"erp_id": "A-1", "vat": "DE1"})
    path = tmp_path / "clients.csv"
    path.write_text("name,custom_field_vat\nAcme,DE2\n")
    out = run(path, "--update", "--duplicate-fields", "name")
    assert "updated 1" in out
    acme = Client.objects.get()
    assert (acme.status, acme.custom_fields) == ("inactive", {"erp_id": "A-1", "vat": "DE2"})


def test_invalid_rows_listed_and_command_fails(charlie, tmp_path):
    path = tmp_path / "clients.csv"
    path.write_text("name,prepaid_reset_day\nAcme,0\n")
    out = StringIO()
    with pytest.raises(CommandError) as error:
        call_command("import_clients", str(path), "--user", "charlie", stdout=out)
    assert str(error.value) == "Nothing was imported: 1 of 1 rows are invalid."
    assert '  line 2, column "prepaid_reset_day", value "0": must be a whole number from 1 to 28' in out.getvalue()
    assert Client.objects.count() == 0


def test_dry_run_writes_nothing(charlie, tmp_path):
    path = tmp_path / "clients.csv"
    path.write_text("name\nAcme\n")
    assert "Checked (dry run): 1 created" in run(path, "--dry-run")
    assert Client.objects.count() == 0


def test_unknown_user_missing_file_and_bad_header(charlie, tmp_path):
    path = tmp_path / "clients.csv"
    path.write_text("title\nAcme\n")
    with pytest.raises(CommandError, match='No user "zed"'):
        run(path, "--user", "zed")
    with pytest.raises(CommandError, match="No such file"):
        run(tmp_path / "missing.csv")
    with pytest.raises(CommandError, match='No "name" column in the header row'):
        run(path)


def test_a_row_with_too_many_cells_is_listed_by_its_line(charlie, tmp_path):
    path = tmp_path / "clients.csv"
    path.write_text("name,description,phone\nShift Co,Hello, world,+1 555\n")
    out = StringIO()
    with pytest.raises(CommandError):
        call_command("import_clients", str(path), stdout=out)
    assert "  line 2: 4 cell(s), the header has 3 columns\n" in out.getvalue()
