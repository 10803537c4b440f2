"""Throughput and peak memory of the mileage CSV and PDF exports.

    .venv/bin/python bench/travel_exports.py [--rows 20000] [--pdf-rows 300]

Runs on a throw-away SQLite database in a temporary DATA_DIR unless DATABASE_URL is set (then
it adds rows for a user "bench-travel" there and removes them afterwards).
"""

import argparse
import io
import os
import sys
import tempfile
import time
import tracemalloc
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
if not os.environ.get("DATABASE_URL"):
    os.environ["DATA_DIR"] = tempfile.mkdtemp(prefix="travel-bench-")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "timetracker.settings")

import django  # noqa: E402

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from tqdm import tqdm  # noqa: E402

from timetracker.models import Mileage  # noqa: E402
from travel import services  # noqa: E402
from travel.reports import MILEAGE  # noqa: E402
from travel.selectors import TravelFilters  # noqa: E402


def make_rows(user, count: int) -> None:
    batch = []
    for n in tqdm(range(count), desc="rows", unit="row"):
        trip = Mileage(
            owner=user, date=date(2024, 1, 1) + timedelta(days=n % 365), purpose=f"Trip {n} Zoë Łukasz 山田",
            from_location="Berlin", to_location="Potsdam", distance=Decimal(n % 500), round_trip=n % 2 == 0,
            rate_per_unit=Decimal("0.300"),
        )
        trip.amount = trip.compute_amount()
        batch.append(trip)
        if len(batch) == 2000:
            Mileage.objects.bulk_create(batch)
            batch = []
    Mileage.objects.bulk_create(batch)


def measure(label: str, rows: int, work) -> None:
    """Time one run, then trace the memory of a second (tracing slows it down several times)."""
    started = time.perf_counter()
    size = work()
    elapsed = time.perf_counter() - started
    tracemalloc.start()
    work()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"{label}: {rows} rows in {elapsed:.2f}s = {rows / elapsed:,.0f} rows/s, "
          f"{size / 1e6:.1f} MB out, peak Python memory {peak / 1e6:.1f} MB")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=20000)
    parser.add_argument("--pdf-rows", type=int, default=300)
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL"):
        call_command("migrate", verbosity=0)
    user, _ = get_user_model().objects.get_or_create(username="bench-travel")
    try:
        make_rows(user, args.rows)
        everything = MILEAGE.select(user=user, filters=TravelFilters())
        measure("CSV", args.rows, lambda: sum(len(chunk) for chunk in services.csv_stream(report=MILEAGE,
                                                                                       queryset=everything)))
        pdf_rows = everything[: args.pdf_rows]
        ids = TravelFilters().with_ids(pdf_rows.values_list("pk", flat=True))
        some = MILEAGE.select(user=user, filters=ids)

        def pdf() -> int:
            buffer = io.BytesIO()
            services.pdf_write(report=MILEAGE, user=user, filters=ids, queryset=some, dest=buffer)
            return buffer.tell()

        measure("PDF", args.pdf_rows, pdf)
    finally:
        user.delete()


if __name__ == "__main__":
    main()
