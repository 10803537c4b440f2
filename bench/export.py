"""Benchmark of the exports on PostgreSQL: a filtered CSV export of 1,000,000 time entries and
a GDPR ZIP of a user with 100,000 entries, with rows per second and peak memory.

    .venv/bin/python bench/export.py [--csv-rows 1000000] [--gdpr-rows 100000] [--small-rows 100000]

Without DATABASE_URL it starts a throw-away PostgreSQL the way scripts/test.sh does (initdb
and pg_ctl on a free port in a temporary folder, removed at the end); with DATABASE_URL it
uses that database (an empty one you can drop). Rows are generated in SQL. Each export runs in
its own child process through the export service, so "peak RSS" is the child's maximum
resident set and "growth" what the export added on top of the loaded Django process. The
filtered CSV export is also run on --small-rows entries: equal peaks for both sizes show that
memory does not grow with the number of rows.
"""

import argparse
import glob
import json
import os
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = str(ROOT / ".venv" / "bin" / "python") if (ROOT / ".venv" / "bin" / "python").exists() else sys.executable


# --------------------------------------------------------------------------------------
# A throw-away PostgreSQL, as scripts/test.sh starts it.


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def as_postgres(args: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


class ThrowAwayPostgres:
    def __init__(self):
        bins = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]))
        if not bins:
            sys.exit("PostgreSQL is not installed (apt-get install postgresql), or set DATABASE_URL.")
        self.bin = Path(bins[-1])
        self.work = Path(tempfile.mkdtemp(prefix="timetracker-bench."))
        self.work.chmod(0o755)
        self.data = self.work / "pg"
        self.port = free_port()

    def start(self) -> str:
        self.data.mkdir()
        if os.geteuid() == 0:
            shutil.chown(self.data, "postgres")
        run = lambda args: subprocess.run(as_postgres(args), check=True, stdout=subprocess.DEVNULL)  # noqa: E731
        run([str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
             "--locale=C.UTF-8"])  # fmt: skip
        run([str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.data / "server.log"), "-w", "-o",
             f"-p {self.port} -k {self.data} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off",
             "start"])  # fmt: skip
        run([str(self.bin / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "timetracker"])
        return f"postgres://postgres@127.0.0.1:{self.port}/timetracker"

    def stop(self) -> None:
        subprocess.run(
            as_postgres([str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop"]),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        shutil.rmtree(self.work, ignore_errors=True)


# --------------------------------------------------------------------------------------
# Child process modes: set up data, or run one export and report.


def django_setup() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "timetracker.settings")
    import django

    django.setup()


def rss_kib() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def child_generate(username: str, rows: int) -> dict:
    """A user and `rows` entries over 50 projects of 20 clients, 100 tasks, 10 tags, in SQL."""
    django_setup()
    from django.contrib.auth import get_user_model
    from django.db import connection

    from timetracker.models import Client, Project, Tag, Task, TimeEntry, UserProfile

    user = get_user_model().objects.create_user(username=username, email=f"{username}@example.com", password="x")
    UserProfile.objects.update_or_create(user=user, defaults={"timezone": "Europe/Berlin"})
    if not Project.objects.exists():
        clients = [Client.objects.create(name=f"Client {n}") for n in range(20)]
        projects = [Project.objects.create(name=f"Project {n}", client=clients[n % 20]) for n in range(50)]
        for n in range(100):
            Task.objects.create(project=projects[n % 50], name=f"Task {n}")
        for n in range(10):
            Tag.objects.create(name=f"tag-{n}" if n else "=formula-tag")
    project_ids = list(Project.objects.order_by("id").values_list("id", flat=True))
    task_ids = list(Task.objects.order_by("id").values_list("id", flat=True))
    tag_ids = list(Tag.objects.order_by("id").values_list("id", flat=True))
    entries = TimeEntry._meta.db_table
    through = TimeEntry.tags.through._meta.db_table
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {entries} (owner_id, project_id, task_id, start, "end", duration_seconds, notes, billable,
                                   source_system, source_id, created_at, updated_at)
            SELECT %s, (%s::bigint[])[1 + g %% 50], CASE WHEN g %% 3 = 0 THEN NULL ELSE (%s::bigint[])[1 + g %% 100] END,
                   s, s + make_interval(secs => 300 + g %% 7200 + (g %% 1000) / 1000.0), 300 + g %% 7200,
                   CASE WHEN g %% 50 = 0 THEN '=HYPERLINK("x")' ELSE 'Work item ' || g || ', café "quoted"' END,
                   g %% 4 <> 0, '', '', now(), now()
            FROM generate_series(1, %s) AS g,
                 LATERAL (SELECT timestamptz '2020-01-01 08:00+00' + make_interval(mins => 5 * g)) AS t(s)
            """,
            [user.pk, project_ids, task_ids, rows],
        )
        # About one tag in two entries, two tags in one of five.
        cursor.execute(
            f"""
            INSERT INTO {through} (timeentry_id, tag_id)
            SELECT e.id, (%s::bigint[])[1 + e.id %% 10] FROM {entries} e WHERE e.owner_id = %s AND e.id %% 2 = 0
            UNION ALL
            SELECT e.id, (%s::bigint[])[1 + (e.id + 3) %% 10] FROM {entries} e WHERE e.owner_id = %s AND e.id %% 5 = 0
            ON CONFLICT DO NOTHING
            """,
            [tag_ids, user.pk, tag_ids, user.pk],
        )
        cursor.execute("ANALYZE")
    return {"user": username, "rows": TimeEntry.objects.filter(owner=user).count(),
            "seconds": round(time.perf_counter() - started, 1)}  # fmt: skip


def child_export(kind: str, username: str) -> dict:
    django_setup()
    from django.contrib.auth import get_user_model

    from exports import services

    user = get_user_model().objects.get(username=username)
    if kind == "csv":
        export = services.data_export_create(
            user=user, export_type="filtered", export_format="csv", enqueue=False,
            filters={"start_date": "2019-12-31", "end_date": "2035-12-31"},
        )  # fmt: skip
    else:
        export = services.data_export_create(user=user, export_type="gdpr", export_format="zip", enqueue=False)
    baseline = rss_kib()
    cpu_before = resource.getrusage(resource.RUSAGE_SELF)
    started = time.perf_counter()
    export = services.data_export_run(data_export_id=export.pk)
    seconds = time.perf_counter() - started
    cpu_after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (cpu_after.ru_utime - cpu_before.ru_utime) + (cpu_after.ru_stime - cpu_before.ru_stime)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if export.status != "completed":
        raise SystemExit(f"export failed: {export.error_message}")
    entries = export.record_count if kind == "csv" else user.time_entries.count()
    return {
        "kind": kind,
        "entries": entries,
        "records": export.record_count,
        "seconds": round(seconds, 2),
        "entries_per_second": round(entries / seconds),
        "cpu_seconds": round(cpu, 2),
        "entries_per_cpu_second": round(entries / cpu),
        "file_mib": round(export.file_size / 2**20, 1),
        "baseline_rss_mib": round(baseline / 1024, 1),
        "peak_rss_mib": round(peak / 1024, 1),
        "growth_mib": round((peak - baseline) / 1024, 1),
    }


def in_child(*args: str) -> dict:
    result = subprocess.run(
        [PYTHON, __file__, "--child", *args], cwd=ROOT, env=os.environ.copy(), capture_output=True, text=True
    )
    if result.returncode != 0:
        sys.exit(f"child {args} failed:\n{result.stderr}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--csv-rows", type=int, default=1_000_000)
    parser.add_argument("--gdpr-rows", type=int, default=100_000)
    parser.add_argument("--small-rows", type=int, default=100_000, help="second CSV size, to compare memory")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child:
        mode, *rest = args.child
        result = child_generate(rest[0], int(rest[1])) if mode == "generate" else child_export(mode, rest[0])
        print(json.dumps(result))
        return

    postgres = None
    work = Path(tempfile.mkdtemp(prefix="timetracker-bench-files."))
    if not os.environ.get("DATABASE_URL"):
        postgres = ThrowAwayPostgres()
        os.environ["DATABASE_URL"] = postgres.start()
    os.environ["PRIVATE_STORAGE_DIR"] = str(work / "private")
    os.environ["DATA_DIR"] = str(work / "data")
    os.environ.pop("REDIS_URL", None)  # the service runs in this process, no worker needed
    try:
        subprocess.run([PYTHON, "manage.py", "migrate", "--noinput"], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
        print(f"PostgreSQL: {os.environ['DATABASE_URL']}")
        for username, rows in (("bench_csv", args.csv_rows), ("bench_small", args.small_rows),
                               ("bench_gdpr", args.gdpr_rows)):  # fmt: skip
            made = in_child("generate", username, str(rows))
            print(f"generated {made['rows']:,} entries for {username} in {made['seconds']} s")

        results = [
            in_child("csv", "bench_csv"),
            in_child("csv", "bench_small"),
            in_child("zip", "bench_gdpr"),
        ]
        print()
        print(f"{'export':<14}{'entries':>10}{'seconds':>9}{'entries/s':>11}{'CPU s':>8}{'entries/CPU s':>15}"
              f"{'file MiB':>10}{'base RSS':>10}{'peak RSS':>10}{'growth':>8}")  # fmt: skip
        labels = {"csv": "filtered CSV", "zip": "GDPR ZIP"}
        for r in results:
            print(f"{labels[r['kind']]:<14}{r['entries']:>10,}{r['seconds']:>9}{r['entries_per_second']:>11,}"
                  f"{r['cpu_seconds']:>8}{r['entries_per_cpu_second']:>15,}{r['file_mib']:>10}"
                  f"{r['baseline_rss_mib']:>10}{r['peak_rss_mib']:>10}{r['growth_mib']:>8}")  # fmt: skip
        print("\nMiB. Peak RSS: the export process's maximum resident set; growth: peak minus the RSS")
        print("before the export. CPU s: the export process's own CPU time (PostgreSQL's is not counted),")
        print(f"a measure less affected by other load; load average now: {os.getloadavg()[0]:.1f}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
        if postgres:
            postgres.stop()


if __name__ == "__main__":
    main()
