"""manage.py import_toggl / import_harvest, with their progress bars."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from imports.models import DataImport
from timetracker.models import TimeEntry

from .fake_harvest import HARVEST_TOKEN, harvest_entry
from .fake_toggl import TOGGL_TOKEN

pytest_plugins = ["imports.tests.pull_fixtures"]


def run(*args):
    out, err = StringIO(), StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_import_toggl_command(alice, fake_toggl):
    for n in range(5):
        fake_toggl.add_entry(entry_id=300 + n, start=f"2024-02-0{n + 1}T08:00:00+00:00",
                             stop=f"2024-02-0{n + 1}T08:20:00+00:00")
    fake_toggl.add_entry(entry_id=399, start="2024-02-09T08:00:00+00:00", stop=None)
    out, err = run("import_toggl", "--user", "alice", "--token", TOGGL_TOKEN, "--workspace", "2000002",
                   "--start", "2024-02-01", "--end", "2024-02-29")
    data_import = DataImport.objects.get()
    assert out.splitlines() == [
        (f"Import #{data_import.pk} completed: Imported from Toggl: 5 created, 0 updated, 0 unchanged, 0 deleted, "
         "1 skipped (see the report)"),
        "  skipped running timer 399 (2024-02-09T08:00:00+00:00): running timer, import after it stops",
    ]
    assert "Import from Toggl" in err and "6/6" in err  # the tqdm bar
    assert TimeEntry.objects.filter(owner=alice).count() == 5


def test_import_harvest_command(alice, fake_harvest):
    fake_harvest.entries = [harvest_entry(n, f"2024-02-0{n}", hours=1.5) for n in range(1, 4)]
    out, err = run("import_harvest", "--user", "alice", "--account-id", "424242", "--token", HARVEST_TOKEN,
                   "--start", "2024-02-01", "--end", "2024-02-29", "--timezone", "UTC")
    assert "Imported from Harvest: 3 created" in out
    assert "Import from Harvest" in err and "3/3" in err
    assert sum(TimeEntry.objects.values_list("duration_seconds", flat=True)) == 3 * 5400


def test_commands_fail_clearly(alice, fake_toggl):
    with pytest.raises(CommandError, match='No user "nobody"'):
        run("import_toggl", "--user", "nobody", "--token", "t", "--workspace", "1", "--start", "2024-01-01",
            "--end", "2024-01-02")
    with pytest.raises(CommandError, match=r"^Import #\d+ failed: Toggl rejected the API token$"):
        run("import_toggl", "--user", "alice", "--token", "bad", "--workspace", "2000002", "--start", "2024-01-01",
            "--end", "2024-01-02")
    with pytest.raises(CommandError, match=r"^end: 2024-01-01 is before start 2024-01-02\.$"):
        run("import_harvest", "--user", "alice", "--account-id", "1", "--token", "t", "--start", "2024-01-02",
            "--end", "2024-01-01")


def test_commands_refuse_a_second_pull_of_the_same_account_while_one_is_unfinished(alice, fake_toggl, fake_harvest):
    toggl = DataImport.objects.create(owner=alice, import_type="toggl", status="processing",
                                      source_file_name="Toggl Workspace 2000002")
    harvest = DataImport.objects.create(owner=alice, import_type="harvest", status="pending",
                                        source_file_name="Harvest Account 424242")
    with pytest.raises(CommandError, match=(
            rf"^Import #{toggl.pk} from Toggl Workspace 2000002 is still running; wait until it finishes\.$")):
        run("import_toggl", "--user", "alice", "--token", TOGGL_TOKEN, "--workspace", "2000002",
            "--start", "2024-02-01", "--end", "2024-02-29")
    with pytest.raises(CommandError, match=(
            rf"^Import #{harvest.pk} from Harvest Account 424242 is still running; wait until it finishes\.$")):
        run("import_harvest", "--user", "alice", "--account-id", "424242", "--token", HARVEST_TOKEN,
            "--start", "2024-02-01", "--end", "2024-02-29", "--timezone", "UTC")
    assert DataImport.objects.count() == 2
    assert (fake_toggl.requests, fake_harvest.requests) == ([], [])
