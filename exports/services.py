"""Building export files: the GDPR export (JSON document or ZIP of datasets) and filtered
time-entry exports (CSV, JSON, XLSX).

Every writer streams: rows come from `.iterator(chunk_size=…)`, go straight into the file, and
the SHA-256 is computed from the same bytes on their way to disk, so memory stays flat
however many rows there are. Files are written under PRIVATE_STORAGE_DIR/exports/ with a
`.partial` name and renamed when complete, so a crash never leaves a half file behind a
completed record.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import logging
import os
import secrets
import shutil
import tempfile
import zipfile
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from datetime import timezone as dt_timezone
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import QuerySet, TextField
from django.db.models.expressions import RawSQL
from django.db.models.functions import Cast
from django.utils import timezone
from django.utils.text import slugify
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from imports.models import DataImport
from timetracker.lib.spreadsheet import neutralise_formula
from timetracker.lib.tag_cells import join_tag_names
from timetracker.models import ApiToken, Mileage, PerDiem, Tag, TimeEntry

from . import selectors
from .models import DataExport

logger = logging.getLogger(__name__)
User = get_user_model()

EXPORTS_SUBDIR = "exports"
CHUNK_SIZE = 5000
XLSX_MAX_ROWS = 1_048_575  # Excel's sheet limit minus the header row
PARTIAL_FILE_MAX_AGE = timedelta(days=1)
# A file no export refers to is deleted once this old: younger ones may still be being written
# (a travel PDF gets its record's file_path only when complete).
UNREFERENCED_FILE_MIN_AGE = timedelta(hours=1)
# Where export files live under PRIVATE_STORAGE_DIR: ours flat in exports/, the mileage and
# per-diem PDFs in travel/<export id>/ (travel.services.EXPORT_SUBDIR).
TRAVEL_EXPORTS_SUBDIR = "travel"

# Our CSV layout (issue 4, req. 3): the import template's columns with id and user_email in
# front. Our CSV importer reads it back.
TIME_ENTRY_CSV_COLUMNS = (
    "id",
    "user_email",
    "project_name",
    "client_name",
    "task_name",
    "start_time",
    "end_time",
    "duration_hours",
    "notes",
    "tags",
    "billable",
)

GDPR_FORMATS = (DataExport.Format.JSON, DataExport.Format.ZIP)
FILTERED_FORMATS = (DataExport.Format.CSV, DataExport.Format.JSON, DataExport.Format.XLSX)

ProgressCallback = Callable[[int, int], None]


class ExportRequestError(ValueError):
    """A request for an export that cannot be fulfilled as asked (bad format, bad filter)."""


# --------------------------------------------------------------------------------------
# Streaming sinks: bytes to a file (or ZIP member) while hashing them.


class HashingWriter(io.RawIOBase):
    """A write-only, non-seekable byte stream that forwards to `target` and hashes what passes.

    Non-seekable on purpose: zipfile then writes data descriptors instead of seeking back to
    patch headers, so the hash of the whole archive can be taken while it is written."""

    def __init__(self, target):
        super().__init__()
        self.target = target
        self.digest = hashlib.sha256()
        self.size = 0

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def write(self, data) -> int:
        data = bytes(data) if not isinstance(data, bytes) else data
        self.target.write(data)
        self.digest.update(data)
        self.size += len(data)
        return len(data)

    def tell(self) -> int:
        return self.size

    def flush(self) -> None:
        self.target.flush()

    @property
    def sha256(self) -> str:
        return self.digest.hexdigest()


class TextSink:
    """UTF-8 text on top of a HashingWriter, buffered in 64 KiB pieces (csv.writer calls
    write() once per row)."""

    BUFFER_CHARS = 64 * 1024

    def __init__(self, raw: HashingWriter):
        self.raw = raw
        self._parts: list[str] = []
        self._pending = 0

    def write(self, text: str) -> int:
        self._parts.append(text)
        self._pending += len(text)
        if self._pending >= self.BUFFER_CHARS:
            self.flush()
        return len(text)

    def flush(self) -> None:
        if self._parts:
            self.raw.write("".join(self._parts).encode("utf-8"))
            self._parts.clear()
            self._pending = 0


# --------------------------------------------------------------------------------------
# Progress: written to the DataExport row while the file is built, and to an optional
# callback (the management commands' tqdm bars).


class ExportProgress:
    def __init__(self, export: DataExport, callback: ProgressCallback | None = None):
        self.export = export
        self.callback = callback
        self.total = 0
        self.processed = 0
        self._saved = 0
        self._step = 500

    def set_total(self, total: int) -> None:
        self.total = total
        # Save about every 1% (at least every 2,000 rows), so the page's bar moves without
        # turning a big export into a storm of UPDATEs.
        self._step = max(2000, total // 100)
        DataExport.objects.filter(pk=self.export.pk).update(total_records=total, processed_records=0)
        if self.callback:
            self.callback(0, total)

    def advance(self, count: int = 1) -> None:
        self.processed += count
        if self.processed - self._saved >= self._step:
            self.save()

    def save(self) -> None:
        self._saved = self.processed
        done = min(self.processed, self.total)
        DataExport.objects.filter(pk=self.export.pk).update(processed_records=done)
        if self.callback:
            self.callback(done, self.total)

    def finish(self) -> None:
        self.processed = self.total
        self.save()


# --------------------------------------------------------------------------------------
# Cell formatting shared by every writer.

_zone_cache: dict[str, ZoneInfo] = {}


def _zone(name: str | None) -> ZoneInfo:
    name = name or "UTC"
    zone = _zone_cache.get(name)
    if zone is None:
        zone = _zone_cache[name] = ZoneInfo(name)
    return zone


def _iso(value: datetime | str | None, zone: ZoneInfo) -> str:
    """ISO 8601 with the UTC offset of `zone`; sub-second precision kept when present
    (re-importing our own export must not round `.837623` away). Takes a datetime or the
    database's text form of one (see time_entry_rows)."""
    if value is None:
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
        if value.tzinfo is None:  # SQLite stores UTC without an offset
            value = value.replace(tzinfo=dt_timezone.utc)
    return value.astimezone(zone).isoformat()


