"""Database snapshots and replacement, per engine, plus the portable JSON-lines format.

PostgreSQL: `pg_dump --format=custom` from an exported snapshot (the row counts in the
manifest are read in that same snapshot, so they match the dump exactly); replacement drops
and recreates the `public` schema and replays the dump in ONE psql transaction, so a restore
killed half-way leaves the old database. SQLite: the online backup API, both ways.
"""

from __future__ import annotations

import datetime
import logging
import os
import shutil
import sqlite3
import subprocess
from collections.abc import Callable, Iterable
from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.core import serializers
from django.core.management.color import no_style
from django.core.serializers.json import DjangoJSONEncoder
from django.core.serializers.jsonl import Serializer as JsonlSerializer
from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.recorder import MigrationRecorder
from django.db.models import Prefetch

from .types import BackupError

logger = logging.getLogger(__name__)

MIGRATIONS_TABLE = "django_migrations"
PORTABLE_BATCH = 1000


def engine_name() -> str:
    return connection.vendor  # "postgresql" or "sqlite"


# ---------------------------------------------------------------- migrations and row counts


def applied_migrations() -> dict[str, list[str]]:
    applied: dict[str, list[str]] = {}
    for app_label, name in sorted(MigrationRecorder(connection).applied_migrations()):
        applied.setdefault(app_label, []).append(name)
    return applied


def unknown_migrations(migrations: dict[str, list[str]]) -> list[str]:
    """Migrations of a backup this code does not have (the backup was made by newer code)."""
    known = set(MigrationLoader(None, ignore_no_migrations=True).disk_migrations)
    return [f"{app}.{name}" for app, names in sorted(migrations.items()) for name in names if (app, name) not in known]


def table_row_counts(cursor, tables: Iterable[str] | None = None, *, connection=connection) -> dict[str, int]:
    if tables is None:
        tables = connection.introspection.table_names(cursor)
    quote = connection.ops.quote_name
    counts = {}
    for table in sorted(tables):
        if table == MIGRATIONS_TABLE:
            continue  # grows when an older backup is migrated forward; the manifest lists migrations
        cursor.execute(f"SELECT COUNT(*) FROM {quote(table)}")
        counts[table] = cursor.fetchone()[0]
    return counts


def current_row_counts(tables: Iterable[str] | None = None) -> dict[str, int]:
    with connection.cursor() as cursor:
        existing = set(connection.introspection.table_names(cursor))
        wanted = existing if tables is None else existing & set(tables)
        return table_row_counts(cursor, wanted)


# ---------------------------------------------------------------- PostgreSQL


def pg_program(name: str) -> str:
    pg_bin = os.environ.get("PG_BIN")
    if pg_bin and (Path(pg_bin) / name).is_file():
        return str(Path(pg_bin) / name)
    found = shutil.which(name)
    if not found:
        raise BackupError(f"{name} was not found (set PG_BIN to the PostgreSQL bin folder)")
    return found


def _pg_args_and_env() -> tuple[list[str], dict[str, str]]:
    db = connection.settings_dict
    args = []
    if db.get("HOST"):
        args += ["-h", str(db["HOST"])]
    if db.get("PORT"):
        args += ["-p", str(db["PORT"])]
    if db.get("USER"):
        args += ["-U", str(db["USER"])]
    env = dict(os.environ)
    if db.get("PASSWORD"):
        env["PGPASSWORD"] = str(db["PASSWORD"])
    # The restore waits this long for other sessions' locks instead of failing at once.
    env["PGOPTIONS"] = f"-c lock_timeout={int(settings.BACKUP_RESTORE_LOCK_TIMEOUT_SECONDS)}s"
    return args, env


def _run(command: list[str], *, env: dict[str, str], stdout=None) -> None:
    result = subprocess.run(command, check=False, env=env, stdout=stdout or subprocess.PIPE, stderr=subprocess.PIPE)
    if result.returncode != 0:
        error = result.stderr.decode("utf-8", "replace").strip().splitlines()
        raise BackupError(f"{Path(command[0]).name} failed: {error[-1] if error else f'exit {result.returncode}'}")


def pg_dump(destination: Path) -> dict[str, int]:
    """Dump the database to `destination` (custom format); return its row counts, read in
    the very snapshot pg_dump dumps. A connection of its own, so that a caller inside a
    transaction does not matter."""
    args, env = _pg_args_and_env()
    snapshot_connection = connections.create_connection(DEFAULT_DB_ALIAS)
    try:
        snapshot_connection.ensure_connection()
        snapshot_connection.set_autocommit(False)
        with snapshot_connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            cursor.execute("SELECT pg_export_snapshot()")
            snapshot = cursor.fetchone()[0]
            counts = table_row_counts(cursor, connection=snapshot_connection)
            _run([pg_program("pg_dump"), *args, "--format=custom", "--no-owner", "--no-privileges",
                  f"--snapshot={snapshot}", "-f", str(destination), connection.settings_dict["NAME"]], env=env)
        snapshot_connection.rollback()
    finally:
        snapshot_connection.close()
    return counts


