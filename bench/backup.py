"""Benchmark of backup and restore on PostgreSQL: the product's backup and restore of a
database with N time entries, against plain pg_dump / pg_restore of the same database (the
floor: what PostgreSQL's own tools take for the same data).

    .venv/bin/python bench/backup.py [--entries 1000000] [--portable]

Without DATABASE_URL it starts a throw-away PostgreSQL the way scripts/test.sh does (see
bench/export.py); with DATABASE_URL it uses that database (an empty one you can drop: the
restores replace it). Rows are generated in SQL (INSERT ... SELECT generate_series). Each step
runs in its own child process. MB/s is the database's size (pg_database_size before the
backup) divided by the seconds, so the rows compare like with like; "archive MB" is the size of
the file written. The product's restore includes everything it does: validation, the safety
backup of the database it replaces, migrations and the row-count check. Raw pg_restore runs
with --clean --if-exists into the same database, one job.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
# The throw-away PostgreSQL and the child-process helpers of bench/export.py.
from export import PYTHON, ThrowAwayPostgres, django_setup


def child_generate(entries: int) -> dict:
    """One user, 20 clients, 50 projects, 100 tasks, 10 tags and `entries` time entries with
    about 0.7 tags each, all in SQL."""
    django_setup()
    from django.contrib.auth import get_user_model
    from django.db import connection

    from timetracker.models import Client, Project, Tag, Task, TimeEntry

    started = time.perf_counter()
    user = get_user_model().objects.create_user(username="bench", email="bench@example.com", password="x")
    clients = [Client.objects.create(name=f"Client {n}") for n in range(20)]
    projects = [Project.objects.create(name=f"Project {n}", client=clients[n % 20]) for n in range(50)]
    tasks = [Task.objects.create(project=projects[n % 50], name=f"Task {n}") for n in range(100)]
    tags = [Tag.objects.create(name=f"tag-{n}") for n in range(10)]
    entries_table = TimeEntry._meta.db_table
    through = TimeEntry.tags.through._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {entries_table} (owner_id, project_id, task_id, start, "end", duration_seconds, notes,
                                         billable, source_system, source_id, created_at, updated_at)
            SELECT %s, (%s::bigint[])[1 + g %% 50], CASE WHEN g %% 3 = 0 THEN NULL ELSE (%s::bigint[])[1 + g %% 100] END,
                   s, s + make_interval(secs => 300 + g %% 7200), 300 + g %% 7200,
                   'Work item ' || g || ', café "quoted"', g %% 4 <> 0, '', '', now(), now()
            FROM generate_series(1, %s) AS g,
                 LATERAL (SELECT timestamptz '2020-01-01 08:00+00' + make_interval(mins => 5 * g)) AS t(s)
            """,
            [user.pk, [p.pk for p in projects], [t.pk for t in tasks], entries],
        )
        cursor.execute(
            f"""
            INSERT INTO {through} (timeentry_id, tag_id)
            SELECT e.id, (%s::bigint[])[1 + e.id %% 10] FROM {entries_table} e WHERE e.id %% 2 = 0
            UNION ALL
            SELECT e.id, (%s::bigint[])[1 + (e.id + 3) %% 10] FROM {entries_table} e WHERE e.id %% 5 = 0
            ON CONFLICT DO NOTHING
            """,
            [[t.pk for t in tags], [t.pk for t in tags]],
        )
        cursor.execute("ANALYZE")
        cursor.execute("SELECT pg_database_size(current_database())")
        database_bytes = cursor.fetchone()[0]
    return {"entries": TimeEntry.objects.count(), "seconds": round(time.perf_counter() - started, 1),
            "database_bytes": database_bytes}  # fmt: skip


def child_count() -> dict:
    django_setup()
    from timetracker.models import TimeEntry

    return {"entries": TimeEntry.objects.count()}


def child_backup(portable: bool) -> dict:
    django_setup()
    from backups.services import backup_create

    started = time.perf_counter()
    info = backup_create(portable=portable, trigger="manual")
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "archive_bytes": info.size, "path": str(info.path)}


def child_restore(archive: str) -> dict:
    django_setup()
    from backups.services import backup_restore

    started = time.perf_counter()
    status = backup_restore(archive_path=Path(archive))
    seconds = time.perf_counter() - started
    if status.state != "completed":
        raise SystemExit(f"restore ended {status.state}: {status.message}")
    return {"seconds": seconds}