def hours_two_decimals(seconds: int) -> str:
    """5400 -> "1.50"; rounds half up like Decimal.quantize(ROUND_HALF_UP), in integers."""
    hundredths = (int(seconds) * 100 + 1800) // 3600
    return f"{hundredths // 100}.{hundredths % 100:02d}"


def _json_default(value):
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"Cannot serialise {type(value).__name__}")


def _json(value) -> str:
    return json.dumps(value, ensure_ascii=False, default=_json_default)


def _csv_cell(value) -> str:
    """A generic value as a CSV cell: text neutralised, booleans true/false, lists `;`-joined."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return neutralise_formula(value)
    if isinstance(value, (list, tuple)):
        return neutralise_formula(";".join(str(item) for item in value))
    if isinstance(value, dict):
        return neutralise_formula(_json(value))
    return str(value)


def _csv_writer(sink: TextSink):
    return csv.writer(sink, lineterminator="\r\n")


# --------------------------------------------------------------------------------------
# Time entries: one streamed source of rows for every format.

# Times are read as the database's text and parsed with datetime.fromisoformat: the ORM's
# per-value timestamp conversion was most of the cost of a large export.
_TIME_AS_TEXT = {f"{name}_as_text": Cast(name, TextField()) for name in ("start", "end", "created_at", "updated_at")}
_ENTRY_FIELDS = (
    "id",
    "owner__email",
    "owner__profile__timezone",
    "project__name",
    "project__client__name",
    "task__name",
    "start_as_text",
    "end_as_text",
    "duration_seconds",
    "notes",
    "billable",
    "source_system",
    "source_id",
    "created_at_as_text",
    "updated_at_as_text",
)
(
    _ID,
    _EMAIL,
    _TZ,
    _PROJECT,
    _CLIENT,
    _TASK,
    _START,
    _END,
    _SECONDS,
    _NOTES,
    _BILLABLE,
    _SOURCE_SYSTEM,
    _SOURCE_ID,
    _CREATED,
    _UPDATED,
) = range(len(_ENTRY_FIELDS))


def _tag_names_sql() -> RawSQL:
    """A correlated subquery: the entry's tag names in name order, as a JSON array (text).
    JSON rather than a joined string, so no character a tag name may hold can split it.
    One query, one snapshot, no per-chunk IN lists; uses the index on the M2M table."""
    quote = connection.ops.quote_name
    through = quote(TimeEntry.tags.through._meta.db_table)
    tag = quote(Tag._meta.db_table)
    entry = quote(TimeEntry._meta.db_table)
    where = f"FROM {through} tt JOIN {tag} t ON t.id = tt.tag_id WHERE tt.timeentry_id = {entry}.id"
    if connection.vendor == "postgresql":
        sql = f"(SELECT JSON_AGG(t.name ORDER BY t.name)::text {where})"
    else:  # SQLite keeps the order of the inner query
        sql = f"(SELECT JSON_GROUP_ARRAY(name) FROM (SELECT t.name AS name {where} ORDER BY t.name))"
    return RawSQL(sql, [], output_field=TextField())


def time_entry_rows(queryset: QuerySet, *, chunk_size: int = CHUNK_SIZE) -> Iterator[tuple[tuple, list[str]]]:
    """Yield (values, tag names) for each entry of `queryset`, ordered by start and id.

    One streamed query (`.iterator(chunk_size)`, a server-side cursor on PostgreSQL) brings
    each entry with its names and tags, so memory holds one chunk at a time."""
    rows = (
        queryset.annotate(**_TIME_AS_TEXT, tag_names=_tag_names_sql())
        .order_by("start", "id")
        .values_list(*_ENTRY_FIELDS, "tag_names")
    )
    for values in rows.iterator(chunk_size=chunk_size):
        names = values[-1]  # NULL on PostgreSQL for an entry without tags, "[]" on SQLite
        yield values, json.loads(names) if names else []


def time_entry_csv_cells(values: tuple, tags: list[str]) -> list[str]:
    """One row of our CSV layout (TIME_ENTRY_CSV_COLUMNS), text cells neutralised."""
    zone = _zone(values[_TZ])
    return [
        str(values[_ID]),
        neutralise_formula(values[_EMAIL] or ""),
        neutralise_formula(values[_PROJECT] or ""),
        neutralise_formula(values[_CLIENT] or ""),
        neutralise_formula(values[_TASK] or ""),
        _iso(values[_START], zone),
        _iso(values[_END], zone),
        # A running timer has no duration yet: both cells empty, which our importer reads back
        # as a running entry (a "0.00" would stop the timer on re-import).
        hours_two_decimals(values[_SECONDS]) if values[_END] is not None else "",
        neutralise_formula(values[_NOTES] or ""),
        neutralise_formula(join_tag_names(tags)),
        "true" if values[_BILLABLE] else "false",
    ]


def time_entry_record(values: tuple, tags: list[str], *, full: bool = False) -> dict:
    """One entry as a JSON object: the CSV layout's keys with typed values (tags a list,
    billable a boolean). `full` adds the source and bookkeeping fields (GDPR export)."""
    zone = _zone(values[_TZ])
    record = {
        "id": values[_ID],
        "user_email": values[_EMAIL] or "",
        "project_name": values[_PROJECT] or "",
        "client_name": values[_CLIENT] or "",
        "task_name": values[_TASK] or "",
        "start_time": _iso(values[_START], zone),
        "end_time": _iso(values[_END], zone) or None,
        "duration_seconds": values[_SECONDS],
        "duration_hours": hours_two_decimals(values[_SECONDS]),
        "notes": values[_NOTES] or "",
        "tags": tags,
        "billable": bool(values[_BILLABLE]),
    }
    if full:
        record.update(
            source_system=values[_SOURCE_SYSTEM],
            source_id=values[_SOURCE_ID],
            created_at=_iso(values[_CREATED], zone),
            updated_at=_iso(values[_UPDATED], zone),
        )
    return record


def write_time_entries_csv(
    sink: TextSink, queryset: QuerySet, *, bom: bool = True, progress: ExportProgress | None = None
) -> int:
    if bom:
        sink.write("\ufeff")
    writer = _csv_writer(sink)
    writer.writerow([neutralise_formula(name) for name in TIME_ENTRY_CSV_COLUMNS])
    count = 0
    for values, tags in time_entry_rows(queryset):
        writer.writerow(time_entry_csv_cells(values, tags))
        count += 1
        if progress:
            progress.advance()
    sink.flush()
    return count


def _write_json_array(sink: TextSink, records: Iterable[dict], *, indent: str, progress: ExportProgress | None) -> int:
    count = 0
    for record in records:
        sink.write(("\n" if count == 0 else ",\n") + indent + _json(record))
        count += 1
        if progress:
            progress.advance()
    if count:
        sink.write("\n" + indent[:-2])
    return count


def write_time_entries_json(
    sink: TextSink, queryset: QuerySet, *, export_info: dict, progress: ExportProgress | None = None
) -> int:
    """`{"export_info": {...}, "time_entries": [...]}`, one entry per line."""
    sink.write('{\n  "export_info": ' + _json(export_info) + ',\n  "time_entries": [')
    records = (time_entry_record(values, tags) for values, tags in time_entry_rows(queryset))
    count = _write_json_array(sink, records, indent="    ", progress=progress)
    sink.write("]\n}\n")
    sink.flush()
    return count


def _xlsx_text(worksheet, text: str) -> WriteOnlyCell:
    # Control characters XML cannot carry would abort the whole file; show them as U+FFFD.
    text = ILLEGAL_CHARACTERS_RE.sub("\ufffd", text)
    cell = WriteOnlyCell(worksheet, value=neutralise_formula(text))
    cell.data_type = "s"  # never a formula, whatever the text
    return cell


def write_time_entries_xlsx(
    raw: HashingWriter, queryset: QuerySet, *, progress: ExportProgress | None = None
) -> int:
    """Our layout in one sheet. openpyxl's write-only mode keeps rows in a temporary file and
    writes strings inline, so memory stays flat; numbers stay numbers, text is never a
    formula."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Time entries")
    sheet.append([_xlsx_text(sheet, name) for name in TIME_ENTRY_CSV_COLUMNS])
    count = 0
    for values, tags in time_entry_rows(queryset):
        cells = time_entry_csv_cells(values, tags)
        hours = WriteOnlyCell(sheet, value=Decimal(cells[7]) if cells[7] else None)
        hours.number_format = "0.00"
        sheet.append(
            [
                values[_ID],
                _xlsx_text(sheet, values[_EMAIL] or ""),
                _xlsx_text(sheet, values[_PROJECT] or ""),
                _xlsx_text(sheet, values[_CLIENT] or ""),
                _xlsx_text(sheet, values[_TASK] or ""),
                cells[5],
                cells[6],
                hours,
                _xlsx_text(sheet, values[_NOTES] or ""),
                _xlsx_text(sheet, join_tag_names(tags)),
                cells[10],
            ]
        )
        count += 1
        if progress:
            progress.advance()
    workbook.save(raw)
    return count


