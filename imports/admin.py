"""Admin: import history, and the TimeEntry page's import/export (django-import-export),
which runs through the same import service as every other entry point."""

import csv
import io
import tempfile
from pathlib import Path

import tablib
from django import forms
from django.contrib import admin, messages
from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.http import HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path
from import_export.admin import ImportExportMixin
from import_export.formats import base_formats
from import_export.forms import ConfirmImportForm, ImportForm
from import_export.results import Error, Result, RowResult

from timetracker.lib.csv_dialects import sniff_delimiter
from timetracker.lib.timeparse import DATE_ORDERS

from .clients import (
    ClientImportOptions,
    clients_csv_rows,
    clients_csv_text,
    clients_export_file_name,
    clients_import_create,
    clients_import_options_bound,
    clients_import_options_changed,
    clients_import_preview,
    clients_upload_check,
    detection_fields_parse,
)
from .forms import ClientCsvImportForm
from .models import DataImport
from .resources import EXPORT_COLUMNS, TimeEntryResource
from .services import (
    CsvImportOptions,
    ImportFileError,
    csv_import_create,
    csv_import_preview,
    csv_upload_store,
    stored_file_path,
)
from .views import (
    options_changed_error,
    upload_from_token,
    upload_token_for,
    upload_token_options,
)


@admin.register(DataImport)
class DataImportAdmin(admin.ModelAdmin):
    list_display = ["id", "owner", "import_type", "source_file_name", "status", "total_records",
                    "processed_records", "created_records", "failed_records", "created_at", "finished_at"]
    list_filter = ["import_type", "status"]
    search_fields = ["owner__username", "source_file_name", "status_message"]
    readonly_fields = [f.name for f in DataImport._meta.fields]

    def has_add_permission(self, request):
        return False


class RawCsvFormat(base_formats.Format):
    """Hands the uploaded bytes to the import service untouched (encoding, delimiter and
    layout are the service's business); the parsed rows are only for the admin's checks."""

    def __init__(self, encoding=None):
        self.encoding = encoding

    def get_title(self):
        return "csv"

    def get_extension(self):
        return "csv"

    def get_content_type(self):
        return "text/csv"

    def can_import(self):
        return True

    def create_dataset(self, in_stream):
        data = in_stream if isinstance(in_stream, bytes) else in_stream.encode("utf-8")
        dataset = tablib.Dataset()
        dataset.source_bytes = data
        for encoding in ("utf-8-sig", "cp1252"):
            try:
                text = data.decode(encoding)
                break
            except UnicodeDecodeError:
                continue
        else:
            text = ""
        rows = [row for row in csv.reader(io.StringIO(text), delimiter=sniff_delimiter(text.split("\n", 1)[0])) if row]
        # Never empty, so the service (not the admin's generic check) explains a bad file.
        width = max((len(row) for row in rows), default=1)
        dataset.headers = [f"column {n + 1}" for n in range(width)]
        for row in rows or [[""]]:
            dataset.append(row + [""] * (width - len(row)))
        return dataset


class FileError(Error):
    """A whole-file error the service explains in words: the admin's template prints every
    base error's traceback, which is noise (and our source paths) for staff."""

    traceback = ""


DATE_ORDER_CHOICES = [("", "detect from the file"), *[(order, order) for order in DATE_ORDERS]]


class TimeEntryImportForm(ImportForm):
    date_order = forms.ChoiceField(choices=DATE_ORDER_CHOICES, required=False)
    timezone = forms.CharField(required=False, help_text="For times without an offset; empty: your profile's.")


class TimeEntryConfirmImportForm(ConfirmImportForm):
    date_order = forms.CharField(widget=forms.HiddenInput(), required=False)
    timezone = forms.CharField(widget=forms.HiddenInput(), required=False)


ADMIN_UPLOAD_SALT = "imports.admin.time-entries-upload"
ADMIN_UPLOAD_MAX_AGE = 24 * 3600
ADMIN_UPLOAD_GONE = "This import was already confirmed or its upload has expired; upload the file again."


def admin_upload_claim(*, user, signed_name: str) -> Path | None:
    """The temporary upload a confirm form names, taken so that only one confirmation gets it
    (renamed atomically). None when the name is not one we signed for this user, or the file
    is gone: confirmed already, or cleaned from the temporary folder."""
    try:
        user_pk, name = signing.loads(signed_name, salt=ADMIN_UPLOAD_SALT, max_age=ADMIN_UPLOAD_MAX_AGE)
    except (signing.BadSignature, ValueError, TypeError):
        return None
    path = Path(tempfile.gettempdir()) / str(name)
    if user_pk != user.pk or path.parent != Path(tempfile.gettempdir()) or not path.name.startswith("tmp"):
        return None
    claimed = path.with_name(path.name + ".confirming")
    try:
        path.rename(claimed)
    except OSError:
        return None
    return claimed


