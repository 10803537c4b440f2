"""Writes of the imports app: storing uploads and importing CSV time entries.

One pipeline serves every entry point (page, session JSON, DRF API, admin, manage.py, Celery):
store the upload -> preview (sniff, recognise the format, validate every row) -> create a
pending DataImport -> the task runs `csv_import_run`, which validates everything again and
writes in batches whose progress is checkpointed.
"""

from __future__ import annotations

import csv
import hashlib
import io
import logging
import marshal
import re
import tempfile
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from dataclasses import field as dc_field
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import (
    DatabaseError,
    IntegrityError,
    InterfaceError,
    OperationalError,
    connection,
    transaction,
)
from django.utils import timezone

from timetracker.celery import app as celery_app
from timetracker.lib.csv_dialects import (
    CANDIDATE_DELIMITERS,
    CsvDecodeError,
    CsvUnclosedQuote,
    detect_encoding,
    first_lines,
    iter_records,
    sniff_delimiter,
)
from timetracker.lib.timeparse import (
    DATE_ORDERS,
    LocalTime,
    date_orders_fitting,
    date_uses_dots,
    localize,
    looks_like_decimal_comma,
    looks_like_short_date,
    seconds_int,
    truncate,
)
from timetracker.models import Client, Project, Tag, Task, TimeEntry, UserProfile
from timetracker.services import (
    client_get_or_create,
    project_get_or_create,
    tag_get_or_create,
    task_get_or_create,
)

from .models import DataImport
from .resources import (
    EXPORT_COLUMNS,
    TEMPLATE_COLUMNS,
    CellContext,
    CsvFormatResource,
    DateCellWidget,
    DateTimeCellWidget,
    DurationWidget,
    csv_format_for_header,
)

User = get_user_model()
logger = logging.getLogger(__name__)
clock = timezone.now  # tests move it instead of waiting


class ImportFileError(Exception):
    """The file as a whole cannot be imported (not CSV, cannot decode, no header, unknown
    format). The message is shown to the user as is (a 400 from the APIs)."""


class UploadTooLarge(ImportFileError):
    """The upload is bigger than settings.MAX_UPLOAD_SIZE (a 413 from the APIs)."""


SHOWN_VALUE_LENGTH = 100  # characters of a cell repeated in an error


@dataclass
class RowError:
    line: int
    column: str
    value: str
    message: str

    def __post_init__(self):
        # A multi-megabyte cell is named, not echoed into the response and DataImport.row_errors.
        if isinstance(self.value, str) and len(self.value) > SHOWN_VALUE_LENGTH:
            self.value = self.value[:SHOWN_VALUE_LENGTH] + "\u2026"

    def as_dict(self) -> dict:
        return {"line": self.line, "column": self.column, "value": self.value, "message": self.message}

    def __str__(self) -> str:
        if not self.column:  # about the whole row, e.g. its number of cells
            return f"line {self.line}: {self.message}"
        return f'line {self.line}, column "{self.column}", value "{self.value}": {self.message}'


