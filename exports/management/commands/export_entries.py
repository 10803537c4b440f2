from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from exports import selectors, services
from exports.models import DataExport

from ._progress import ExportProgressBar


class Command(BaseCommand):
    help = (
        "Export the time entries of --user (optionally filtered) as CSV (our import layout), JSON or XLSX. "
        "An admin user may add --owner NAME or --owner all."
    )

    def add_arguments(self, parser):
        parser.add_argument("--user", required=True, help="Who exports: their entries, their timezone.")
        parser.add_argument("--format", choices=["csv", "json", "xlsx"], default="csv")
        parser.add_argument("--output", required=True, help="The file to write, or a folder to write it into under its usual name.")
        parser.add_argument("--start-date", "--from", dest="start_date", help="YYYY-MM-DD, included")
        parser.add_argument("--end-date", "--to", dest="end_date", help="YYYY-MM-DD, included")
        # A name wins over an id: "--tag 2024" is the tag named 2024 if there is one.
        parser.add_argument("--client", help="client name, or id when no client has that name")
        parser.add_argument("--project", help="project name, or id when no project has that name")
        parser.add_argument("--task", help="task name, or id when no task has that name")
        parser.add_argument("--tag", help="tag name, or id when no tag has that name")
        for name in ("client", "project", "task", "tag"):
            parser.add_argument(f"--{name}-id", dest=f"{name}_id", type=int, help=f"{name} id")
        billable = parser.add_mutually_exclusive_group()
        billable.add_argument("--billable", dest="billable", action="store_const", const=True, default=None)
        billable.add_argument("--non-billable", dest="billable", action="store_const", const=False)
        parser.add_argument("--search", help="text in notes, project, client or task names")
        parser.add_argument("--owner", help="admins only: whose entries (a username, or 'all')")
        parser.add_argument("--no-bom", action="store_true", help="CSV without the UTF-8 BOM")
        parser.add_argument("--no-progress", action="store_true", help="No progress bar.")

    def handle(self, *args, **options):
        user = get_user_model().objects.filter(username=options["user"]).first()
        if user is None:
            raise CommandError(f"No user named {options['user']!r}.")
        filters = {
            key: options[key]
            for key in (
                "start_date", "end_date", "client", "project", "task", "tag", "client_id", "project_id", "task_id",
                "tag_id", "billable", "search",
            )  # fmt: skip
            if options[key] is not None
        }
        if options["owner"]:
            filters["user"] = options["owner"]
        try:
            services.output_path_check(Path(options["output"]))
            export = services.data_export_create(
                user=user,
                export_type=DataExport.Type.FILTERED,
                export_format=options["format"],
                filters=filters,
                bom=not options["no_bom"],
                enqueue=False,
            )
        except (selectors.ExportFilterError, services.ExportRequestError) as exc:
            raise CommandError(str(exc)) from exc
        bar = ExportProgressBar(
            description="Exporting time entries", stream=getattr(self.stderr, "_out", self.stderr), disable=options["no_progress"]
        )
        try:
            export = services.data_export_run(data_export_id=export.pk, progress_callback=bar)
        finally:
            bar.close()
        if export.status != DataExport.Status.COMPLETED:
            raise CommandError(export.error_message or "The export failed.")
        try:
            written = services.data_export_copy_to(export=export, destination=Path(options["output"]))
        except services.ExportRequestError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            f"Wrote {written}: {export.record_count} time entries, {export.file_size} bytes, "
            f"SHA-256 {export.sha256}"
        )