class TimeEntryImportExportMixin(ImportExportMixin):
    resource_classes = [TimeEntryResource]
    import_formats = [RawCsvFormat]
    export_formats = [base_formats.CSV, base_formats.XLSX]
    # CSV for Excel: UTF-8 with a BOM, or Excel shows mojibake (case 19); our import reads it.
    to_encoding = "utf-8-sig"
    import_form_class = TimeEntryImportForm
    confirm_form_class = TimeEntryConfirmImportForm

    def get_confirm_form_initial(self, request, import_form):
        initial = super().get_confirm_form_initial(request, import_form)
        if import_form is not None:
            # Signed for this user: the hidden field names a file on the server's disk.
            initial["import_file_name"] = signing.dumps(
                [request.user.pk, Path(initial["import_file_name"]).name], salt=ADMIN_UPLOAD_SALT
            )
            initial["date_order"] = import_form.cleaned_data.get("date_order", "")
            initial["timezone"] = import_form.cleaned_data.get("timezone", "")
        return initial

    def process_import(self, request, **kwargs):
        """The confirmation: as django-import-export's, but a replayed or edited form gets a
        message instead of a FileNotFoundError (or another file read from the disk)."""
        if not self.has_import_permission(request):
            raise PermissionDenied
        confirm_form = self.create_confirm_form(request)
        if not confirm_form.is_valid():
            return super().process_import(request, **kwargs)  # shows the form's errors
        claimed = admin_upload_claim(user=request.user, signed_name=confirm_form.cleaned_data["import_file_name"])
        if claimed is None:
            messages.error(request, ADMIN_UPLOAD_GONE)
            return redirect(f"admin:{self.model._meta.app_label}_{self.model._meta.model_name}_import")
        try:
            data = claimed.read_bytes()
        finally:
            claimed.unlink(missing_ok=True)
        input_format = self.get_import_formats()[int(confirm_form.cleaned_data["format"])](encoding=self.from_encoding)
        result = self.process_dataset(input_format.create_dataset(data), confirm_form, request, **kwargs)
        return self.process_result(result, request)

    def get_import_data_kwargs(self, **kwargs):
        form = kwargs.get("form")
        kwargs = super().get_import_data_kwargs(**kwargs)
        if form is not None and hasattr(form, "cleaned_data"):
            kwargs["date_order"] = form.cleaned_data.get("date_order") or None
            kwargs["timezone"] = form.cleaned_data.get("timezone") or None
        return kwargs

    def add_success_message(self, result, request):
        data_import = getattr(result, "data_import", None)
        if data_import is None:
            return super().add_success_message(result, request)
        messages.success(request, f"Import #{data_import.pk} {data_import.get_status_display()}: {data_import.status_message}")


# The service's decision for a previewed row, as the admin's preview table labels it.
SAMPLE_ACTION_IMPORT_TYPES = {
    "create": RowResult.IMPORT_TYPE_NEW,
    "update": RowResult.IMPORT_TYPE_UPDATE,
    "unchanged": RowResult.IMPORT_TYPE_SKIP,
}