@dataclass
class CsvImportOptions:
    timezone: str | None = None  # None: the importing user's profile timezone
    date_order: str | None = None  # "DMY", "MDY", "YMD"; None: detected from the file
    skip_invalid: bool = False
    dry_run: bool = False

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class CsvPreview:
    format_name: str
    delimiter: str
    encoding: str
    date_order: str | None
    date_order_detected: bool
    needs_date_order: bool
    timezone: str
    columns: list[str] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)
    sample_rows: list[dict] = field(default_factory=list)
    total_rows: int = 0
    errors: list[RowError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    would_create: int = 0
    would_update: int = 0
    unchanged: int = 0
    currency: str = ""  # e.g. "EUR" from a Toggl "Amount (EUR)" column
    format_label: str = ""  # e.g. "Toggl Track detailed report"
    # False when confirming with these options would write nothing; the reason says why.
    will_import: bool = True
    not_imported_reason: str = ""

    def as_dict(self) -> dict:
        data = asdict(self)
        data["errors"] = [error.as_dict() for error in self.errors]
        return data


# --------------------------------------------------------------------------------------
# Storing uploads
# --------------------------------------------------------------------------------------

IMPORTS_FOLDER = "imports"
SOURCE_SYSTEM = "csv"
MAX_STORED_ERRORS = 1000
MAX_WARNINGS = 200
SAMPLE_ROWS = 10
BLANK_LINES_LISTED = 100  # in the "blank lines ignored" warning; the count is always exact
# Buckets of the sketch that finds identical rows without keeping every fingerprint.
SKETCH_BITS = 21


def _human_size(size: int) -> str:
    if size >= 1024 * 1024 and size % (1024 * 1024) == 0:
        return f"{size // (1024 * 1024)} MB"
    if size >= 1024 and size % 1024 == 0:
        return f"{size // 1024} KB"
    return f"{size} bytes"


def _too_large() -> UploadTooLarge:
    return UploadTooLarge(f"The file is larger than the upload limit of {_human_size(settings.MAX_UPLOAD_SIZE)}.")


def _new_stored_path(user, suffix: str = ".csv") -> tuple[Path, str]:
    relative = f"{IMPORTS_FOLDER}/{user.pk}/{uuid.uuid4().hex}{suffix}"
    absolute = Path(settings.PRIVATE_STORAGE_DIR) / relative
    absolute.parent.mkdir(parents=True, exist_ok=True)
    return absolute, relative


def stored_file_path(stored_file: str) -> Path:
    """The absolute path of a stored import, refusing anything outside the imports folder."""
    base = (Path(settings.PRIVATE_STORAGE_DIR) / IMPORTS_FOLDER).resolve()
    path = (Path(settings.PRIVATE_STORAGE_DIR) / stored_file).resolve()
    if base not in path.parents:
        raise ImportFileError("The stored file is not an import upload.")
    if not path.is_file():
        raise ImportFileError("The uploaded file is no longer available; upload it again.")
    return path


STORED_UPLOAD_MAX_AGE = timedelta(days=1)  # far past a preview's upload token (UPLOAD_TOKEN_MAX_AGE)


def import_uploads_prune(*, now: datetime | None = None) -> int:
    """Delete stored uploads older than STORED_UPLOAD_MAX_AGE that no import refers to:
    previews (time entries or clients) never confirmed, which would otherwise fill the disk.
    Returns how many files were deleted. Periodic (imports.tasks.imports_prune) and
    `manage.py imports_prune`."""
    base = Path(settings.PRIVATE_STORAGE_DIR) / IMPORTS_FOLDER
    if not base.is_dir():
        return 0
    cutoff = (now or timezone.now()).timestamp() - STORED_UPLOAD_MAX_AGE.total_seconds()
    old = {
        f"{IMPORTS_FOLDER}/{path.parent.name}/{path.name}": path
        for path in base.glob("*/*")
        if path.is_file() and not path.is_symlink() and path.stat().st_mtime < cutoff
    }
    names = list(old)
    referenced = set()
    for start in range(0, len(names), 500):
        chunk = names[start:start + 500]
        referenced.update(DataImport.objects.filter(stored_file__in=chunk).values_list("stored_file", flat=True))
    pruned = 0
    for name, path in old.items():
        if name not in referenced:
            path.unlink(missing_ok=True)
            pruned += 1
    return pruned


def csv_upload_store(*, user, uploaded_file) -> str:
    """Stream an UploadedFile (or any binary file object) into private storage; raises
    UploadTooLarge past settings.MAX_UPLOAD_SIZE. Returns the path relative to
    PRIVATE_STORAGE_DIR."""
    limit = settings.MAX_UPLOAD_SIZE
    declared = getattr(uploaded_file, "size", None)
    if declared is not None and declared > limit:
        raise _too_large()
    absolute, relative = _new_stored_path(user)
    written = 0
    chunks = uploaded_file.chunks() if hasattr(uploaded_file, "chunks") else iter(lambda: uploaded_file.read(1 << 16), b"")
    try:
        with open(absolute, "wb") as target:
            for chunk in chunks:
                if isinstance(chunk, str):
                    chunk = chunk.encode("utf-8")
                written += len(chunk)
                if written > limit:
                    raise _too_large()
                target.write(chunk)
    except BaseException:
        absolute.unlink(missing_ok=True)
        raise
    if written == 0:
        absolute.unlink(missing_ok=True)
        raise ImportFileError("The file is empty.")
    return relative


def csv_text_store(*, user, text: str) -> str:
    """Store a CSV body given as text (JSON {"csv": ...} or a text/csv request body)."""
    if not isinstance(text, str):
        raise ImportFileError("The CSV must be given as text.")
    data = text.encode("utf-8")
    if len(data) > settings.MAX_UPLOAD_SIZE:
        raise _too_large()
    if not text.strip():
        raise ImportFileError("The CSV is empty.")
    absolute, relative = _new_stored_path(user)
    absolute.write_bytes(data)
    return relative


def _cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return ";".join(str(item) for item in value)
    if isinstance(value, dict):
        raise ValueError("a JSON object is not a cell value")  # noqa: TRY004 (reported as a 400 by the caller)
    return str(value)


def csv_rows_store(*, user, rows: list[dict]) -> str:
    """Store JSON rows ({"data": [...]}, keys of the template layout, optionally `id` and
    `user_email`) as a template CSV."""
    if not isinstance(rows, list) or not rows:
        raise ImportFileError('"data" must be a non-empty list of rows.')
    allowed = set(EXPORT_COLUMNS)
    used = set()
    unknown: dict[str, None] = {}  # in order of first use
    for number, row in enumerate(rows, start=1):
        if not isinstance(row, dict):
            raise ImportFileError(f"Row {number} of \"data\" is not an object.")
        used.update(row)
        unknown.update((str(key), None) for key in row if key not in allowed)
    # Unknown keys become columns of their own, which the import ignores and lists, as it
    # does for a CSV file's unknown columns.
    columns = [c for c in EXPORT_COLUMNS if c in ("id", "user_email") and c in used] + TEMPLATE_COLUMNS + list(unknown)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for number, row in enumerate(rows, start=1):
        try:
            writer.writerow([_cell_text(row.get(column)) for column in columns])
        except ValueError:
            raise ImportFileError(f"Row {number} of \"data\" has a value that is not text, a number or a list.") from None
    return csv_text_store(user=user, text=buffer.getvalue())


# --------------------------------------------------------------------------------------
# Reading a file: layout, scan, cleaning
# --------------------------------------------------------------------------------------


@dataclass
class CsvLayout:
    path: Path
    encoding: str
    delimiter: str
    header_line: int
    header: list[str]
    resource: CsvFormatResource
    mapping: dict  # position -> import_export Field
    ignored_columns: list[str]
    currency: str = ""  # from an "Amount (EUR)"-style header; amounts themselves are not imported

    def column(self, attribute: str) -> str:
        for position, field_ in self.mapping.items():
            if field_.attribute == attribute:
                return self.header[position].strip().lstrip("\ufeff")
        return attribute

    def has(self, attribute: str) -> bool:
        return any(field_.attribute == attribute for field_ in self.mapping.values())

    def records(self):
        """Data records after the header (blank ones included, for the report)."""
        for record in iter_records(self.path, encoding=self.encoding, delimiter=self.delimiter):
            if record.line > self.header_line:
                yield record


CURRENCY_IN_HEADER = re.compile(r"(?:Amount|Rate)\s*\(([A-Za-z]{3})\)", re.IGNORECASE)


HEADER_ONLY_ERROR = "The file has a header row but no data rows."


def row_width_error(record, *, header: list[str], delimiter: str) -> RowError:
    """The error for a row whose number of cells is not the header's, about the whole row."""
    width, columns = len(record.cells), len(header)
    text = delimiter.join(record.cells)
    message = f"{width} cell(s), the header has {columns} columns"
    others = [d for d in CANDIDATE_DELIMITERS if d != delimiter and text.count(d) >= columns - width]
    if width < columns and others:
        message += f' (the row seems to be separated by "{others[0]}" instead of "{delimiter}")'
    return RowError(record.line, "", text, message)


def csv_read_error(layout: CsvLayout, error: CsvDecodeError) -> ImportFileError:
    """The ImportFileError for a file that stops being readable CSV part way."""
    if isinstance(error, CsvUnclosedQuote):
        position = error.position
        column = layout.header[position].strip().lstrip("\ufeff") if position < len(layout.header) else ""
        return ImportFileError(
            f'line {error.line}, column "{column or f"cell {position + 1}"}": a quoted value is never closed, '
            "so everything after its opening quote would be read into this cell. Close or remove the quote "
            "and upload the file again."
        )
    return ImportFileError(str(error))


def csv_layout_detect(path: Path) -> CsvLayout:
    """Encoding, delimiter, header row and format of a stored file, read as far as its first
    data row. Raises ImportFileError when any is missing (a header alone is refused too)."""
    try:
        encoding = detect_encoding(path)
    except CsvDecodeError as error:
        raise ImportFileError(str(error)) from None
    lines = first_lines(path, encoding=encoding, limit=20)
    if not lines:
        raise ImportFileError("The file is empty.")
    for number, text in lines:
        delimiter = sniff_delimiter(text)
        header = next(csv.reader([text], delimiter=delimiter), [])
        found = csv_format_for_header(header)
        if found is None:
            continue
        resource, mapping = found
        known = {header[position].strip().lstrip("\ufeff").lower() for position in mapping}
        for position, cell in enumerate(header):
            name = cell.strip().lstrip("\ufeff")
            if position not in mapping and name.lower() in known:
                # Which of the two cells is meant cannot be told (the clients import says the same).
                raise ImportFileError(f'The column "{name}" appears twice in the header.')
        ignored = [
            cell.strip()
            for position, cell in enumerate(header)
            if position not in mapping and cell.strip() and not resource.is_known_unused(cell)
        ]
        currency = next((m[1] for cell in header if (m := CURRENCY_IN_HEADER.search(cell))), "")
        layout = CsvLayout(path, encoding, delimiter, number, header, resource, mapping, ignored, currency)
        try:
            has_rows = any(not record.is_blank for record in layout.records())
        except CsvDecodeError as error:
            raise csv_read_error(layout, error) from None
        if not has_rows:
            raise ImportFileError(HEADER_ONLY_ERROR)
        return layout
    first = lines[0][1][:120]
    raise ImportFileError(
        f'No known header row found (the first line reads "{first}"). Expected our template '
        f"({', '.join(TEMPLATE_COLUMNS)}) or a Toggl, Clockify or Harvest detailed report CSV."
    )


def _date_part(text: str) -> str:
    return text.strip().replace("T", " ", 1).split(" ")[0]


@dataclass
class FileScan:
    rows: int = 0
    blank_lines: list[int] = dc_field(default_factory=list)
    blank_count: int = 0
    preamble_lines: list[int] = dc_field(default_factory=list)  # not blank, before the header
    short_dates: int = 0
    fits: Counter = dc_field(default_factory=Counter)
    # Lines whose short dates fit only one order (the first few), to say where they disagree.
    only_fits: dict = dc_field(default_factory=lambda: {"DMY": [], "MDY": []})
    dots: bool = False
    long_dates: bool = False
    decimal_comma: bool = False
    people: set = dc_field(default_factory=set)


def csv_file_scan(layout: CsvLayout) -> FileScan:
    """One streaming pass for what the whole file decides: row count, date order evidence,
    decimal separator."""
    scan = FileScan(decimal_comma=layout.delimiter == ";")
    date_positions = [
        p for p, f in layout.mapping.items() if isinstance(f.widget, (DateCellWidget, DateTimeCellWidget))
    ]
    number_positions = [p for p, f in layout.mapping.items() if isinstance(f.widget, DurationWidget)]
    person_positions = [p for p, f in layout.mapping.items() if f.attribute == "person"]
    for record in iter_records(layout.path, encoding=layout.encoding, delimiter=layout.delimiter):
        if record.line <= layout.header_line:
            if record.is_blank:
                scan.blank_count += 1
                if len(scan.blank_lines) < MAX_STORED_ERRORS:
                    scan.blank_lines.append(record.line)
            elif record.line < layout.header_line:
                scan.preamble_lines.append(record.line)
            continue
        if record.is_blank:
            scan.blank_count += 1
            if len(scan.blank_lines) < MAX_STORED_ERRORS:
                scan.blank_lines.append(record.line)
            continue
        scan.rows += 1
        cells = record.cells
        for position in date_positions:
            if position >= len(cells) or not cells[position].strip():
                continue
            part = _date_part(cells[position])
            if re.match(r"^\d{4}", part):
                scan.long_dates = True
                continue
            if not looks_like_short_date(part):
                continue  # not a date at all: its row reports it, it does not vote on the order
            scan.short_dates += 1
            fitting = date_orders_fitting(part)
            scan.fits.update(fitting)
            only = scan.only_fits.get(next(iter(fitting))) if len(fitting) == 1 else None
            if only is not None and len(only) < 10 and record.line not in only:
                only.append(record.line)
            scan.dots = scan.dots or date_uses_dots(part)
        if not scan.decimal_comma:
            for position in number_positions:
                if position < len(cells) and looks_like_decimal_comma(cells[position]):
                    scan.decimal_comma = True
        for position in person_positions:
            if position < len(cells) and cells[position].strip() and len(scan.people) < 20:
                scan.people.add(cells[position].strip())
    return scan


def _lines_text(lines: list[int]) -> str:
    return ("line " if len(lines) == 1 else "lines ") + ", ".join(str(n) for n in lines)


def date_order_question(scan: FileScan) -> str:
    """Why the user must choose the date order: the dates fit both orders, or neither order
    fits them all (some can only be day first, others only month first)."""
    day_first, month_first = scan.only_fits["DMY"], scan.only_fits["MDY"]
    if day_first and month_first:
        return (
            "The dates fit neither day/month nor month/day order throughout: "
            f"{_lines_text(day_first)} only day/month, {_lines_text(month_first)} only month/day"
        )
    return "The dates fit both day/month and month/day order"


def date_order_decide(scan: FileScan, chosen: str | None) -> tuple[str | None, bool, bool]:
    """(order, detected from the data, the user must choose)."""
    if chosen:
        return chosen, False, False
    if not scan.short_dates:
        return ("YMD", True, False) if scan.long_dates else (None, False, False)
    fit_all = [order for order in ("DMY", "MDY") if scan.fits[order] == scan.short_dates]
    if len(fit_all) == 1:
        return fit_all[0], True, False
    if len(fit_all) == 2:
        # 04.03.2024 is written day-first wherever dots are used.
        return ("DMY", True, False) if scan.dots else (None, False, True)
    if scan.fits["DMY"] == scan.fits["MDY"]:
        return None, False, True
    return max(("DMY", "MDY"), key=lambda order: scan.fits[order]), True, False


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)


