from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from exports import services
from exports.models import DataExport

from ._progress import ExportProgressBar


class Command(BaseCommand):
    help = "Export everything TimeTracker holds about USER (GDPR) as one JSON document or a ZIP of datasets."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--format", choices=["json", "zip"], default="zip")
        parser.add_argument("--output", required=True, help="The file to write, or a folder to write it into under its usual name.")
        parser.add_argument("--no-progress", action="store_true", help="No progress bar.")

    def handle(self, *args, username, format, output, no_progress, **options):
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user named {username!r}.")
        try:
            services.output_path_check(Path(output))
        except services.ExportRequestError as exc:
            raise CommandError(str(exc)) from exc
        export = services.data_export_create(
            user=user, export_type=DataExport.Type.GDPR, export_format=format, enqueue=False
        )
        bar = ExportProgressBar(
            description=f"GDPR export of {username}", stream=getattr(self.stderr, "_out", self.stderr), disable=no_progress
        )
        try:
            export = services.data_export_run(data_export_id=export.pk, progress_callback=bar)
        finally:
            bar.close()
        if export.status != DataExport.Status.COMPLETED:
            raise CommandError(export.error_message or "The export failed.")
        try:
            written = services.data_export_copy_to(export=export, destination=Path(output))
        except services.ExportRequestError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            f"Wrote {written}: {export.record_count} records, {export.file_size} bytes, SHA-256 {export.sha256}"
        )
