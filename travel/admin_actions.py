"""Admin actions "Export selected as CSV / PDF" for Mileage and PerDiem (hooked into the
model admins in timetracker/admin.py)."""

from django.contrib import admin, messages
from django.http import HttpResponse, StreamingHttpResponse

from . import services
from .pdf import PdfRenderError
from .reports import REPORTS
from .selectors import TravelFilters


def _selection(modeladmin, request, queryset):
    report = REPORTS["mileage" if queryset.model._meta.model_name == "mileage" else "per_diem"]
    filters = TravelFilters().with_ids(queryset.values_list("pk", flat=True))
    return report, filters, report.select(user=request.user, filters=filters)


@admin.action(description="Export selected as CSV")
def export_selected_csv(modeladmin, request, queryset):
    report, filters, rows = _selection(modeladmin, request, queryset)
    file_name = services.export_file_name(report=report, filters=filters, queryset=rows, extension="csv")
    response = StreamingHttpResponse(services.csv_stream(report=report, queryset=rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{file_name}"'
    return response


@admin.action(description="Export selected as PDF")
def export_selected_pdf(modeladmin, request, queryset):
    report, filters, rows = _selection(modeladmin, request, queryset)
    try:
        result = services.pdf_export(report=report, user=request.user, filters=filters, queryset=rows)
    except (services.PdfExportTooLarge, PdfRenderError) as error:
        modeladmin.message_user(request, f"PDF export failed: {error}", messages.ERROR)
        return None
    if result.data_export is not None:
        modeladmin.message_user(
            request, f"The PDF is built in the background as export #{result.data_export.pk}; its download link "
            f"appears on {LIST_PAGES[report.name]} when it is ready.",
            messages.INFO,
        )
        return None
    response = HttpResponse(result.content, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{result.file_name}"'
    return response


LIST_PAGES = {"mileage": "/mileage/", "per_diem": "/per-diem/"}
TRAVEL_EXPORT_ACTIONS = [export_selected_csv, export_selected_pdf]
