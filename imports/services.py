"""Writes of the imports app: storing uploads and importing CSV time entries.

One pipeline serves every entry point (page, session JSON, DRF API, admin, manage.py, Celery):
store the upload -> preview (sniff, recognise the format, validate every row) -> create a
pending DataImport -> the task runs `csv_import_run`, which validates everything again and
writes in batches whose progress is checkpointed.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from .models import DataImport


class ImportFileError(Exception):
    """The file as a whole cannot be imported (not CSV, cannot decode, no header, unknown
    format). The message is shown to the user as is (a 400 from the APIs)."""


class UploadTooLarge(ImportFileError):
    """The upload is bigger than settings.MAX_UPLOAD_SIZE (a 413 from the APIs)."""


@dataclass
class RowError:
    line: int
    column: str
    value: str
    message: str

    def as_dict(self) -> dict:
        return {"line": self.line, "column": self.column, "value": self.value, "message": self.message}

    def __str__(self) -> str:
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

    def as_dict(self) -> dict:
        data = asdict(self)
        data["errors"] = [error.as_dict() for error in self.errors]
        return data


def csv_upload_store(*, user, uploaded_file) -> str:
    """Stream an UploadedFile (or any binary file object) into private storage; raises
    UploadTooLarge past settings.MAX_UPLOAD_SIZE. Returns the path relative to
    PRIVATE_STORAGE_DIR."""
    raise NotImplementedError


def csv_text_store(*, user, text: str) -> str:
    """Store a CSV body given as text (JSON {"csv": ...} or a text/csv request body)."""
    raise NotImplementedError


def csv_rows_store(*, user, rows: list[dict]) -> str:
    """Store JSON rows ({"data": [...]}, keys of the template layout) as a template CSV."""
    raise NotImplementedError


def csv_import_preview(*, user, stored_file: str, options: CsvImportOptions) -> CsvPreview:
    """Read the stored file and validate every row without writing. Raises ImportFileError."""
    raise NotImplementedError


def csv_import_create(*, user, stored_file: str, source_file_name: str, options: CsvImportOptions) -> DataImport:
    """Create a pending DataImport and enqueue the import task once the transaction commits."""
    raise NotImplementedError


def csv_import_run(*, data_import_id: int) -> DataImport:
    """The task body: validate all rows, then write in checkpointed batches. Safe to run twice."""
    raise NotImplementedError