def in_child(*args: str) -> dict:
    result = subprocess.run([PYTHON, __file__, "--child", *args], check=False, cwd=ROOT, env=os.environ.copy(),
                            capture_output=True, text=True)  # fmt: skip
    if result.returncode != 0:
        sys.exit(f"child {args} failed:\n{result.stdout}\n{result.stderr}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def timed(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def pg_tool(name: str) -> str:
    pg_bin = os.environ.get("PG_BIN")
    return str(Path(pg_bin) / name) if pg_bin else (shutil.which(name) or name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--portable", action="store_true", help="also time a portable (JSONL) backup and its restore")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child:
        mode, *rest = args.child
        if mode == "generate":
            result = child_generate(int(rest[0]))
        elif mode == "backup":
            result = child_backup(rest[0] == "portable")
        elif mode == "restore":
            result = child_restore(rest[0])
        else:
            result = child_count()
        print(json.dumps(result))
        return

    postgres = None
    work = Path(tempfile.mkdtemp(prefix="timetracker-bench-backup."))
    if not os.environ.get("DATABASE_URL"):
        postgres = ThrowAwayPostgres()
        os.environ["DATABASE_URL"] = postgres.start()
        os.environ.setdefault("PG_BIN", str(postgres.bin))
    os.environ["PATH"] = f"{os.environ['PG_BIN']}:{os.environ['PATH']}" if os.environ.get("PG_BIN") else os.environ["PATH"]
    os.environ["DATA_DIR"] = str(work / "data")
    os.environ["PRIVATE_STORAGE_DIR"] = str(work / "private")
    os.environ["BACKUP_DIR"] = str(work / "backups")
    os.environ.pop("REDIS_URL", None)  # the services run in the child process, no worker needed
    url = os.environ["DATABASE_URL"]
    try:
        subprocess.run([PYTHON, "manage.py", "migrate", "--noinput"], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
        made = in_child("generate", str(args.entries))
        database_mb = made["database_bytes"] / 1e6
        print(f"PostgreSQL: {url}")
        print(f"generated {made['entries']:,} time entries in {made['seconds']} s; database {database_mb:.1f} MB")

        rows = []

        def row(label: str, seconds: float, archive_bytes: int | None = None) -> None:
            rows.append((label, seconds, archive_bytes))

        kinds = ["native", "portable"] if args.portable else ["native"]
        for kind in kinds:
            backup = in_child("backup", kind)
            row(f"product backup ({kind})", backup["seconds"], backup["archive_bytes"])
            restore = in_child("restore", backup["path"])
            row(f"product restore ({kind})", restore["seconds"])
            restored = in_child("count")["entries"]
            if restored != made["entries"]:
                sys.exit(f"product restore ({kind}) left {restored} entries, expected {made['entries']}")

        dump = work / "raw.dump"
        row("raw pg_dump -Fc", timed([pg_tool("pg_dump"), "-Fc", "-d", url, "-f", str(dump)]), dump.stat().st_size)
        row("raw pg_restore --clean", timed([pg_tool("pg_restore"), "--clean", "--if-exists", "--no-owner",
                                             "-d", url, str(dump)]))  # fmt: skip
        restored = in_child("count")["entries"]
        if restored != made["entries"]:
            sys.exit(f"raw pg_restore left {restored} entries, expected {made['entries']}")

        print()
        print(f"{'step':<28}{'seconds':>9}{'MB/s':>9}{'archive MB':>12}{'x floor':>9}")
        floors = {"backup": rows[-2][1], "restore": rows[-1][1]}
        for label, seconds, archive_bytes in rows:
            archive = f"{archive_bytes / 1e6:.1f}" if archive_bytes is not None else "-"
            kind = "backup" if ("backup" in label or "dump" in label) else "restore"
            print(f"{label:<28}{seconds:>9.2f}{database_mb / seconds:>9.1f}{archive:>12}"
                  f"{seconds / floors[kind]:>9.2f}")  # fmt: skip
        print(f"\nMB/s: database size ({database_mb:.1f} MB) / seconds. x floor: seconds / raw pg_dump or pg_restore.")
        print(f"load average now: {os.getloadavg()[0]:.1f}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
        if postgres:
            postgres.stop()


if __name__ == "__main__":
    main()