def time_entries_admin_import(*, resource, dataset, dry_run: bool, user, file_name=None, date_order=None,
                              timezone=None, **kwargs) -> Result:
    """The admin's dry run is our preview; its confirmation creates a DataImport and runs the
    task. Row errors come back as the admin's invalid rows (line, column, value, reason)."""
    result = resource.get_result_class()()
    result.diff_headers = list(EXPORT_COLUMNS)
    data = getattr(dataset, "source_bytes", None)
    if data is None:
        data = dataset.export("csv").encode("utf-8")
    options = CsvImportOptions(timezone=timezone, date_order=date_order)
    try:
        stored = csv_upload_store(user=user, uploaded_file=ContentFile(data, name=file_name or "admin.csv"))
        if dry_run:
            try:
                preview = csv_import_preview(user=user, stored_file=stored, options=options)
            finally:
                stored_file_path(stored).unlink(missing_ok=True)
            result.total_rows = preview.total_rows
            if preview.needs_date_order:
                raise ImportFileError("The dates fit both day/month and month/day order; choose the date order.")
            for row_error in preview.errors:
                result.append_invalid_row(
                    row_error.line,
                    {row_error.column: row_error.value},
                    ValidationError({row_error.column: [f'line {row_error.line}, value "{row_error.value}": {row_error.message}']}),
                )
            for sample in preview.sample_rows:
                row_result = RowResult()
                row_result.import_type = SAMPLE_ACTION_IMPORT_TYPES[sample["action"]]
                row_result.diff = ["", "", sample["project_name"], sample["client_name"], sample["task_name"],
                                   sample["start_time"], sample["end_time"], f'{sample["duration_seconds"] / 3600:.2f}',
                                   sample["notes"], ";".join(sample["tags"]), "true" if sample["billable"] else "false"]
                result.append_row_result(row_result)
            result.totals[RowResult.IMPORT_TYPE_NEW] = preview.would_create
            result.totals[RowResult.IMPORT_TYPE_UPDATE] = preview.would_update
            result.totals[RowResult.IMPORT_TYPE_SKIP] = preview.unchanged
        else:
            data_import = csv_import_create(user=user, stored_file=stored, source_file_name=file_name or "", options=options)
            data_import.refresh_from_db()
            result.data_import = data_import
            result.totals[RowResult.IMPORT_TYPE_NEW] = data_import.created_records
            result.totals[RowResult.IMPORT_TYPE_UPDATE] = data_import.updated_records
            result.totals[RowResult.IMPORT_TYPE_SKIP] = data_import.unchanged_records
    except ImportFileError as error:
        result.append_base_error(FileError(error))
    return result


class ClientCsvAdminMixin:
    """The Client admin's CSV import (upload -> preview -> confirm, through the client import
    service) and an action exporting the selected clients in the same layout."""

    change_list_template = "admin/timetracker/client/change_list.html"
    actions = ["export_clients_csv"]

    def get_urls(self):
        own = [
            path(
                "import-csv/",
                self.admin_site.admin_view(self.import_csv_view),
                name="timetracker_client_import_csv",
            )
        ]
        return own + super().get_urls()

    @admin.action(description="Export selected clients as CSV (the import layout)")
    def export_clients_csv(self, request, queryset):
        response = HttpResponse(clients_csv_text(clients_csv_rows(queryset)), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{clients_export_file_name()}"'
        return response

    def import_csv_view(self, request):
        if not self.has_add_permission(request) or not self.has_change_permission(request):
            raise PermissionDenied
        context = {**self.admin_site.each_context(request), "opts": self.model._meta, "title": "Import clients from CSV"}
        if request.method != "POST":
            context["form"] = ClientCsvImportForm()
            return TemplateResponse(request, "admin/timetracker/client/import_csv.html", context)
        form = ClientCsvImportForm(request.POST, request.FILES)
        context["form"] = form
        if not form.is_valid():
            context["error"] = form.first_error()
            return TemplateResponse(request, "admin/timetracker/client/import_csv.html", context)
        data = form.cleaned_data
        options = ClientImportOptions(
            skip_duplicates=data["skip_duplicates"],
            duplicate_detection_fields=detection_fields_parse(data["duplicate_detection_fields"]),
            skip_invalid=data["skip_invalid"],
        )
        try:
            if data["file"] is None:
                stored, name = upload_from_token(user=request.user, token=data["upload_token"])
                changed = clients_import_options_changed(
                    previewed=upload_token_options(data["upload_token"]), confirmed=clients_import_options_bound(options)
                )
                if changed:
                    raise options_changed_error(changed)
            else:
                name = data["file"].name
                stored = csv_upload_store(user=request.user, uploaded_file=data["file"])
            clients_upload_check(stored_file=stored, options=options)
            if data["file"] is not None:
                context["preview"] = clients_import_preview(user=request.user, stored_file=stored, options=options)
                context["upload_token"] = upload_token_for(
                    user=request.user, stored_file=stored, source_file_name=name,
                    options=clients_import_options_bound(options),
                )
                context["options"] = data
                return TemplateResponse(request, "admin/timetracker/client/import_csv.html", context)
            data_import = clients_import_create(
                user=request.user, stored_file=stored, source_file_name=name, options=options
            )
        except ImportFileError as error:
            context["error"] = str(error)
            return TemplateResponse(request, "admin/timetracker/client/import_csv.html", context)
        data_import.refresh_from_db()
        level = messages.ERROR if data_import.status == DataImport.Status.FAILED else messages.SUCCESS
        messages.add_message(
            request, level, f"Import #{data_import.pk} {data_import.get_status_display()}: {data_import.status_message}"
        )
        return redirect("admin:timetracker_client_changelist")
