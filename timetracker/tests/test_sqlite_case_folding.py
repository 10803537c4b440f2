"""Name filters and text search fold the case of any letter in the embedded set-up (SQLite,
scripts/run.sh), as on PostgreSQL. The suite runs on PostgreSQL, so this runs a script in a
subprocess on a SQLite file in a temporary DATA_DIR."""

import json
import os
import subprocess
import sys

from conftest import REPO_ROOT

SCRIPT = r"""
import csv, io, json, tempfile
from datetime import date
from decimal import Decimal
from pathlib import Path
import django
django.setup()
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.test import Client as HttpClient
from django.test.utils import setup_test_environment
from conftest import make_user
from exports.tests.factories import at, entry
from timetracker.models import Mileage, Project
assert settings.DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3"
call_command("migrate", verbosity=0)
alice = make_user("alice")
for day, notes in ((1, "Call with Łukasz"), (2, "Łukasz review")):
    entry(alice, start=at(f"2024-01-0{day} 09:00"), end=at(f"2024-01-0{day} 10:00"), project="Zoë Łukasz 山田",
          client=None, notes=notes)
entry(alice, start=at("2024-01-03 09:00"), end=at("2024-01-03 10:00"), project="Other", client=None)
for day, place in ((1, "Köln"), (2, "Köln"), (3, "Bonn")):
    Mileage.objects.create(owner=alice, date=date(2024, 3, day), purpose="Fair", from_location="Berlin",
                           to_location=place, distance=Decimal(10), rate_per_unit=Decimal("0.3"))

def exported(*options):
    out = Path(tempfile.mkdtemp()) / "out.csv"
    call_command("export_entries", "--user", "alice", "--output", str(out), "--no-progress", *options)
    return [row["notes"] for row in csv.DictReader(io.StringIO(out.read_text("utf-8-sig")))]

setup_test_environment()  # responses carry their template context
http = HttpClient()
http.force_login(alice)
outcome = {
    "project": [exported("--project", name) for name in ("Zoë Łukasz 山田", "zoë łukasz 山田", "ZOË ŁUKASZ 山田")],
    "search": [exported("--search", term) for term in ("Łukasz", "łukasz", "ŁUKASZ")],
    "mileage": [[m.to_location for m in http.get(f"/mileage/?search={term}").context["rows"]]
                for term in ("köln", "KÖLN")],
    "sql": list(connection.cursor().execute("SELECT upper('zoë łukasz'), lower('ŁÓDŹ'), 'ÉTÉ' LIKE 'été'").fetchone()),
    "exact": Project.objects.filter(name__exact="zoë łukasz 山田").count(),
}
print(json.dumps(outcome, ensure_ascii=False))
"""


def test_sqlite_name_filters_and_search_fold_the_case_of_any_letter(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(DATA_DIR=str(tmp_path), DJANGO_SETTINGS_MODULE="timetracker.settings", PYTHONPATH=str(REPO_ROOT))
    done = subprocess.run([sys.executable, "-c", SCRIPT], cwd=REPO_ROOT, env=env, capture_output=True, text=True,
                          timeout=240, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    outcome = json.loads(done.stdout.strip().splitlines()[-1])
    both = ["Call with Łukasz", "Łukasz review"]
    assert outcome == {
        "project": [both, both, both],
        "search": [both, both, both],
        "mileage": [["Köln", "Köln"], ["Köln", "Köln"]],
        "sql": ["ZOË ŁUKASZ", "łódź", 1],
        # Django's `exact` on SQLite stays exact (=, not LIKE).
        "exact": 0,
    }