# --------------------------------------------------------------------------------------
# GDPR datasets: everything we hold about one user.


def _local(value, zone: ZoneInfo):
    return value.astimezone(zone).isoformat() if isinstance(value, datetime) else value


@dataclass
class GdprDataset:
    name: str
    description: str
    columns: Sequence[str]
    queryset: QuerySet | None = None
    # record(obj) -> dict with `columns` as keys (for querysets of model instances)
    record: Callable | None = None
    single: dict | None = None  # the account: one object, not a list
    count: int = 0
    # Time entries use their own streamed source and our CSV layout.
    time_entries: bool = False
    csv_columns: Sequence[str] = field(default_factory=tuple)

    def records(self) -> Iterator[dict]:
        if self.single is not None:
            yield self.single
        elif self.time_entries:
            for values, tags in time_entry_rows(self.queryset):
                yield time_entry_record(values, tags, full=True)
        else:
            for obj in self.queryset.iterator(chunk_size=CHUNK_SIZE):
                yield self.record(obj)

    def rows(self) -> Iterator[tuple[dict, list[str]]]:
        """(JSON record, CSV cells) per record, from one pass over the data."""
        if self.time_entries:
            for values, tags in time_entry_rows(self.queryset):
                yield time_entry_record(values, tags, full=True), time_entry_csv_cells(values, tags)
        else:
            for record in self.records():
                yield record, [_csv_cell(record[column]) for column in self.columns]


