from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from imports.models import DataImport
from imports.services import (
    CsvImportOptions,
    ImportFileError,
    csv_import_create,
    csv_import_run,
    csv_upload_store,
)
from timetracker.lib.timeparse import DATE_ORDERS

SHOWN_ERRORS = 20


class Command(BaseCommand):
    help = "Import time entries from a CSV file (our template, Toggl, Clockify or Harvest) for one user."

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument("--user", required=True, help="username (or e-mail) of the owner")
        parser.add_argument("--timezone", help="timezone of times without an offset (default: the user's)")
        parser.add_argument("--date-order", choices=DATE_ORDERS, help="order of day and month in dates")
        parser.add_argument("--dry-run", action="store_true", help="check and count, write nothing")
        parser.add_argument("--skip-invalid", action="store_true", help="import the valid rows, report the others")

    def handle(self, *args, **options):
        users = get_user_model().objects
        user = users.filter(username=options["user"]).first() or users.filter(email__iexact=options["user"]).first()
        if user is None:
            raise CommandError(f'No user "{options["user"]}".')
        path: Path = options["file"]
        if not path.is_file():
            raise CommandError(f"No such file: {path}")
        import_options = CsvImportOptions(
            timezone=options["timezone"],
            date_order=options["date_order"],
            skip_invalid=options["skip_invalid"],
            dry_run=options["dry_run"],
        )
        try:
            with open(path, "rb") as upload:
                stored = csv_upload_store(user=user, uploaded_file=upload)
            data_import = csv_import_create(
                user=user, stored_file=stored, source_file_name=path.name, options=import_options, enqueue=False
            )
        except ImportFileError as error:
            raise CommandError(str(error)) from None

        bars: dict[str, tqdm] = {}

        def progress(phase: str, done: int, total: int) -> None:
            if phase not in bars:
                label = "Checking" if phase == "checking" else "Importing"
                bars[phase] = tqdm(total=total, desc=label, unit="rows", file=self.stderr._out, leave=True)
            bar = bars[phase]
            bar.update(done - bar.n)

        data_import = csv_import_run(data_import_id=data_import.pk, progress=progress)
        for bar in bars.values():
            bar.close()
        self._report(data_import)
        if data_import.status == DataImport.Status.FAILED:
            raise CommandError(data_import.status_message)

    def _report(self, data_import: DataImport) -> None:
        summary = data_import.summary or {}
        out = self.stdout
        if summary:
            out.write(
                f"Format: {summary.get('format_label')} ({summary.get('encoding')}, delimiter "
                f"{summary.get('delimiter')!r}), date order {summary.get('date_order') or 'unknown'}, "
                f"timezone {summary.get('timezone')}"
            )
            if summary.get("ignored_columns"):
                out.write(f"Ignored columns: {', '.join(summary['ignored_columns'])}")
        out.write(
            f"Rows: {data_import.total_records}; created {data_import.created_records}, "
            f"updated {data_import.updated_records}, unchanged {data_import.unchanged_records}, "
            f"failed {data_import.failed_records}"
        )
        for row_error in data_import.row_errors[:SHOWN_ERRORS]:
            out.write(
                f'  line {row_error["line"]}, column "{row_error["column"]}", value "{row_error["value"]}": '
                f'{row_error["message"]}'
            )
        if len(data_import.row_errors) > SHOWN_ERRORS:
            out.write(f"  … and {data_import.failed_records - SHOWN_ERRORS} more invalid rows")
        for warning in summary.get("warnings", []):
            out.write(f"Warning: {warning}")
        if data_import.status != DataImport.Status.FAILED:
            out.write(self.style.SUCCESS(f"Import #{data_import.pk} {data_import.status}: {data_import.status_message}"))
