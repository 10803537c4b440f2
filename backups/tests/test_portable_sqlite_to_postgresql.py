"""Requirement 1/8: an installation on the SQLite default moves to PostgreSQL with a portable
backup. The SQLite side is a real second installation (manage.py in a subprocess with no
DATABASE_URL); the rows are compared through `dumpdata` of both databases."""

import json
import os
import subprocess
import sys
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management import call_command

from backups.services import backup_restore
from timetracker.models import TimeEntry

User = get_user_model()
REPO_ROOT = Path(__file__).resolve().parents[2]

SQLITE_DATA = """
from decimal import Decimal
from datetime import date
from conftest import make_user
from exports.tests.factories import at, entry
from timetracker.models import Mileage
from timetracker.services import api_token_create
alice = make_user("alice", timezone="Europe/Berlin")
bob = make_user("bob")
entry(alice, start=at("2024-03-01 13:37:58.691331"), end=at("2024-03-01 14:30:00.000007"), notes="Café ☕ „quoted“", tags=("a", "b"),
      task="Design")
entry(alice, start=at("2024-03-02 23:30"), end=at("2024-03-03 00:15"), client=None, project="Internal")
entry(bob, start=at("2024-03-04 08:00"), end=None, notes="running")
Mileage.objects.create(owner=alice, date=date(2024, 3, 5), purpose="Visit", from_location="Köln",
                       to_location="Bonn", distance=Decimal("31.40"), rate_per_unit=Decimal("0.300"))
api_token_create(owner=bob, name="ci", scopes=["read:time_entries"])
"""


# Every row of every model with each value's str(): dumpdata (DjangoJSONEncoder) would cut
# datetimes to milliseconds on both sides and hide a loss of precision.
def exact_rows() -> dict:
    from backups.database import model_label, portable_models

    return {model_label(model): [[str(value) for value in row]
                                 for row in model._base_manager.order_by("pk").values_list()]
            for model in portable_models()}


EXACT_ROWS = ("import json; from backups.tests.test_portable_sqlite_to_postgresql import exact_rows; "
              "print(json.dumps(exact_rows()))")


def m2m_sorted(rows: list[dict]) -> list[dict]:
    """dumpdata lists m2m ids in whatever order the database returns them: a set, really."""
    for row in rows:
        for name, value in row["fields"].items():
            if isinstance(value, list) and all(isinstance(item, int) for item in value):
                row["fields"][name] = sorted(value)
    return rows


def run_sqlite(env: dict, *args: str) -> str:
    result = subprocess.run([sys.executable, "manage.py", *args], cwd=REPO_ROOT, env=env, capture_output=True,
                            text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_a_portable_sqlite_backup_restores_into_postgresql_with_identical_rows(restorable_db, tmp_path):
    env = {key: value for key, value in os.environ.items() if key not in ("DATABASE_URL", "REDIS_URL")}
    env.update(DATA_DIR=str(tmp_path / "sqlite"), PRIVATE_STORAGE_DIR=str(tmp_path / "sqlite" / "private"),
               BACKUP_DIR=str(tmp_path / "sqlite" / "backups"), PYTHONPATH=str(REPO_ROOT))
    (tmp_path / "sqlite").mkdir()
    run_sqlite(env, "migrate", "-v0")
    run_sqlite(env, "shell", "-c", SQLITE_DATA)
    run_sqlite(env, "dumpdata", "--indent", "1", "-o", str(tmp_path / "sqlite.json"))
    sqlite_exact = json.loads(run_sqlite(env, "shell", "-c", EXACT_ROWS).splitlines()[-1])
    output = run_sqlite(env, "backup_create", "--portable", "--no-progress", "--output", str(tmp_path / "move.zip"))
    assert output == f"Wrote {tmp_path / 'move.zip'} (portable, {(tmp_path / 'move.zip').stat().st_size} bytes)\n"
    assert (tmp_path / "sqlite" / "db.sqlite3").is_file()

    status = backup_restore(archive_path=tmp_path / "move.zip")

    assert status.state == "completed", status.message
    call_command("dumpdata", "--indent", "1", "-o", str(tmp_path / "postgresql.json"))
    sqlite_rows = m2m_sorted(json.loads((tmp_path / "sqlite.json").read_text()))
    postgresql_rows = m2m_sorted(json.loads((tmp_path / "postgresql.json").read_text()))
    assert len(sqlite_rows) > 100
    assert postgresql_rows == sqlite_rows
    assert exact_rows() == sqlite_exact
    assert min(TimeEntry.objects.values_list("start", flat=True)).isoformat() == "2024-03-01T13:37:58.691331+00:00"
    assert User.objects.get(username="alice").date_joined.microsecond != 0 or User.objects.get(
        username="bob").date_joined.microsecond != 0
    assert sorted(TimeEntry.objects.values_list("notes", flat=True)) == ["", "Café ☕ „quoted“", "running"]
    # The sequences follow the loaded ids.
    moved = TimeEntry.objects.first()
    copy = TimeEntry.objects.create(owner=moved.owner, project=moved.project, start=moved.start, end=moved.end)
    assert copy.pk == max(TimeEntry.objects.exclude(pk=copy.pk).values_list("pk", flat=True)) + 1