def _fields(obj, names: Sequence[str], zone: ZoneInfo) -> dict:
    return {name: _local(getattr(obj, name), zone) for name in names}


# The scope an API token needs for each dataset of a GDPR export: an export started with a token
# holds only what the token may read. The account, API tokens and import/export history are
# always included.
GDPR_DATASET_SCOPES = {
    "time_entries": "read:time_entries",
    "clients": "read:time_entries",
    "projects": "read:time_entries",
    "tasks": "read:time_entries",
    "tags": "read:time_entries",
    "mileage": "read:mileage",
    "per_diem": "read:per_diem",
}


def gdpr_datasets_omitted(*, token: ApiToken | None) -> dict[str, str]:
    """The datasets a GDPR export started with `token` leaves out, each with the reason
    (`{"mileage": "the token lacks read:mileage"}`). Without a token (the page, a command)
    nothing is left out."""
    if token is None:
        return {}
    return {
        name: f"the token lacks {scope}" for name, scope in GDPR_DATASET_SCOPES.items() if not token.has_scope(scope)
    }


def gdpr_export_scopes(*, export: DataExport) -> list[str]:
    """The scopes a token needs to see a GDPR export: those of every dataset it holds."""
    omitted = export.filters.get("omitted") or {}
    return sorted({scope for name, scope in GDPR_DATASET_SCOPES.items() if name not in omitted})


def gdpr_datasets(*, user, omitted: Collection[str] = ()) -> list[GdprDataset]:
    """The datasets of a user's GDPR export, in file order, with their record counts; those
    named in `omitted` are left out, and so are the catalog rows only they refer to."""
    profile = getattr(user, "profile", None)
    zone = _zone(profile.timezone if profile else "UTC")
    used = selectors.gdpr_catalog_querysets(user=user, omitted=omitted)

    account = {
        "id": user.pk,
        "username": user.get_username(),
        "email": user.email,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "is_active": user.is_active,
        "is_staff": user.is_staff,
        "is_superuser": user.is_superuser,
        "date_joined": _local(user.date_joined, zone),
        "last_login": _local(user.last_login, zone),
        "timezone": profile.timezone if profile else "UTC",
        "portal_client": profile.portal_client.name if profile and profile.portal_client_id else None,
    }

    mileage_fields = (
        "id", "date", "purpose", "from_location", "to_location", "distance", "unit", "round_trip",
        "rate_per_unit", "amount", "status", "notes", "created_at", "updated_at",
    )  # fmt: skip
    per_diem_fields = (
        "id", "start_date", "end_date", "country", "city", "purpose", "full_days", "partial_days",
        "daily_rate", "partial_day_rate", "breakfasts_provided", "lunches_provided", "dinners_provided",
        "breakfast_deduction", "lunch_deduction", "dinner_deduction", "amount", "status", "notes",
        "created_at", "updated_at",
    )  # fmt: skip
    import_fields = (
        "id", "import_type", "source_file_name", "options", "status", "status_message", "total_records",
        "processed_records", "successful_records", "failed_records", "created_records", "updated_records",
        "unchanged_records", "skipped_records", "deleted_records", "row_errors", "summary", "created_at",
        "started_at", "finished_at",
    )  # fmt: skip
    export_fields = (
        "id", "export_type", "export_format", "filters", "status", "file_name", "file_size", "sha256",
        "record_count", "error_message", "created_at", "completed_at", "expires_at",
    )  # fmt: skip
    token_fields = ("id", "name", "scopes", "created_at", "last_used_at", "expires_at", "revoked_at")

    def with_refs(obj, names):
        record = _fields(obj, names, zone)
        record.update(
            project_id=obj.project_id,
            project_name=obj.project.name if obj.project_id else None,
            client_id=obj.client_id,
            client_name=obj.client.name if obj.client_id else None,
        )
        return record

    datasets = [
        GdprDataset(
            name="account",
            description="Your account and profile (one record). The password is not included, not even as a hash.",
            columns=tuple(account),
            single=account,
        ),
        GdprDataset(
            name="time_entries",
            description=(
                "Your time entries. The CSV uses the layout our CSV import reads back "
                "(id,user_email,project_name,client_name,task_name,start_time,end_time,duration_hours,"
                "notes,tags,billable); times carry your timezone's UTC offset; text starting with "
                "=, +, -, @, tab or carriage return is prefixed with ' so spreadsheets do not run it. "
                "The JSON adds duration_seconds, source_system, source_id, created_at and updated_at."
            ),
            columns=TIME_ENTRY_CSV_COLUMNS,
            queryset=selectors.time_entries_of_user(user=user),
            time_entries=True,
        ),
        GdprDataset(
            name="clients",
            description="The clients of the projects you tracked time, mileage or per diem on.",
            columns=("id", "name", "status", "description"),
            queryset=used["clients"],
            record=lambda c: _fields(c, ("id", "name", "status", "description"), zone),
        ),
        GdprDataset(
            name="projects",
            description="The projects you tracked time, mileage or per diem on.",
            columns=("id", "name", "client_id", "client_name", "billable", "hourly_rate", "archived"),
            queryset=used["projects"].select_related("client"),
            record=lambda p: {
                **_fields(p, ("id", "name", "client_id"), zone),
                "client_name": p.client.name if p.client_id else None,
                **_fields(p, ("billable", "hourly_rate", "archived"), zone),
            },
        ),
        GdprDataset(
            name="tasks",
            description="The tasks of your time entries.",
            columns=("id", "name", "project_id", "project_name", "active"),
            queryset=used["tasks"].select_related("project"),
            record=lambda t: {
                **_fields(t, ("id", "name", "project_id"), zone),
                "project_name": t.project.name,
                "active": t.active,
            },
        ),
        GdprDataset(
            name="tags",
            description="The tags on your time entries.",
            columns=("id", "name"),
            queryset=used["tags"],
            record=lambda t: _fields(t, ("id", "name"), zone),
        ),
        GdprDataset(
            name="mileage",
            description="Your mileage claims (distance, rate, amount, status).",
            columns=mileage_fields + ("project_id", "project_name", "client_id", "client_name"),
            queryset=Mileage.objects.filter(owner=user).select_related("project", "client").order_by("date", "id"),
            record=lambda m: with_refs(m, mileage_fields),
        ),
        GdprDataset(
            name="per_diem",
            description="Your per diem claims (days, rates, meal deductions, amount, status).",
            columns=per_diem_fields + ("project_id", "project_name", "client_id", "client_name"),
            queryset=PerDiem.objects.filter(owner=user)
            .select_related("project", "client")
            .order_by("start_date", "id"),
            record=lambda p: with_refs(p, per_diem_fields),
        ),
        GdprDataset(
            name="api_tokens",
            description="Your API tokens: name, scopes and dates. Secrets and hashes are never exported.",
            columns=token_fields,
            queryset=ApiToken.objects.filter(owner=user).order_by("created_at", "id"),
            record=lambda t: _fields(t, token_fields, zone),
        ),
        GdprDataset(
            name="imports",
            description="Your import history: what was imported, when, and the per-row errors.",
            columns=import_fields,
            queryset=DataImport.objects.filter(owner=user).order_by("created_at", "id"),
            record=lambda i: _fields(i, import_fields, zone),
        ),
        GdprDataset(
            name="exports",
            description="Your export history, including this export.",
            columns=export_fields,
            queryset=DataExport.objects.filter(owner=user).order_by("created_at", "id"),
            record=lambda e: _fields(e, export_fields, zone),
        ),
    ]
    datasets = [dataset for dataset in datasets if dataset.name not in omitted]
    for dataset in datasets:
        dataset.count = 1 if dataset.single is not None else dataset.queryset.count()
    return datasets


