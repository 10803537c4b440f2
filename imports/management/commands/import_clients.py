from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from imports.clients import (
    ClientImportOptions,
    clients_import_create,
    clients_import_run,
    clients_upload_check,
)
from imports.models import DataImport
from imports.services import ImportFileError, RowError, csv_upload_store

SHOWN_ERRORS = 20


class Command(BaseCommand):
    help = "Import clients and their contacts from a CSV file in the clients layout (see the clients template)."

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument("--user", help="username (or e-mail) the import is recorded for (default: the first superuser)")
        parser.add_argument("--update", action="store_true", help="update existing clients instead of skipping them (admins only)")
        parser.add_argument(
            "--duplicate-fields",
            help="comma list of fields that find an existing client: name, email, custom_field_<key> "
            "(default: name and every custom field in the file)",
        )
        parser.add_argument("--skip-invalid", action="store_true", help="import the valid rows, report the others")
        parser.add_argument("--dry-run", action="store_true", help="check and count, write nothing")

    def handle(self, *args, **options):
        users = get_user_model().objects
        if options["user"]:
            name = options["user"]
            user = users.filter(username=name).first() or users.filter(email__iexact=name).first()
            if user is None:
                raise CommandError(f'No user "{name}".')
        else:
            user = users.filter(is_superuser=True, is_active=True).order_by("pk").first()
            if user is None:
                raise CommandError("No superuser to record the import for; pass --user.")
        path: Path = options["file"]
        if not path.is_file():
            raise CommandError(f"No such file: {path}")
        fields = [part.strip() for part in (options["duplicate_fields"] or "").split(",") if part.strip()]
        import_options = ClientImportOptions(
            skip_duplicates=not options["update"],
            duplicate_detection_fields=fields or None,
            skip_invalid=options["skip_invalid"],
            dry_run=options["dry_run"],
        )
        try:
            with open(path, "rb") as upload:
                stored = csv_upload_store(user=user, uploaded_file=upload)
            clients_upload_check(stored_file=stored, options=import_options)
            data_import = clients_import_create(
                user=user, stored_file=stored, source_file_name=path.name, options=import_options, enqueue=False
            )
        except ImportFileError as error:
            raise CommandError(str(error)) from None
        data_import = clients_import_run(data_import_id=data_import.pk)
        self._report(data_import)
        if data_import.status == DataImport.Status.FAILED:
            raise CommandError(data_import.status_message)

    def _report(self, data_import: DataImport) -> None:
        out = self.stdout
        out.write(
            f"Rows: {data_import.total_records}; created {data_import.created_records}, "
            f"updated {data_import.updated_records}, unchanged {data_import.unchanged_records}, "
            f"skipped {data_import.skipped_records}, invalid {data_import.failed_records}"
        )
        for row_error in data_import.row_errors[:SHOWN_ERRORS]:
            out.write(f"  {RowError(**row_error)}")
        if len(data_import.row_errors) > SHOWN_ERRORS:
            out.write(f"  … and {len(data_import.row_errors) - SHOWN_ERRORS} more")
        if data_import.status != DataImport.Status.FAILED:
            out.write(self.style.SUCCESS(f"Import #{data_import.pk} {data_import.status}: {data_import.status_message}"))