@dataclass
class CleanRow:
    line: int
    owner_id: int
    entry_id: int | None
    project: str
    client: str | None
    task: str
    notes: str
    tags: tuple
    billable: bool
    start: datetime
    end: datetime | None  # None: a running timer (our export layout, see _times)
    start_precision: int
    end_precision: int
    warnings: list[str] = dc_field(default_factory=list)
    written: tuple[str, str] = ("", "")  # start and end as the file writes them (samples only)

    @property
    def duration_seconds(self) -> int:
        if self.end is None:
            return 0
        return max(0, round((self.end - self.start).total_seconds()))

    def fingerprint(self) -> str:
        content = "\x1f".join(
            [
                self.start.isoformat(),
                self.end.isoformat() if self.end else "",
                self.notes,
                self.project,
                self.client or "",
                self.task,
                "\x1e".join(sorted(self.tags)),
            ]
        )
        return hashlib.sha256(content.encode("utf-8")).hexdigest()[:40]

    def packed(self) -> tuple:
        """The row as plain values for marshal (times as integer microseconds, exact)."""
        return (
            self.line, self.owner_id, self.entry_id, self.project, self.client, self.task, self.notes, self.tags,
            self.billable, (self.start - EPOCH) // MICROSECOND,
            None if self.end is None else (self.end - EPOCH) // MICROSECOND,
            self.start_precision, self.end_precision,
        )

    @classmethod
    def unpacked(cls, values: tuple) -> CleanRow:
        line, owner_id, entry_id, project, client, task, notes, tags, billable, start, end, sp, ep = values
        return cls(
            line=line, owner_id=owner_id, entry_id=entry_id, project=project, client=client, task=task, notes=notes,
            tags=tags, billable=billable, start=EPOCH + start * MICROSECOND,
            end=None if end is None else EPOCH + end * MICROSECOND,
            start_precision=sp, end_precision=ep,
        )

    def sample(self, *, other_reading: CleanRow | list | None = None) -> dict:
        """The row for the preview. While the date order is undecided (`other_reading` is the
        row read in the other order) start and end are shown as written, not as one reading."""
        undecided = other_reading is not None
        duration = self.duration_seconds
        if undecided and (not isinstance(other_reading, CleanRow) or other_reading.duration_seconds != duration):
            duration = None
        return {
            "line": self.line,
            "action": None,  # "create", "update" or "unchanged", filled in by the preview
            "project_name": self.project,
            "client_name": self.client or "",
            "task_name": self.task,
            "start_time": self.written[0] if undecided else self.start.isoformat(),
            "end_time": self.written[1] if undecided else (self.end.isoformat() if self.end else ""),
            "duration_seconds": duration,
            "notes": self.notes,
            "tags": list(self.tags),
            "billable": self.billable,
        }