def _gdpr_export_info(*, user, export: DataExport, datasets: list[GdprDataset]) -> dict:
    return {
        "export_type": "GDPR data export",
        "format_version": 1,
        "export_id": export.pk,
        "user_id": user.pk,
        "username": user.get_username(),
        "generated_at": timezone.now().isoformat(),
        "record_counts": {dataset.name: dataset.count for dataset in datasets},
    }


def write_gdpr_json(sink: TextSink, *, user, export: DataExport, progress: ExportProgress | None = None) -> int:
    """One JSON document: export_info, `omitted` (only when datasets were left out), account
    (an object), then one array per dataset."""
    omitted = export.filters.get("omitted") or {}
    datasets = gdpr_datasets(user=user, omitted=omitted)
    if progress:
        progress.set_total(sum(d.count for d in datasets))
    info = _gdpr_export_info(user=user, export=export, datasets=datasets)
    sink.write('{\n  "export_info": ' + _json(info))
    if omitted:
        sink.write(',\n  "omitted": ' + _json(omitted))
    for dataset in datasets:
        if dataset.single is not None:
            sink.write(f',\n  "{dataset.name}": ' + _json(dataset.single))
            if progress:
                progress.advance()
            continue
        sink.write(f',\n  "{dataset.name}": [')
        _write_json_array(sink, dataset.records(), indent="    ", progress=progress)
        sink.write("]")
    sink.write("\n}\n")
    sink.flush()
    return sum(d.count for d in datasets)


