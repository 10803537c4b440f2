"""Helpers for the import engine tests: store a file as an upload would and run the import
through the same service and Celery task the entry points use."""

from pathlib import Path

from imports.models import DataImport
from imports.services import (
    CsvImportOptions,
    csv_import_create,
    csv_import_preview,
    csv_upload_store,
)


class FileUpload:
    """The two things csv_upload_store reads from an UploadedFile: size and chunks()."""

    def __init__(self, data: bytes, name: str = "upload.csv"):
        self.data = data
        self.name = name
        self.size = len(data)

    def chunks(self):
        for start in range(0, len(self.data), 4096):
            yield self.data[start : start + 4096]


def store_bytes(user, data: bytes) -> str:
    return csv_upload_store(user=user, uploaded_file=FileUpload(data))


def import_file(user, path: Path | bytes, **options) -> DataImport:
    data = path if isinstance(path, bytes) else Path(path).read_bytes()
    stored = store_bytes(user, data)
    name = "upload.csv" if isinstance(path, bytes) else Path(path).name
    return csv_import_create(user=user, stored_file=stored, source_file_name=name, options=CsvImportOptions(**options))


def preview_file(user, path: Path | bytes, **options):
    data = path if isinstance(path, bytes) else Path(path).read_bytes()
    return csv_import_preview(user=user, stored_file=store_bytes(user, data), options=CsvImportOptions(**options))