def _local_text(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S" if moment.second else "%Y-%m-%d %H:%M")


# TimeEntry.duration_seconds is a 32-bit integer column.
MAX_DURATION_SECONDS = 2**31 - 1
TIME_ATTRIBUTES = ("start", "end", "start_date", "start_time", "end_date", "end_time", "duration")


class RowCleaner:
    """Turns one CSV record into a CleanRow or the list of its RowErrors."""

    def __init__(self, *, user, layout: CsvLayout, date_order: str | None, decimal_comma: bool, zone: ZoneInfo):
        self.user = user
        self.layout = layout
        self.zone = zone
        has = layout.has
        # Our export layout is the template with `id` or `user_email` in front.
        our_export = layout.resource.format_name == "template" and (has("entry_id") or has("user_email"))
        self.context = CellContext(date_order=date_order, decimal_comma=decimal_comma, our_export=our_export)
        # (position, attribute, column as the file spells it, widget), worked out once per file.
        self.cells_to_read = [
            (position, field_.attribute, layout.header[position].strip().lstrip("\ufeff"), field_.widget)
            for position, field_ in sorted(layout.mapping.items())
        ]
        self.columns = {attribute: column for _, attribute, column, _ in self.cells_to_read}
        self.positions = {column: position for position, _, column, _ in self.cells_to_read}
        self.time_columns = {self.columns.get(a) for a in TIME_ATTRIBUTES}
        self.start_column = "start" if has("start") else ("start_time" if has("start_time") else "start_date")
        self.end_column = "end" if has("end") else "end_time"
        # The plain template's client defaults to the project; in our export layout an empty
        # client_name is an entry without a client, kept as such.
        self.client_defaults_to_project = layout.resource.format_name == "template" and not our_export
        self.user_ids_by_email: dict[str, int | None] = {}
        if user.email:
            self.user_ids_by_email[user.email.lower()] = user.pk

    def _owner_id(self, email: str) -> int | None:
        key = email.lower()
        if key not in self.user_ids_by_email:
            match = User.objects.filter(email__iexact=email).order_by("pk").values_list("pk", flat=True).first()
            self.user_ids_by_email[key] = match
        return self.user_ids_by_email[key]

    def clean(self, record) -> CleanRow | list[RowError]:
        layout = self.layout
        cells = record.cells
        errors: list[RowError] = []
        values: dict = {}
        raw: dict = {}
        columns = self.columns
        width = len(cells)
        for position, attribute, column, widget in self.cells_to_read:
            text = cells[position] if position < width else ""
            raw[attribute] = text
            try:
                values[attribute] = widget.clean(text, context=self.context)
            except ValueError as error:
                errors.append(RowError(record.line, column, text, str(error)))
        extra = [cell for cell in cells[len(layout.header):] if cell.strip()] if width > len(layout.header) else None
        if extra:
            errors.append(
                RowError(record.line, "(extra)", extra[0], f"the row has {len(cells)} cells but the header has {len(layout.header)}")
            )

        def error(attribute: str, message: str) -> None:
            errors.append(RowError(record.line, columns.get(attribute, attribute), raw.get(attribute, ""), message))

        project = values.get("project") or ""
        if not project and "project" not in {e.column for e in errors}:
            error("project", "a project is required")
        for attribute in ("project", "client", "task"):
            if len(values.get(attribute) or "") > 200:
                error(attribute, "longer than 200 characters")

        owner_id = self.user.pk
        email = values.get("user_email") or ""
        if email and self.user.is_staff:
            owner_id = self._owner_id(email)
            if owner_id is None:
                error("user_email", "no user has this e-mail address")

        times = None
        if not any(e.column in self.time_columns for e in errors):
            times = self._times(values, raw, columns, error, record.line)
        if width < len(layout.header) and any(self.positions.get(e.column, -1) >= width for e in errors):
            # Cells missing from the end are fine unless one was needed; then the count is the
            # cause ("Web;…;…" in a comma file), not the empty cells it leaves.
            return [self._short_row_error(record)]
        if errors or times is None:
            return errors

        start, end, start_precision, end_precision, warnings = times
        written = tuple(
            raw.get(prefix, "").strip()
            or " ".join(t for t in (raw.get(f"{prefix}_date", "").strip(), raw.get(f"{prefix}_time", "").strip()) if t)
            for prefix in ("start", "end")
        )
        client = values.get("client") or None
        if self.client_defaults_to_project and not client:
            client = project  # the template's documented default
        billable = values.get("billable")
        return CleanRow(
            line=record.line,
            owner_id=owner_id,
            entry_id=values.get("entry_id"),
            project=project,
            client=client,
            task=values.get("task") or "",
            notes=values.get("notes") or "",
            tags=values.get("tags") or (),
            billable=bool(billable) if billable is not None else False,
            start=start,
            end=end,
            start_precision=start_precision,
            end_precision=end_precision,
            warnings=warnings,
            written=written,
        )

    def _short_row_error(self, record) -> RowError:
        return row_width_error(record, header=self.layout.header, delimiter=self.layout.delimiter)

    def _naive_or_aware(self, values, prefix: str, fallback_date=None):
        """(datetime, precision, had a clock time, had a date) for "start" or "end"."""
        combined = values.get(prefix)
        if combined is not None:
            return combined.value, combined.precision, combined.has_time, True
        day = values.get(f"{prefix}_date")
        clock = values.get(f"{prefix}_time")
        if day is None and clock is None:
            return None
        had_date = day is not None
        day = day or fallback_date
        if day is None:
            return None
        if clock is None:
            return datetime.combine(day, time()), 0, False, had_date
        return datetime.combine(day, clock[0]), clock[1], True, had_date

    def _times(self, values, raw, columns, error, line):
        warnings: list[str] = []
        start_info = self._naive_or_aware(values, "start")
        if start_info is None:
            error("start" if self.columns.get("start") else "start_date", "a start is required")
            return None
        start_naive, start_precision, _, _ = start_info
        start_column, end_column = self.start_column, self.end_column
        end_info = self._naive_or_aware(values, "end", fallback_date=start_naive.date())
        duration = values.get("duration")
        duration_column = "duration"

        start_local = self._localize(start_naive)
        if end_info is None:
            if duration is None and "entry_id" in self.columns and {"end", "duration"} <= self.columns.keys():
                # Our export layout writes a running timer as an empty end_time and an empty
                # duration_hours; reading it back keeps it running (issue 4, req. 5).
                if start_local.status != "ok":
                    error(start_column, self._dst_message(start_naive, start_local.status))
                    return None
                return start_local.candidates[0], None, start_precision, 0, warnings
            if duration is None:
                if end_column in self.columns or "duration" not in self.columns:
                    error(end_column if end_column in self.columns else start_column, "an end time or a duration is required")
                else:  # Harvest: a date and its hours, no clock times
                    error("duration", "a duration is required")
                return None
            if start_local.status != "ok":
                error(start_column, self._dst_message(start_naive, start_local.status))
                return None
            if duration.seconds > MAX_DURATION_SECONDS:
                error(duration_column, "longer than a time entry can be (68 years)")
                return None
            start = start_local.candidates[0]
            return start, start + timedelta(seconds=seconds_int(duration.seconds)), start_precision, 0, warnings

        end_naive, end_precision, _, end_had_date = end_info
        if end_naive.tzinfo is None and start_naive.tzinfo is None and end_naive < start_naive and not end_had_date:
            # Only clock times: an end before the start is on the next day (22:00 -> 01:00).
            end_naive += timedelta(days=1)
        end_local = self._localize(end_naive)

        pairs = [(s, e) for s in start_local.candidates for e in end_local.candidates]
        if start_local.status != "ok" or end_local.status != "ok":
            settled = []
            if duration is not None:
                # A duration in whole hours is too coarse to pick a side of a one-hour shift.
                tolerance = min(duration.tolerance, Decimal(300))
                settled = [
                    (s, e) for s, e in pairs if abs(Decimal((e - s).total_seconds()) - duration.seconds) <= tolerance
                ] or self._settle_in_gap(start_local, end_local, duration, tolerance)
            if len(settled) != 1:
                if start_local.status != "ok":
                    error(start_column, self._dst_message(start_naive, start_local.status))
                else:
                    error(end_column, self._dst_message(end_naive, end_local.status))
                return None
            start, end = settled[0]
        else:
            start, end = pairs[0]

        if end < start:
            error(end_column, f"End ({_local_text(end_naive)}) is before start ({_local_text(start_naive)})")
            return None
        if (end - start).total_seconds() > MAX_DURATION_SECONDS:
            error(end_column, "start and end are further apart than a time entry can be (68 years)")
            return None
        if duration is not None:
            actual = Decimal((end - start).total_seconds())
            gap = abs(actual - duration.seconds)
            if gap > duration.tolerance:
                said = raw.get("duration", "").strip()
                apart = _hms(actual)
                if gap >= 3600:
                    error(duration_column, f"start and end are {apart} apart, which does not match this duration")
                    return None
                warnings.append(
                    f'line {line}: the {columns.get("duration", "duration")} cell ({said}) differs from start/end ({apart})'
                )
        return start, end, start_precision, end_precision, warnings

    @staticmethod
    def _settle_in_gap(start_local: LocalTime, end_local: LocalTime, duration, tolerance: Decimal) -> list:
        """A time the clock skipped, next to a valid one: the duration places it (end = start
        + duration, or start = end - duration), if that lands inside the skipped hour."""
        span = timedelta(seconds=seconds_int(duration.seconds))
        slack = timedelta(seconds=float(tolerance))
        if start_local.status == "ok" and end_local.status == "nonexistent":
            start = start_local.candidates[0]
            end = placed = start + span
            gap = end_local.candidates
        elif start_local.status == "nonexistent" and end_local.status == "ok":
            end = end_local.candidates[0]
            start = placed = end - span
            gap = start_local.candidates
        else:
            return []
        return [(start, end)] if gap[0] - slack <= placed <= gap[-1] + slack else []

    def _localize(self, naive: datetime) -> LocalTime:
        if naive.tzinfo is not None:
            return LocalTime("ok", [naive.astimezone(UTC)])
        return localize(naive, self.zone)

    def _dst_message(self, naive: datetime, status: str) -> str:
        if status == "ambiguous":
            return (
                f"{_local_text(naive)} happens twice in {self.zone.key} (clocks go back); "
                "add a UTC offset or a duration to tell which one"
            )
        return f"{_local_text(naive)} does not exist in {self.zone.key} (clocks go forward)"


def _hms(seconds: Decimal) -> str:
    total = int(seconds)
    return f"{total // 3600:02d}:{total % 3600 // 60:02d}:{total % 60:02d}"


# --------------------------------------------------------------------------------------
# Matching against what exists, and writing
# --------------------------------------------------------------------------------------


class Catalog:
    """Clients, projects, tasks and tags by name, looked up once per run and created on first
    use; memory grows with distinct names, not with rows."""

    def __init__(self):
        self.clients: dict[str, Client] = {}
        self.projects: dict[tuple[str, str | None], Project] = {}
        self.tasks: dict[tuple[int, str], Task] = {}
        self.tags: dict[str, Tag] = {}

    def client(self, name: str | None) -> Client | None:
        if not name:
            return None
        if name not in self.clients:
            self.clients[name] = client_get_or_create(name=name)
        return self.clients[name]

    def project(self, name: str, client_name: str | None) -> Project:
        key = (name, client_name)
        if key not in self.projects:
            self.projects[key] = project_get_or_create(name=name, client=self.client(client_name))
        return self.projects[key]

    def task(self, project: Project, name: str) -> Task | None:
        if not name:
            return None
        key = (project.pk, name)
        if key not in self.tasks:
            self.tasks[key] = task_get_or_create(project=project, name=name)
        return self.tasks[key]

    def tag_ids(self, names) -> list[int]:
        missing = [name for name in names if name not in self.tags]
        if missing:
            for tag in Tag.objects.filter(name__in=missing):
                self.tags[tag.name] = tag
            for name in missing:
                if name not in self.tags:
                    self.tags[name] = tag_get_or_create(name=name)
        return [self.tags[name].pk for name in names]


def _entry_matches(entry: TimeEntry, row: CleanRow) -> bool:
    """Compare at the precision the file carries: a file without microseconds leaves the
    stored ones alone (case 21)."""
    client_name = entry.project.client.name if entry.project.client_id else None
    return (
        truncate(entry.start, row.start_precision) == row.start
        and (
            entry.end is None
            if row.end is None
            else entry.end is not None and truncate(entry.end, row.end_precision) == row.end
        )
        and entry.project.name == row.project
        and client_name == row.client
        and (entry.task.name if entry.task_id else "") == row.task
        and (entry.notes or "") == row.notes
        and entry.billable == row.billable
        and sorted(tag.name for tag in entry.tags.all()) == sorted(row.tags)
    )


@dataclass
class Counts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: int = 0
    processed: int = 0

    def as_dict(self) -> dict:
        return asdict(self)


class DuplicateTracker:
    """Numbers identical rows within one file (occurrence 0, 1, …) so genuine twins are kept
    and a re-import finds each again. A fixed-size count-min sketch filled during validation
    tells which fingerprints can repeat; only those are counted exactly, so memory stays
    flat however long the file is."""

    def __init__(self):
        self.sketches = (bytearray(1 << SKETCH_BITS), bytearray(1 << SKETCH_BITS))
        self.counts: dict[str, int] = {}
        self.lines: dict[str, list[int]] = {}

    def _buckets(self, fingerprint: str) -> tuple[int, int]:
        mask = (1 << SKETCH_BITS) - 1
        return int(fingerprint[:8], 16) & mask, int(fingerprint[8:16], 16) & mask

    def note(self, fingerprint: str) -> None:
        for sketch, bucket in zip(self.sketches, self._buckets(fingerprint)):
            if sketch[bucket] < 255:
                sketch[bucket] += 1

    def occurrence(self, fingerprint: str, row: CleanRow) -> int:
        if min(sketch[bucket] for sketch, bucket in zip(self.sketches, self._buckets(fingerprint))) < 2:
            return 0
        occurrence = self.counts.get(fingerprint, 0)
        self.counts[fingerprint] = occurrence + 1
        # What the fingerprint leaves out but is imported: such rows are alike, not identical.
        self.lines.setdefault(fingerprint, []).append((row.line, row.billable, row.owner_id))
        return occurrence

    def warnings(self) -> list[str]:
        found = []
        for rows in self.lines.values():
            if len(rows) > 1:
                lines = [line for line, *_ in rows]
                listed = ", ".join(str(n) for n in lines[:-1]) + f" and {lines[-1]}"
                differing = [
                    name for name, values in (("billable", {r[1] for r in rows}), ("user", {r[2] for r in rows}))
                    if len(values) > 1
                ]
                if differing:
                    found.append(
                        f"{len(rows)} rows differ only in {' and '.join(differing)}: lines {listed} (all are imported)"
                    )
                else:
                    found.append(f"{len(rows)} identical rows: lines {listed} (all are imported)")
        return found


@dataclass
class ImportOutcome:
    layout: CsvLayout
    scan: FileScan
    date_order: str | None
    date_order_detected: bool
    needs_date_order: bool
    timezone: str
    errors: list[RowError] = dc_field(default_factory=list)
    error_count: int = 0
    warnings: list[str] = dc_field(default_factory=list)
    samples: list[dict] = dc_field(default_factory=list)
    counts: Counts = dc_field(default_factory=Counts)

    def add_warning(self, text: str) -> None:
        if len(self.warnings) < MAX_WARNINGS:
            self.warnings.append(text)


def _resolve_zone(user, name: str | None) -> ZoneInfo:
    if not name:
        profile = UserProfile.objects.filter(user=user).first()
        name = profile.timezone if profile else "UTC"
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ImportFileError(f'Unknown timezone "{name}"; use an IANA name such as Europe/Berlin.') from None


def csv_import_options_bound(*, user, options: CsvImportOptions, preview: CsvPreview | None = None) -> dict:
    """The options that decide what an import writes, as a preview's upload token binds them:
    the timezone resolved (empty: the profile's), the date order, skip-invalid. With the
    `preview`, its detected date order counts as the same choice as leaving it empty."""
    bound = {
        "timezone": preview.timezone if preview else _resolve_zone(user, options.timezone).key,
        "date_order": sorted({options.date_order or "", preview.date_order or ""} if preview else {options.date_order or ""}),
        "skip_invalid": bool(options.skip_invalid),
    }
    return bound


def csv_import_options_changed(*, previewed: dict, confirmed: dict) -> list[str]:
    """Names of the options a confirmation sets differently from its preview."""
    changed = []
    for name in ("timezone", "date_order", "skip_invalid"):
        if name not in previewed:
            continue
        if name == "date_order":
            if not set(confirmed[name]) <= set(previewed[name]):
                changed.append(name)
        elif confirmed[name] != previewed[name]:
            changed.append(name)
    return changed


def _check_options(options: CsvImportOptions) -> None:
    if options.date_order and options.date_order not in DATE_ORDERS:
        raise ImportFileError(f'Unknown date order "{options.date_order}"; use DMY, MDY or YMD.')


class CsvImport:
    """One pass of the pipeline over one stored file for one user. `execute(write=False)` is the
    preview; `execute(write=True)` writes in checkpointed batches."""

    def __init__(self, *, user, path: Path, options: CsvImportOptions):
        _check_options(options)
        self.user = user
        self.options = options
        self.zone = _resolve_zone(user, options.timezone)
        self.layout = csv_layout_detect(path)
        try:
            self.scan = csv_file_scan(self.layout)
        except CsvDecodeError as error:
            raise csv_read_error(self.layout, error) from None
        order, detected, needs = date_order_decide(self.scan, options.date_order)
        self.outcome = ImportOutcome(
            layout=self.layout,
            scan=self.scan,
            date_order=order,
            date_order_detected=detected,
            needs_date_order=needs,
            timezone=self.zone.key,
        )
        # While the user has not chosen, the preview reads day first so it can still show rows.
        self.cleaner = RowCleaner(
            user=user,
            layout=self.layout,
            date_order=order or "DMY",
            decimal_comma=self.scan.decimal_comma,
            zone=self.zone,
        )
        # While undecided, sample rows are read month first too, to show what depends on the order.
        self.other_reading = (
            RowCleaner(user=user, layout=self.layout, date_order="MDY", decimal_comma=self.scan.decimal_comma,
                       zone=self.zone)
            if needs
            else None
        )
        self.duplicates = DuplicateTracker()
        if self.scan.blank_count:
            lines = ", ".join(str(n) for n in self.scan.blank_lines[:BLANK_LINES_LISTED])
            if self.scan.blank_count > BLANK_LINES_LISTED:
                lines += f" and {self.scan.blank_count - BLANK_LINES_LISTED} more"
            self.outcome.add_warning(f"{self.scan.blank_count} blank lines ignored (lines {lines})")
        if self.scan.preamble_lines:
            lines = ", ".join(str(n) for n in self.scan.preamble_lines)
            self.outcome.add_warning(
                f"{len(self.scan.preamble_lines)} lines before the header row ignored (lines {lines})"
            )
        if len(self.scan.people) > 1:
            self.outcome.add_warning(
                f"The file holds entries of {len(self.scan.people)} people ({', '.join(sorted(self.scan.people))}); "
                "all are imported as yours."
            )

    def _rows(self):
        for record in self.layout.records():
            if not record.is_blank:
                yield record, self.cleaner.clean(record)

    def validate(self, progress=None) -> None:
        """Check every row; remember errors (the first MAX_STORED_ERRORS) and fill the sketch.
        Cleaned rows are spilled to a temporary file so writing does not parse them again and
        memory stays flat."""
        outcome = self.outcome
        self.spill = tempfile.TemporaryFile(prefix="tt-import-")  # noqa: SIM115 (closed after batches())
        dump = marshal.dump
        for number, (record, cleaned) in enumerate(self._rows(), start=1):
            if isinstance(cleaned, list):
                outcome.error_count += 1
                for row_error in cleaned:
                    if len(outcome.errors) < MAX_STORED_ERRORS:
                        outcome.errors.append(row_error)
                dump(None, self.spill)
            else:
                fingerprint = cleaned.fingerprint()
                self.duplicates.note(fingerprint)
                for warning in cleaned.warnings:
                    outcome.add_warning(warning)
                if len(outcome.samples) < SAMPLE_ROWS:
                    other = self.other_reading.clean(record) if self.other_reading else None
                    outcome.samples.append(cleaned.sample(other_reading=other))
                dump((fingerprint, *cleaned.packed()), self.spill)
            if progress and number % 2000 == 0:
                progress(number)

    def _spilled(self):
        self.spill.seek(0)
        load = marshal.load
        while True:
            try:
                item = load(self.spill)
            except EOFError:
                return
            yield None if item is None else (item[0], CleanRow.unpacked(item[1:]))

    def batches(self, size: int):
        """Valid rows with their source ids, in batches (after validate()); invalid rows come
        as (None, None) and are counted as failed."""
        batch = []
        for item in self._spilled():
            if item is None:
                batch.append((None, None))
            else:
                fingerprint, cleaned = item
                occurrence = self.duplicates.occurrence(fingerprint, cleaned)
                batch.append((cleaned, f"{fingerprint}:{occurrence}"))
            if len(batch) >= size:
                yield batch
                batch = []
        if batch:
            yield batch
        self.spill.close()

    def classify(self, batch) -> list[tuple[str, CleanRow, TimeEntry | None, str]]:
        """("create" | "update" | "unchanged" | "failed", row, existing entry, source id)."""
        rows = [(row, source_id) for row, source_id in batch if row is not None]
        owners = {row.owner_id for row, _ in rows}
        ids = [row.entry_id for row, _ in rows if row.entry_id]
        entries = TimeEntry.objects.select_related("project__client", "task").prefetch_related("tags")
        by_id = {e.pk: e for e in entries.filter(pk__in=ids, owner_id__in=owners)} if ids else {}
        source_ids = [sid for row, sid in rows if not (row.entry_id and row.entry_id in by_id)]
        by_source = {
            (e.owner_id, e.source_id): e
            for e in entries.filter(owner_id__in=owners, source_system=SOURCE_SYSTEM, source_id__in=source_ids)
        } if source_ids else {}
        decided = []
        for row, source_id in batch:
            if row is None:
                decided.append(("failed", None, None, ""))
                continue
            existing = by_id.get(row.entry_id) if row.entry_id else None
            if existing is not None and existing.owner_id != row.owner_id:
                existing = None
            if existing is None:
                existing = by_source.get((row.owner_id, source_id))
            if existing is None:
                decided.append(("create", row, None, source_id))
            elif _entry_matches(existing, row):
                decided.append(("unchanged", row, existing, source_id))
            else:
                decided.append(("update", row, existing, source_id))
        self._warn_near_copies([d for d in decided if d[0] == "create"])
        return decided

    def _warn_near_copies(self, creates) -> None:
        """Case 11: an entry edited at the source comes back with a new fingerprint; say it looks
        like an existing entry instead of silently adding a second one."""
        if not creates:
            return
        owners = {row.owner_id for _, row, _, _ in creates}
        starts = {row.start for _, row, _, _ in creates}
        existing = {
            (owner, start.replace(microsecond=0), end.replace(microsecond=0) if end else None): pk
            for pk, owner, start, end in TimeEntry.objects.filter(owner_id__in=owners, start__in=starts).values_list(
                "pk", "owner_id", "start", "end"
            )
        }
        for _, row, _, _ in creates:
            key = (row.owner_id, row.start.replace(microsecond=0), row.end.replace(microsecond=0) if row.end else None)
            if key in existing:
                self.outcome.add_warning(
                    f"line {row.line}: same start and end as existing entry #{existing[key]} but different "
                    "details; it is imported as a new entry (edit or delete one of them if it is the same work)"
                )

    def count(self, decided) -> None:
        counts = self.outcome.counts
        for action, *_ in decided:
            counts.processed += 1
            if action == "create":
                counts.created += 1
            elif action == "update":
                counts.updated += 1
            elif action == "unchanged":
                counts.unchanged += 1
            else:
                counts.failed += 1

    def finish_warnings(self) -> None:
        for warning in self.duplicates.warnings():
            self.outcome.add_warning(warning)


ENTRY_COLUMNS = (
    "owner", "project", "task", "start", "end", "duration_seconds", "notes", "billable", "source_system", "source_id",
    "created_at", "updated_at",
)


def _insert_rows(model, field_names, rows) -> None:
    """Multi-row INSERT statements: the ORM's per-object work costs more than the insert
    itself, and these rows need no model logic (bulk_create sends no signals either). One
    statement per chunk, not one per row: a round trip per row is what makes PostgreSQL slow."""
    meta = model._meta
    quote = connection.ops.quote_name
    columns = ", ".join(quote(meta.get_field(name).column) for name in field_names)
    row_placeholder = "(" + ", ".join(["%s"] * len(field_names)) + ")"
    max_params = connection.features.max_query_params or 60000
    per_statement = max(1, max_params // len(field_names))
    with connection.cursor() as cursor:
        for first in range(0, len(rows), per_statement):
            chunk = rows[first : first + per_statement]
            cursor.execute(
                f"INSERT INTO {quote(meta.db_table)} ({columns}) VALUES {', '.join([row_placeholder] * len(chunk))}",
                [value for row in chunk for value in row],
            )


def _write_batch(decided, catalog: Catalog) -> None:
    adapt = connection.ops.adapt_datetimefield_value
    now = timezone.now()
    created, created_tags = [], []
    updated, retag = [], []
    for action, row, existing, source_id in decided:
        if action not in ("create", "update"):
            continue
        project = catalog.project(row.project, row.client)
        task = catalog.task(project, row.task)
        tag_ids = catalog.tag_ids(row.tags)
        if action == "create":
            created.append(
                (row.owner_id, project.pk, task.pk if task else None, adapt(row.start), adapt(row.end),
                 row.duration_seconds, row.notes, row.billable, SOURCE_SYSTEM, source_id, adapt(now), adapt(now))
            )
            created_tags.append((row.owner_id, source_id, tag_ids))
        else:
            existing.project = project
            existing.task = task
            if truncate(existing.start, row.start_precision) != row.start:
                existing.start = row.start
            if row.end is None or existing.end is None or truncate(existing.end, row.end_precision) != row.end:
                existing.end = row.end
            existing.duration_seconds = row.duration_seconds if existing.end is None else max(
                0, round((existing.end - existing.start).total_seconds())
            )
            existing.notes = row.notes
            existing.billable = row.billable
            existing.updated_at = now
            updated.append(existing)
            if sorted(t.name for t in existing.tags.all()) != sorted(row.tags):
                retag.append((existing, tag_ids))
    if created:
        _insert_rows(TimeEntry, ENTRY_COLUMNS, created)
        # (owner, source id) is unique, so it finds the new rows' ids on every database.
        new_ids = {
            (owner_id, source_id): pk
            for pk, owner_id, source_id in TimeEntry.objects.filter(
                owner_id__in={owner for owner, _, _ in created_tags},
                source_system=SOURCE_SYSTEM,
                source_id__in=[source_id for _, source_id, _ in created_tags],
            ).values_list("pk", "owner_id", "source_id")
        }
        links = [
            (new_ids[(owner_id, source_id)], tag_id)
            for owner_id, source_id, tag_ids in created_tags
            for tag_id in tag_ids
        ]
        if links:
            _insert_rows(TimeEntry.tags.through, ("timeentry", "tag"), links)
    if updated:
        TimeEntry.objects.bulk_update(
            updated, ["project", "task", "start", "end", "duration_seconds", "notes", "billable", "updated_at"]
        )
    for entry, tag_ids in retag:
        entry.tags.set(tag_ids)


def _preview_from(outcome: CsvImport) -> CsvPreview:
    result = outcome.outcome
    layout = result.layout
    return CsvPreview(
        format_name=layout.resource.format_name,
        delimiter=layout.delimiter,
        encoding=layout.encoding,
        date_order=result.date_order,
        date_order_detected=result.date_order_detected,
        needs_date_order=result.needs_date_order,
        timezone=result.timezone,
        columns=[cell.strip().lstrip("\ufeff") for cell in layout.header],
        ignored_columns=layout.ignored_columns,
        sample_rows=result.samples,
        total_rows=result.scan.rows,
        errors=result.errors,
        warnings=result.warnings,
        would_create=result.counts.created,
        would_update=result.counts.updated,
        unchanged=result.counts.unchanged,
        currency=layout.currency,
        format_label=layout.resource.label,
        will_import=not _not_imported_reason(outcome),
        not_imported_reason=_not_imported_reason(outcome),
    )


def _not_imported_reason(run: CsvImport) -> str:
    """Why an import of this file with these options writes nothing ("" when it writes):
    the same words the import's failure message uses after "Nothing was imported: "."""
    outcome = run.outcome
    if outcome.needs_date_order:
        question = date_order_question(run.scan)
        return f"{question[0].lower()}{question[1:]}. Choose the date order (DMY, MDY or YMD) and import again."
    if outcome.error_count and not run.options.skip_invalid:
        return f"{outcome.error_count} of {run.scan.rows} rows are invalid."
    return ""


def batch_size() -> int:
    return settings.IMPORT_CSV_BATCH_SIZE


def csv_import_preview(*, user, stored_file: str, options: CsvImportOptions) -> CsvPreview:
    """Read the stored file and validate every row without writing. Raises ImportFileError."""
    run = CsvImport(user=user, path=stored_file_path(stored_file), options=options)
    run.validate()
    samples = {sample["line"]: sample for sample in run.outcome.samples}
    for batch in run.batches(batch_size()):
        decided = run.classify(batch)
        for action, row, _, _ in decided:
            if row is not None and row.line in samples:
                # What the import will do with this row, decided as the import decides it.
                samples[row.line]["action"] = action
        run.count(decided)
    run.finish_warnings()
    if run.outcome.needs_date_order:
        run.outcome.warnings.insert(0, f"{date_order_question(run.scan)}; choose the date order before importing.")
    return _preview_from(run)


def csv_import_create(
    *, user, stored_file: str, source_file_name: str, options: CsvImportOptions, enqueue: bool = True
) -> DataImport:
    """Create a pending DataImport and enqueue the import task once the transaction commits.
    The timezone the rows are read in is fixed now (the profile's unless chosen).
    `enqueue=False` leaves running it to the caller (manage.py import_csv, the bench)."""
    _check_options(options)
    stored_file_path(stored_file)
    zone = _resolve_zone(user, options.timezone)
    confirmed = CsvImportOptions(
        timezone=zone.key, date_order=options.date_order, skip_invalid=options.skip_invalid, dry_run=options.dry_run
    )
    data_import = data_import_create_once(
        owner=user,
        import_type=DataImport.Type.CSV,
        source_file_name=(source_file_name or "")[:255],
        stored_file=stored_file,
        options=confirmed.as_dict(),
    )
    from .tasks import csv_import_task

    if not enqueue:
        return data_import
    return data_import_enqueue(data_import, task=csv_import_task)


ALREADY_IMPORTED = "This preview has already been imported; see the import history."


def data_import_create_once(**fields_) -> DataImport:
    """Create a DataImport for a stored upload, which only one import may claim: the database
    refuses a second row for the same file, so of two confirmations of one preview arriving
    together exactly one gets the import, the other ImportFileError (ALREADY_IMPORTED)."""
    try:
        with transaction.atomic():
            return DataImport.objects.create(**fields_)
    except IntegrityError:
        if DataImport.objects.filter(stored_file=fields_.get("stored_file")).exists():
            raise ImportFileError(ALREADY_IMPORTED) from None
        raise


def data_import_enqueue(data_import: DataImport, *, task) -> DataImport:
    """Queue `task(data_import.pk)` once the current transaction commits; in-process mode (no
    broker) runs it at once, since the same connection sees the row, and returns it refreshed."""
    if celery_app.conf.task_always_eager:
        task.delay(data_import.pk)
        data_import.refresh_from_db()
    else:
        transaction.on_commit(lambda: task.delay(data_import.pk))
    return data_import


def csv_import_stale_after() -> timedelta:
    """How long an unfinished CSV import may show no sign of life (its heartbeat, written at
    the start, every 2000 rows checked and with every batch) before it counts as interrupted.
    With a broker, longer than its redelivery, since a late-acked task comes back and
    resumes; in-process (embedded) nothing redelivers, so a killed server's import is
    given up soon."""
    if settings.REDIS_URL:
        visibility = settings.CELERY_BROKER_TRANSPORT_OPTIONS.get("visibility_timeout", 3600)
        return timedelta(seconds=visibility) + timedelta(minutes=10)
    return timedelta(minutes=10)


def _heartbeat(data_import: DataImport) -> datetime:
    beat = (data_import.checkpoint or {}).get("heartbeat")
    return datetime.fromisoformat(beat) if beat else (data_import.started_at or data_import.created_at)


def csv_imports_interrupted_fail() -> int:
    """Mark failed the pending or processing CSV imports without a heartbeat for longer than
    `csv_import_stale_after()` (a killed `import_csv`, a server restarted mid-import), so the
    history does not show them running for ever. Run when the history or a status is read.
    Returns how many were marked."""
    unfinished = (DataImport.Status.PENDING, DataImport.Status.PROCESSING)
    now = clock()
    stale = [
        data_import
        for data_import in DataImport.objects.filter(import_type=DataImport.Type.CSV, status__in=unfinished).only(
            "pk", "checkpoint", "started_at", "created_at", "stored_file"
        )
        if now - _heartbeat(data_import) > csv_import_stale_after()
    ]
    for data_import in stale:
        since = _heartbeat(data_import).astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        # Only if still unfinished: a run that just ended is left as it ended.
        marked = DataImport.objects.filter(pk=data_import.pk, status__in=unfinished).update(
            status=DataImport.Status.FAILED,
            status_message=f"Interrupted: no progress since {since}; import the file again "
            "(rows already imported are not created twice).",
            finished_at=now,
        )
        if marked:
            _remove_stored_file(data_import)
    return len(stale)


def _beat_now() -> str:
    return clock().isoformat()


def _save_heartbeat(data_import_id: int) -> None:
    # Locked: a second run of the same import may be committing a batch checkpoint meanwhile.
    with transaction.atomic():
        locked = DataImport.objects.select_for_update().only("checkpoint").get(pk=data_import_id)
        locked.checkpoint = {**(locked.checkpoint or {}), "heartbeat": _beat_now()}
        locked.save(update_fields=["checkpoint"])


def _save_progress(data_import_id: int, **fields_) -> None:
    DataImport.objects.filter(pk=data_import_id).update(**fields_)


def _fail(data_import: DataImport, message: str, **fields_) -> DataImport:
    data_import.status = DataImport.Status.FAILED
    data_import.status_message = message[:500]
    data_import.finished_at = timezone.now()
    for name, value in fields_.items():
        setattr(data_import, name, value)
    data_import.save()
    _remove_stored_file(data_import)
    return data_import


def _remove_stored_file(data_import: DataImport) -> None:
    try:
        stored_file_path(data_import.stored_file).unlink(missing_ok=True)
    except ImportFileError:
        pass


def _summary(run: CsvImport) -> dict:
    preview = _preview_from(run)
    return {
        "format": preview.format_name,
        "format_label": run.layout.resource.label,
        "currency": run.layout.currency,
        "encoding": preview.encoding,
        "delimiter": preview.delimiter,
        "date_order": preview.date_order,
        "date_order_detected": preview.date_order_detected,
        "timezone": preview.timezone,
        "columns": preview.columns,
        "ignored_columns": preview.ignored_columns,
        "blank_lines": run.scan.blank_lines,
        "warnings": preview.warnings,
        "invalid_rows": run.outcome.error_count,
    }


def csv_import_run(
    *, data_import_id: int, stop_after_batches: int | None = None, progress: Callable[[str, int, int], None] | None = None
) -> DataImport:
    """The task body: validate all rows, then write in batches. Each batch commits together
    with the checkpoint, so a rerun after a crash skips exactly the batches already written;
    a finished import is left alone. `stop_after_batches` ends a run early (time-boxed runs;
    the next run continues). `progress(phase, done, total)` is called as rows are checked
    ("checking") and written ("importing"), for progress bars."""
    try:
        return _csv_import_run(
            data_import_id=data_import_id, stop_after_batches=stop_after_batches, progress=progress
        )
    except (OperationalError, InterfaceError):
        raise  # the connection, not the data: the task retries and resumes from the checkpoint
    except Exception as error:
        # Never leave an import "processing" for ever: the page would poll it without end.
        logger.exception("CSV import %s failed", data_import_id)
        data_import = DataImport.objects.get(pk=data_import_id)
        if data_import.is_finished:
            return data_import
        return _fail(
            data_import,
            f"Import failed unexpectedly after {data_import.processed_records} rows: {type(error).__name__}: {error}",
        )


def csv_import_give_up(*, data_import_id: int, error: Exception, attempts: int) -> DataImport:
    """Mark an import failed after its last attempt lost the database connection or found it
    locked (the task gave up retrying). A finished import is left alone."""
    data_import = DataImport.objects.get(pk=data_import_id)
    if data_import.is_finished:
        return data_import
    logger.error("CSV import %s gave up after %s attempts: %s", data_import_id, attempts, error)
    return _fail(
        data_import,
        f"Import stopped after {data_import.processed_records} rows: the database was unavailable "
        f"({str(error).strip()[:200]}) in {attempts} attempts. Import the file again "
        "(rows already imported are not created twice).",
    )


def _csv_import_run(*, data_import_id: int, stop_after_batches: int | None, progress) -> DataImport:
    with transaction.atomic():
        data_import = DataImport.objects.select_for_update().get(pk=data_import_id)
        if data_import.is_finished:
            return data_import
        data_import.checkpoint = {**(data_import.checkpoint or {}), "heartbeat": _beat_now()}
        if data_import.status != DataImport.Status.PROCESSING:
            data_import.status = DataImport.Status.PROCESSING
            data_import.started_at = timezone.now()
            data_import.status_message = "Reading the file"
            data_import.save(update_fields=["status", "started_at", "status_message", "checkpoint"])
        else:
            data_import.save(update_fields=["checkpoint"])
    options = CsvImportOptions(**data_import.options)
    try:
        run = CsvImport(user=data_import.owner, path=stored_file_path(data_import.stored_file), options=options)
    except ImportFileError as error:
        return _fail(data_import, str(error))
    outcome = run.outcome
    _save_progress(data_import.pk, total_records=run.scan.rows, status_message="Checking every row")
    if outcome.needs_date_order:
        return _fail(
            data_import,
            f"Nothing was imported: {_not_imported_reason(run)}",
            total_records=run.scan.rows,
            summary=_summary(run),
        )

    def checked(done: int) -> None:
        _save_progress(data_import.pk, status_message=f"Checked {done} of {run.scan.rows} rows")
        _save_heartbeat(data_import.pk)
        if progress:
            progress("checking", done, run.scan.rows)

    run.validate(progress=checked)
    if progress:
        progress("checking", run.scan.rows, run.scan.rows)
    row_errors = [error.as_dict() for error in outcome.errors]
    if outcome.error_count and not options.skip_invalid:
        return _fail(
            data_import,
            f"Nothing was imported: {_not_imported_reason(run)}",
            total_records=run.scan.rows,
            failed_records=outcome.error_count,
            processed_records=0,
            row_errors=row_errors,
            summary=_summary(run),
        )

    checkpoint = data_import.checkpoint or {}
    done_batches = checkpoint.get("batches", 0)
    counts = outcome.counts
    if done_batches:
        for name, value in checkpoint.get("counts", {}).items():
            setattr(counts, name, value)
    catalog = Catalog()
    written_now = 0
    for number, batch in enumerate(run.batches(batch_size()), start=1):
        if number <= done_batches:
            # Written by an earlier run (batches() kept the duplicate numbering in step).
            continue
        if stop_after_batches is not None and written_now >= stop_after_batches:
            return DataImport.objects.get(pk=data_import.pk)
        try:
            with transaction.atomic():
                locked = DataImport.objects.select_for_update().get(pk=data_import.pk)
                if locked.checkpoint.get("batches", 0) != number - 1 or locked.is_finished:
                    # Another run of the same import got here first; leave the work to it.
                    return locked
                # Two imports of the same file for one owner would both see a source id as new
                # and the second insert would break the unique key: lock the owners' rows so
                # their batches take turns, then look the source ids up after the lock.
                owners = sorted({row.owner_id for row, _ in batch if row is not None})
                list(User.objects.select_for_update().filter(pk__in=owners).order_by("pk").values_list("pk"))
                decided = run.classify(batch)
                if not options.dry_run:
                    _write_batch(decided, catalog)
                run.count(decided)
                locked.checkpoint = {"batches": number, "counts": counts.as_dict(), "heartbeat": _beat_now()}
                locked.processed_records = counts.processed
                locked.created_records = counts.created
                locked.updated_records = counts.updated
                locked.unchanged_records = counts.unchanged
                locked.successful_records = counts.created + counts.updated + counts.unchanged
                locked.failed_records = counts.failed
                locked.status_message = f"Imported {counts.processed} of {run.scan.rows} rows"
                locked.save(
                    update_fields=[
                        "checkpoint",
                        "processed_records",
                        "created_records",
                        "updated_records",
                        "unchanged_records",
                        "successful_records",
                        "failed_records",
                        "status_message",
                    ]
                )
        except (OperationalError, InterfaceError):
            raise  # the connection, not the data: the task retries and resumes at this batch
        except DatabaseError as error:
            lines = [row.line for row, _ in batch if row is not None]
            return _fail(
                DataImport.objects.get(pk=data_import.pk),
                f"Import stopped at lines {lines[0]}-{lines[-1]}: the database refused a row ({str(error).strip()[:200]}). "
                f"{counts.processed} rows before them were imported; fix the file and import it again "
                "(rows already imported are not created twice).",
            )
        written_now += 1
        if progress:
            progress("importing", counts.processed, run.scan.rows)

    run.finish_warnings()
    data_import.refresh_from_db()
    data_import.total_records = run.scan.rows
    data_import.row_errors = row_errors
    data_import.summary = _summary(run)
    data_import.skipped_records = counts.failed if options.skip_invalid else 0
    data_import.finished_at = timezone.now()
    verb = "Checked (dry run)" if options.dry_run else "Imported"
    message = f"{verb}: {counts.created} created, {counts.updated} updated, {counts.unchanged} unchanged"
    if counts.failed:
        data_import.status = DataImport.Status.COMPLETED_WITH_ERRORS
        message += f", {counts.failed} invalid rows skipped"
    else:
        data_import.status = DataImport.Status.COMPLETED
    data_import.status_message = message + "."
    data_import.save()
    _remove_stored_file(data_import)
    return data_import