def write_gdpr_zip(raw: HashingWriter, *, user, export: DataExport, progress: ExportProgress | None = None) -> int:
    """`<dataset>.json` and `<dataset>.csv` per dataset, README.txt, and manifest.json with
    every other member's SHA-256, size and record count, and `omitted` when datasets were left
    out."""
    omitted = export.filters.get("omitted") or {}
    datasets = gdpr_datasets(user=user, omitted=omitted)
    if progress:
        progress.set_total(2 * sum(d.count for d in datasets))
    info = _gdpr_export_info(user=user, export=export, datasets=datasets)
    manifest_files: list[dict] = []
    # Without seeking, zipfile must decide up front whether a member may pass 2 GiB.
    big = sum(d.count for d in datasets) > 2_000_000

    with zipfile.ZipFile(raw, "w", compression=zipfile.ZIP_DEFLATED) as archive:

        def listed(name: str, written: HashingWriter, *, records: int | None, description: str) -> None:
            manifest_files.append(
                {"name": name, "sha256": written.sha256, "bytes": written.size, "records": records,
                 "description": description}
            )  # fmt: skip

        def member(name: str, write: Callable[[TextSink], None], *, records: int | None, description: str):
            with archive.open(_zip_info(name), "w", force_zip64=big) as stream:
                member_raw = HashingWriter(stream)
                sink = TextSink(member_raw)
                write(sink)
                sink.flush()
            listed(name, member_raw, records=records, description=description)

        for dataset in datasets:
            # One pass over the rows: the JSON goes into the archive, the CSV into a spill file
            # (a ZIP takes one member at a time) that is copied in right after.
            with tempfile.TemporaryFile(dir=exports_dir(), prefix=".gdpr-spill-") as spill:
                csv_raw = HashingWriter(spill)
                csv_sink = TextSink(csv_raw)
                csv_sink.write("\ufeff")  # UTF-8 with BOM, like the filtered CSV, so Excel shows accents
                writer = _csv_writer(csv_sink)
                writer.writerow([neutralise_formula(c) for c in dataset.columns])

                def json_member(sink, dataset=dataset, writer=writer):
                    def records():
                        for record, cells in dataset.rows():
                            writer.writerow(cells)
                            if progress:
                                progress.advance(2)
                            yield record

                    if dataset.single is not None:
                        record = next(records())
                        sink.write(json.dumps(record, ensure_ascii=False, indent=2, default=_json_default) + "\n")
                        return
                    sink.write("[")
                    _write_json_array(sink, records(), indent="  ", progress=None)
                    sink.write("]\n")

                member(f"{dataset.name}.json", json_member, records=dataset.count, description=dataset.description)
                csv_sink.flush()
                spill.seek(0)
                with archive.open(_zip_info(f"{dataset.name}.csv"), "w", force_zip64=big) as stream:
                    shutil.copyfileobj(spill, stream, 1024 * 1024)
                listed(f"{dataset.name}.csv", csv_raw, records=dataset.count, description=dataset.description)

        readme = _gdpr_readme(user=user, info=info, datasets=datasets, omitted=omitted)
        member("README.txt", lambda sink: sink.write(readme), records=None, description="What each file holds.")
        manifest = {"export_info": info, **({"omitted": omitted} if omitted else {}), "files": manifest_files}
        with archive.open(_zip_info("manifest.json"), "w") as stream:
            stream.write((json.dumps(manifest, ensure_ascii=False, indent=2) + "\n").encode("utf-8"))
    return sum(d.count for d in datasets)


def _zip_info(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=timezone.now().timetuple()[:6])
    info.compress_type = zipfile.ZIP_DEFLATED
    return info


def _gdpr_readme(*, user, info: dict, datasets: list[GdprDataset], omitted: dict[str, str]) -> str:
    lines = [
        "TimeTracker - GDPR data export",
        "",
        f"Everything TimeTracker holds about the user {user.get_username()!r} (id {user.pk}),",
        f"generated at {info['generated_at']}.",
        "",
        "Each dataset comes twice: NAME.json (a JSON array; account.json is one object) and",
        "NAME.csv (UTF-8 with BOM, comma-separated, one header row). Times are ISO 8601 with",
        "the UTC offset of your timezone. manifest.json lists every file with its SHA-256,",
        "size in bytes and record count, so you can check that nothing was altered.",
        "",
    ]
    if omitted:
        lines.append("This export was started with an API token and leaves out what the token may not read:")
        lines.extend(f"    {name}: {reason}" for name, reason in omitted.items())
        lines.append("")
    for dataset in datasets:
        lines.append(f"{dataset.name}.json, {dataset.name}.csv ({dataset.count} records)")
        lines.append(f"    {dataset.description}")
        lines.append(f"    CSV columns: {', '.join(dataset.columns)}")
        lines.append("")
    lines.append("README.txt: this file. manifest.json: checksums and counts of the other files.")
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------------------
# DataExport lifecycle: create, run, prune.


def exports_dir() -> Path:
    directory = Path(settings.PRIVATE_STORAGE_DIR) / EXPORTS_SUBDIR
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def data_export_path(export: DataExport) -> Path | None:
    """The file of an export, checked to lie inside PRIVATE_STORAGE_DIR (ours are under
    exports/; the mileage and per-diem reports keep theirs under travel/)."""
    return _private_file(export.file_path)


def _private_file(relative: str) -> Path | None:
    if not relative:
        return None
    root = Path(settings.PRIVATE_STORAGE_DIR).resolve()
    path = (root / relative).resolve()
    if path == root or not path.is_relative_to(root):
        return None
    return path


def _file_name(export: DataExport) -> str:
    """`<kind>_<user>_<UTC timestamp>_<id>.<ext>`: the record id keeps two exports of the
    same second apart."""
    kind = "gdpr_export" if export.export_type == DataExport.Type.GDPR else f"{export.export_type}_export"
    user = slugify(export.owner.get_username()) or f"user{export.owner_id}"
    stamp = timezone.localtime(export.created_at, ZoneInfo("UTC")).strftime("%Y%m%d_%H%M%S")
    return f"{kind}_{user}_{stamp}_{export.pk}.{export.export_format}"


def _lifetime() -> dict:
    """Created now, expires exactly EXPORT_TTL (7 days) later."""
    now = timezone.now()
    return {"created_at": now, "expires_at": now + settings.EXPORT_TTL}


