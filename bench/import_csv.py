"""Benchmark: generate N template rows, import them through the import service, print rows
per second and peak memory.

    .venv/bin/python bench/import_csv.py [--rows 100000] [--tracemalloc]

Without DATABASE_URL it runs on a throw-away SQLite file; with DATABASE_URL (an empty
database you can drop) on PostgreSQL. Peak memory: the growth of the process's maximum
resident set during the import, and with --tracemalloc the peak of Python allocations
(slower). Run it for two sizes to see that memory does not grow with N.
"""

import argparse
import csv
import os
import random
import resource
import sys
import tempfile
import time
import tracemalloc
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def generate(path: Path, rows: int) -> None:
    """Template rows spread over 2 years, 40 projects of 8 clients, 5 tasks each, 12 tags."""
    rng = random.Random(42)
    start = datetime(2023, 1, 2, 8, 0)
    with open(path, "w", newline="", encoding="utf-8") as target:
        writer = csv.writer(target)
        writer.writerow(
            ["project_name", "client_name", "task_name", "start_time", "end_time", "duration_hours", "notes", "tags", "billable"]
        )
        for number in range(rows):
            project = rng.randrange(40)
            begin = start + timedelta(minutes=7 * number)
            length = timedelta(minutes=rng.randrange(5, 240))
            tags = ";".join(sorted({f"tag-{rng.randrange(12)}" for _ in range(rng.randrange(3))}))
            writer.writerow(
                [
                    f"Project {project}",
                    f"Client {project % 8}",
                    f"Task {rng.randrange(5)}",
                    begin.strftime("%Y-%m-%d %H:%M:%S"),
                    (begin + length).strftime("%Y-%m-%d %H:%M:%S"),
                    "",
                    f"Work item {number}",
                    tags,
                    "yes" if number % 3 else "no",
                ]
            )


def max_rss_kib() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--tracemalloc", action="store_true", help="also measure the peak of Python allocations")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="tt-bench-"))
    os.environ.setdefault("DATA_DIR", str(workdir / "data"))
    os.environ["PRIVATE_STORAGE_DIR"] = str(workdir / "private")
    os.environ.pop("REDIS_URL", None)  # the bench runs the task body in this process
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "timetracker.settings")
    (workdir / "data").mkdir(exist_ok=True)

    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection

    from imports.services import (
        CsvImportOptions,
        csv_import_create,
        csv_import_run,
        csv_upload_store,
    )
    from timetracker.models import TimeEntry

    settings.MAX_UPLOAD_SIZE = 1 << 40
    call_command("migrate", verbosity=0)
    user, _ = get_user_model().objects.get_or_create(username="bench", defaults={"email": "bench@example.com"})
    TimeEntry.objects.filter(owner=user).delete()

    source = workdir / "bench.csv"
    generate(source, args.rows)
    with open(source, "rb") as upload:
        stored = csv_upload_store(user=user, uploaded_file=upload)
    data_import = csv_import_create(
        user=user, stored_file=stored, source_file_name=source.name, options=CsvImportOptions(timezone="UTC"),
        enqueue=False,
    )

    if args.tracemalloc:
        tracemalloc.start()
    rss_before = max_rss_kib()
    began, cpu_began = time.perf_counter(), time.process_time()
    data_import = csv_import_run(data_import_id=data_import.pk)
    elapsed, cpu = time.perf_counter() - began, time.process_time() - cpu_began
    rss_growth = max_rss_kib() - rss_before
    python_peak = tracemalloc.get_traced_memory()[1] if args.tracemalloc else None

    assert data_import.status == "completed", data_import.status_message
    assert TimeEntry.objects.filter(owner=user).count() == args.rows
    first = TimeEntry.objects.get(owner=user, notes="Work item 0")
    assert first.start.isoformat() == "2023-01-02T08:00:00+00:00", first.start
    assert first.duration_seconds == (first.end - first.start).total_seconds()
    print(f"database: {connection.vendor}")
    print(f"rows: {args.rows}, file: {source.stat().st_size / 1e6:.1f} MB")
    print(f"time: {elapsed:.1f} s, {args.rows / elapsed:,.0f} rows/s")
    # On a busy machine wall time includes waiting for a CPU; this is this process's own work
    # (the database server's is not included).
    print(f"CPU time of this process: {cpu:.1f} s, {args.rows / cpu:,.0f} rows per CPU second")
    print(f"peak RSS growth during import: {rss_growth / 1024:.1f} MiB (max RSS {max_rss_kib() / 1024:.1f} MiB)")
    if python_peak is not None:
        print(f"peak Python allocations (tracemalloc): {python_peak / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