def pg_replace(dump: Path, *, work_dir: Path) -> None:
    """Replace the whole `public` schema by the dump, all or nothing."""
    args, env = _pg_args_and_env()
    script = work_dir / "restore.sql"
    with open(script, "wb") as out:
        out.write(b"DROP SCHEMA IF EXISTS public CASCADE;\nCREATE SCHEMA public;\n")
        out.flush()
        _run([pg_program("pg_restore"), "--no-owner", "--no-privileges", "-f", "-", str(dump)], env=env, stdout=out)
    connections.close_all()
    _run([pg_program("psql"), *args, "-X", "-q", "--single-transaction", "-v", "ON_ERROR_STOP=1",
          "-f", str(script), "-d", connection.settings_dict["NAME"]], env=env)
    script.unlink()


# ---------------------------------------------------------------- SQLite


def _sqlite_path() -> str:
    return str(connection.settings_dict["NAME"])


def sqlite_dump(destination: Path) -> dict[str, int]:
    source = sqlite3.connect(_sqlite_path(), timeout=30)
    target = sqlite3.connect(destination)
    try:
        source.backup(target)  # a consistent copy even while others write
        tables = [row[0] for row in target.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")]
        counts = {}
        for table in sorted(tables):
            if table != MIGRATIONS_TABLE:
                counts[table] = target.execute(f'SELECT COUNT(*) FROM "{table}"').fetchone()[0]
    finally:
        target.close()
        source.close()
    return counts


def sqlite_replace(database_file: Path) -> None:
    connections.close_all()
    source = sqlite3.connect(database_file)
    target = sqlite3.connect(_sqlite_path(), timeout=30)
    try:
        source.backup(target)  # one write transaction on the live file: all pages or none
    finally:
        target.close()
        source.close()


def native_dump(destination: Path) -> dict[str, int]:
    return pg_dump(destination) if engine_name() == "postgresql" else sqlite_dump(destination)


def native_replace(database_file: Path, *, work_dir: Path) -> None:
    if engine_name() == "postgresql":
        pg_replace(database_file, work_dir=work_dir)
    else:
        sqlite_replace(database_file)


# ---------------------------------------------------------------- portable (JSON lines)


def portable_models() -> list:
    """Concrete models in dependency order: a model comes after every model it refers to
    (Django's own sort_dependencies only orders models with natural keys)."""
    candidates = [model for model in apps.get_models() if model._meta.managed and not model._meta.proxy]
    candidates.sort(key=model_label)
    ordered: list = []
    visiting: set = set()

    def visit(model) -> None:
        if model in ordered or model in visiting:
            return  # a cycle: constraints are deferred until commit, so any order loads
        visiting.add(model)
        for field in [*model._meta.fields, *model._meta.local_many_to_many]:
            related = field.related_model if field.is_relation else None
            if related is not None and related is not model and related in candidates:
                visit(related)
        visiting.discard(model)
        ordered.append(model)

    for model in candidates:
        visit(model)
    return ordered


def _model_tables(models: list) -> list[str]:
    tables = []
    for model in models:
        tables.append(model._meta.db_table)
        for field in model._meta.local_many_to_many:
            if field.remote_field.through._meta.auto_created:
                tables.append(field.remote_field.through._meta.db_table)
    return tables


def model_label(model) -> str:
    return f"{model._meta.app_label}.{model._meta.model_name}"


def portable_dump(write_member: Callable[[str, Callable], None],
                  progress: Callable[[int, int], None] | None = None) -> tuple[list[str], dict[str, int]]:
    """Write one `data/<app>.<model>.jsonl` per model through `write_member(name, writer)`;
    return the model labels in order and the row counts, all from one snapshot."""
    models = portable_models()
    outermost = not connection.in_atomic_block  # else the caller's transaction is the snapshot
    with transaction.atomic():
        with connection.cursor() as cursor:
            if engine_name() == "postgresql" and outermost:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            counts = table_row_counts(cursor, _model_tables(models))
        total = sum(model._base_manager.count() for model in models)
        done = 0
        for model in models:
            # One query per chunk for the m2m ids instead of one per row.
            m2m = [Prefetch(field.name, queryset=field.related_model._base_manager.order_by("pk"))
                   for field in model._meta.local_many_to_many]
            queryset = model._base_manager.order_by("pk").prefetch_related(*m2m)

            def write(binary, queryset=queryset):
                stream = _BufferedText(binary)
                _PortableSerializer().serialize(queryset.iterator(chunk_size=PORTABLE_BATCH), stream=stream,
                                                cls=PortableJSONEncoder)
                stream.flush()

            write_member(f"data/{model_label(model)}.jsonl", write)
            done += counts.get(model._meta.db_table, 0)
            if progress:
                progress(done, total)
    return [model_label(model) for model in models], counts


class PortableJSONEncoder(DjangoJSONEncoder):
    """DjangoJSONEncoder cuts datetimes and times to milliseconds (ECMA-262); the portable
    format keeps every microsecond, so a restore gives identical rows."""

    def default(self, o):
        if isinstance(o, datetime.datetime):
            text = o.isoformat()
            return text[:-6] + "Z" if text.endswith("+00:00") else text
        if isinstance(o, datetime.time) and o.utcoffset() is None:
            return o.isoformat()
        return super().default(o)


class _PortableSerializer(JsonlSerializer):
    """Django's JSON-lines serializer, reading m2m ids from the prefetch cache: the stock one
    builds a queryset per row even when they are prefetched."""

    def handle_m2m_field(self, obj, field):
        prefetched = getattr(obj, "_prefetched_objects_cache", {})
        if field.remote_field.through._meta.auto_created and field.name in prefetched:
            self._current[field.name] = [self._value_from_field(related, related._meta.pk)
                                         for related in prefetched[field.name]]
            return
        super().handle_m2m_field(obj, field)


class _BufferedText:
    """The serializer writes a few bytes at a time; a zip member wants large chunks."""

    def __init__(self, binary, limit: int = 256 * 1024):
        self.binary, self.limit, self.parts, self.size = binary, limit, [], 0

    def write(self, text: str) -> None:
        self.parts.append(text)
        self.size += len(text)
        if self.size >= self.limit:
            self.flush()

    def flush(self) -> None:
        if self.parts:
            self.binary.write("".join(self.parts).encode("utf-8"))
        self.parts, self.size = [], 0


def portable_load(members: dict[str, Iterable[bytes]], labels: list[str]) -> None:
    """Empty every model table and load the JSON lines, in one transaction."""
    by_label = {model_label(model): model for model in portable_models()}
    unknown = [label for label in labels if label not in by_label]
    if unknown:
        raise BackupError(f"the backup holds models this version does not have: {', '.join(unknown)}")
    models = list(by_label.values())
    with transaction.atomic():
        with connection.cursor() as cursor:
            for statement in connection.ops.sql_flush(no_style(), _model_tables(models), allow_cascade=True):
                cursor.execute(statement)
        for label in labels:
            _portable_load_model(by_label[label], members[f"data/{label}.jsonl"])
        with connection.cursor() as cursor:
            for statement in connection.ops.sequence_reset_sql(no_style(), models):
                cursor.execute(statement)


def _portable_load_model(model, lines: Iterable[bytes]) -> None:
    batch: list = []
    relations: dict[str, list] = {}

    def insert(target, objects: list, *, with_pk: bool = True) -> None:
        # raw: stored values as they are; bulk_create would run pre_save and stamp every
        # auto_now / auto_now_add field with the time of the restore.
        if not objects:
            return
        fields = [field for field in target._meta.local_concrete_fields if with_pk or not field.primary_key]
        size = connection.ops.bulk_batch_size(fields, objects) or len(objects)
        for start in range(0, len(objects), size):
            target._base_manager._insert(objects[start:start + size], fields=fields, raw=True)

    def flush() -> None:
        if batch:
            insert(model, batch)
        for field_name, rows in relations.items():
            # Rows of an automatic m2m table carry no id in the JSON: the database numbers them.
            insert(model._meta.get_field(field_name).remote_field.through, rows, with_pk=False)
        batch.clear()
        relations.clear()

    text = (line.decode("utf-8") for line in lines if line.strip())
    for item in serializers.deserialize("jsonl", text, ignorenonexistent=True):
        batch.append(item.object)
        for field_name, related_ids in (item.m2m_data or {}).items():
            field = model._meta.get_field(field_name)
            through = field.remote_field.through
            if not through._meta.auto_created:
                continue  # an explicit through model has its own file
            source, target = field.m2m_field_name(), field.m2m_reverse_field_name()
            relations.setdefault(field_name, []).extend(
                through(**{f"{source}_id": item.object.pk, f"{target}_id": related}) for related in related_ids)
        if len(batch) >= PORTABLE_BATCH:
            flush()
    flush()