def data_export_create(
    *,
    user,
    export_type: str,
    export_format: str,
    filters: dict | None = None,
    bom: bool = True,
    enqueue: bool = True,
    token: ApiToken | None = None,
) -> DataExport:
    """Record an export request and (unless `enqueue=False`) queue the Celery task that builds
    it. Filters of a filtered export are validated here (ExportRequestError names the
    problem); the cleaned filters are stored on the record. A GDPR export requested with an
    API `token` holds only the datasets the token may read; the others are stored as
    `filters["omitted"]` and named in the file."""
    if export_type == DataExport.Type.GDPR:
        if export_format not in GDPR_FORMATS:
            raise ExportRequestError('Invalid format. Use "json" or "zip"')
        omitted = gdpr_datasets_omitted(token=token)
        cleaned = {"omitted": omitted} if omitted else {}
    elif export_type == DataExport.Type.FILTERED:
        if export_format not in FILTERED_FORMATS:
            raise ExportRequestError('Invalid format. Use "csv", "json" or "xlsx"')
        cleaned = selectors.time_entry_filters_clean(user=user, data=filters or {})
        if export_format == DataExport.Format.CSV:
            cleaned["bom"] = bool(bom)
    else:
        raise ExportRequestError(f"Unknown export type {export_type!r}")
    export = DataExport.objects.create(
        owner=user, export_type=export_type, export_format=export_format, filters=cleaned, **_lifetime()
    )
    if enqueue:
        from .tasks import data_export_build  # tasks import services

        data_export_build.delay(export.pk)
    return export


def _build(export: DataExport, raw: HashingWriter, progress: ExportProgress) -> int:
    if export.export_type == DataExport.Type.GDPR:
        if export.export_format == DataExport.Format.ZIP:
            return write_gdpr_zip(raw, user=export.owner, export=export, progress=progress)
        return write_gdpr_json(TextSink(raw), user=export.owner, export=export, progress=progress)
    if export.export_type != DataExport.Type.FILTERED:
        raise ExportRequestError(f"Exports of type {export.export_type!r} are not built here.")

    queryset = selectors.time_entries_for_export(user=export.owner, filters=export.filters)
    progress.set_total(queryset.count())
    return _write_time_entries(export, queryset, raw, progress)


def _write_time_entries(export: DataExport, queryset: QuerySet, raw: HashingWriter, progress: ExportProgress) -> int:
    if export.export_format == DataExport.Format.CSV:
        return write_time_entries_csv(TextSink(raw), queryset, bom=export.filters.get("bom", True), progress=progress)
    if export.export_format == DataExport.Format.XLSX:
        if progress.total > XLSX_MAX_ROWS:
            raise ExportRequestError(
                f"An XLSX sheet holds at most {XLSX_MAX_ROWS:,} rows and this selection has "
                f"{progress.total:,}; export CSV or narrow the filters."
            )
        return write_time_entries_xlsx(raw, queryset, progress=progress)
    info = {
        "export_type": "filtered time entries",
        "export_id": export.pk,
        "generated_at": timezone.now().isoformat(),
        "filters": {k: v for k, v in export.filters.items() if k != "bom"},
        "columns": list(TIME_ENTRY_CSV_COLUMNS),
    }
    return write_time_entries_json(TextSink(raw), queryset, export_info=info, progress=progress)


def _write_export_file(
    export: DataExport,
    build: Callable[[HashingWriter, ExportProgress], int],
    progress_callback: ProgressCallback | None = None,
) -> DataExport:
    """Run `build` into a hidden partial file, hashing on the way, then rename it into place
    and complete the record. On any error the partial file is removed, the record marked
    failed with the reason, and the error re-raised."""
    export.status = DataExport.Status.PROCESSING
    export.error_message = ""
    export.save(update_fields=["status", "error_message"])
    file_name = _file_name(export)
    final_path = exports_dir() / file_name
    partial_path = final_path.with_name(f".{file_name}.{secrets.token_hex(4)}.partial")
    progress = ExportProgress(export, progress_callback)
    try:
        with open(partial_path, "wb") as target:
            raw = HashingWriter(target)
            record_count = build(raw, progress)
            raw.flush()
            os.fsync(target.fileno())
        os.replace(partial_path, final_path)
    except Exception as exc:
        partial_path.unlink(missing_ok=True)
        export.status = DataExport.Status.FAILED
        export.error_message = str(exc) if isinstance(exc, ExportRequestError) else f"Export failed: {exc}"
        export.completed_at = timezone.now()
        export.save(update_fields=["status", "error_message", "completed_at"])
        raise
    progress.finish()
    export.status = DataExport.Status.COMPLETED
    export.file_path = str(final_path.relative_to(Path(settings.PRIVATE_STORAGE_DIR)))
    export.file_name = file_name
    export.file_size = raw.size
    export.sha256 = raw.sha256
    export.record_count = record_count
    export.total_records = export.processed_records = progress.total
    export.completed_at = timezone.now()
    export.save()
    return export


def data_export_run(*, data_export_id: int, progress_callback: ProgressCallback | None = None) -> DataExport:
    """Build the file of one export. Safe to run twice: a completed or expired export is left
    alone, an interrupted one is rebuilt from scratch. Failures are recorded on the export
    (status failed, error_message) and logged, not raised."""
    export = DataExport.objects.select_related("owner", "owner__profile").get(pk=data_export_id)
    if export.status in (DataExport.Status.COMPLETED, DataExport.Status.EXPIRED):
        return export
    try:
        return _write_export_file(export, lambda raw, progress: _build(export, raw, progress), progress_callback)
    except Exception:
        logger.exception("Export %s failed", export.pk)
        return export


