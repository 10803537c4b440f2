"""Throughput and peak memory of the Toggl and Harvest pulls against the local fake APIs.

    DATA_DIR=$(mktemp -d) .venv/bin/python bench/pulls_bench.py --entries 2000 8000

Uses SQLite under DATA_DIR unless DATABASE_URL is set. Memory is Python's tracemalloc peak
during the pull (the fake server's canned data is built before tracing starts); it should
stay flat as the entry count grows, since each page is written and dropped.
"""

import argparse
import os
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "timetracker.settings")

import django

django.setup()

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command

from imports.models import DataImport
from imports.pulls import pull_credentials_seal, pull_execute
from imports.tests.fake_harvest import FakeHarvest, harvest_entry
from imports.tests.fake_toggl import FakeToggl
from timetracker.models import TimeEntry


def run(kind: str, entries: int) -> None:
    user, _ = get_user_model().objects.get_or_create(username=f"bench-{kind}-{entries}")
    TimeEntry.objects.filter(owner=user).delete()
    if kind == "toggl":
        fake = FakeToggl().start()
        settings.TOGGL_API_URL, settings.TOGGL_MIN_REQUEST_INTERVAL = fake.url, 0
        for n in range(entries):
            day = f"2023-{n % 12 + 1:02d}-{n % 28 + 1:02d}"
            fake.add_entry(entry_id=5_000_000_000 + n, start=f"{day}T08:{n % 60:02d}:00+00:00",
                           stop=f"{day}T09:{n % 60:02d}:00+00:00", description=f"entry {n}")
        options = {"start": "2023-01-01", "end": "2023-12-31", "workspace_id": "2000002"}
        credentials = {"token": fake.token}
    else:
        fake = FakeHarvest().start()
        settings.HARVEST_API_URL = fake.url
        fake.entries = [harvest_entry(n, f"2023-{n % 12 + 1:02d}-{n % 28 + 1:02d}", hours=1.25, notes=f"e{n}")
                        for n in range(entries)]
        options = {"start": "2023-01-01", "end": "2023-12-31", "account_id": fake.account_id, "timezone": "UTC"}
        credentials = {"token": fake.token, "account_id": fake.account_id}
    for label in ("first", "rerun"):
        data_import = DataImport.objects.create(owner=user, import_type=kind, options=options)
        tracemalloc.start()
        started = time.perf_counter()
        pull_execute(import_id=data_import.pk, sealed_credentials=pull_credentials_seal(credentials))
        elapsed = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        data_import.refresh_from_db()
        assert data_import.status == "completed", data_import.status_message
        assert TimeEntry.objects.filter(owner=user).count() == entries
        expected = (entries, 0) if label == "first" else (0, entries)
        assert (data_import.created_records, data_import.unchanged_records) == expected
        assert data_import.deleted_records == 0
        print(f"{kind:8} {label:6} {entries:7d} entries  {elapsed:6.2f} s  {entries / elapsed:8.0f} entries/s  "
              f"peak {peak / 1024 / 1024:6.1f} MiB")
    fake.stop()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--entries", type=int, nargs="+", default=[1000, 4000])
    parser.add_argument("--kinds", nargs="+", default=["toggl", "harvest"], choices=["toggl", "harvest"])
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    for kind in args.kinds:
        for entries in args.entries:
            run(kind, entries)


if __name__ == "__main__":
    main()