def data_export_from_queryset(*, user, queryset: QuerySet, export_format: str) -> DataExport:
    """Export exactly the entries of `queryset` (the admin action's selection), synchronously,
    recorded as a filtered export of `user`. The caller has already checked that `user` may
    see these entries."""
    if export_format not in (DataExport.Format.CSV, DataExport.Format.XLSX):
        raise ExportRequestError('Invalid format. Use "csv" or "xlsx"')
    selected = queryset.count()
    filters: dict = {"source": "admin selection", "selected": selected}
    if selected <= 1000:
        filters["ids"] = sorted(queryset.order_by().values_list("pk", flat=True))
    export = DataExport.objects.create(
        owner=user, export_type=DataExport.Type.FILTERED, export_format=export_format, filters=filters, **_lifetime()
    )
    ordered = queryset.order_by("start", "id")

    def build(raw: HashingWriter, progress: ExportProgress) -> int:
        progress.set_total(selected)
        return _write_time_entries(export, ordered, raw, progress)

    return _write_export_file(export, build)


def _remove_if_empty(directory: Path) -> None:
    """Drop a per-export folder (travel/<id>/) once its file is gone; never the shared ones."""
    root = Path(settings.PRIVATE_STORAGE_DIR).resolve()
    if directory in (root, root / EXPORTS_SUBDIR) or not directory.is_relative_to(root):
        return
    try:
        directory.rmdir()
    except OSError:
        pass  # not empty, or already gone


def data_exports_prune(*, now: datetime | None = None) -> int:
    """Delete the files of exports past their expiry and mark them expired. Returns how many
    exports were pruned."""
    now = now or timezone.now()
    pruned = 0
    expired = DataExport.objects.filter(expires_at__lte=now).exclude(status=DataExport.Status.EXPIRED)
    for export in expired.iterator(chunk_size=500):
        path = data_export_path(export)
        if path is not None:
            path.unlink(missing_ok=True)
            _remove_if_empty(path.parent)
        DataExport.objects.filter(pk=export.pk).update(status=DataExport.Status.EXPIRED, file_path="")
        pruned += 1
    # Partial files of runs that died (a killed worker) are older than any running export.
    stale = now.timestamp() - PARTIAL_FILE_MAX_AGE.total_seconds()
    for partial in exports_dir().glob(".*.partial"):
        if partial.stat().st_mtime < stale:
            partial.unlink(missing_ok=True)
    unreferenced = export_files_unreferenced_delete(now=now)
    if unreferenced:
        logger.info("Deleted %s export file(s) no export refers to", unreferenced)
    return pruned


def export_files_unreferenced_delete(*, now: datetime | None = None) -> int:
    """Delete export files that no DataExport refers to (left by records deleted before their
    files were, e.g. with their user) once UNREFERENCED_FILE_MIN_AGE old. Returns how many."""
    now = now or timezone.now()
    oldest_kept = now.timestamp() - UNREFERENCED_FILE_MIN_AGE.total_seconds()
    candidates = [path for path in exports_dir().iterdir() if not path.name.endswith(".partial")]
    travel = Path(settings.PRIVATE_STORAGE_DIR) / TRAVEL_EXPORTS_SUBDIR
    if travel.is_dir():
        candidates += [path for folder in travel.iterdir() if folder.is_dir() for path in folder.iterdir()]
    # Listed before the records are read: a file completed in between is then referenced.
    referenced = {
        _private_file(relative)
        for relative in DataExport.objects.exclude(file_path="").values_list("file_path", flat=True).iterator()
    }
    deleted = 0
    for path in candidates:
        path = path.resolve()
        try:
            if not path.is_file() or path.stat().st_mtime >= oldest_kept or path in referenced:
                continue
            path.unlink()
        except FileNotFoundError:
            continue
        _remove_if_empty(path.parent)
        deleted += 1
    return deleted


def data_export_file_delete(*, file_path: str) -> None:
    """Delete the file of an export whose record is gone (and its travel/<id>/ folder)."""
    path = _private_file(file_path)
    if path is not None:
        path.unlink(missing_ok=True)
        _remove_if_empty(path.parent)


def output_path_check(destination: Path) -> None:
    """Refuse an --output whose folder does not exist, before any export is recorded: a typo
    must not silently create folders."""
    if not destination.is_dir() and not destination.parent.is_dir():
        raise ExportRequestError(f"The folder {destination.parent} does not exist.")


def data_export_copy_to(*, export: DataExport, destination: Path) -> Path:
    """Copy a completed export's file to `destination` (the management commands' --output),
    readable by its owner only (0600). A folder gets the file under its usual name. If the
    copy fails the export is marked failed, so a "completed" record always has its file out."""
    source = data_export_path(export)
    if source is None:
        raise ExportRequestError("The export has no file.")
    if destination.is_dir():
        destination = destination / export.file_name
    try:
        output_path_check(destination)
        descriptor = os.open(destination, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.fchmod(descriptor, 0o600)  # an existing file keeps its mode through O_CREAT
        with open(source, "rb") as src, open(descriptor, "wb") as dst:
            shutil.copyfileobj(src, dst, 1024 * 1024)
    except (OSError, ExportRequestError) as exc:
        export.status = DataExport.Status.FAILED
        export.error_message = str(exc) if isinstance(exc, ExportRequestError) else f"Could not write {destination}: {exc}"
        export.save(update_fields=["status", "error_message"])
        raise ExportRequestError(export.error_message) from exc
    return destination
