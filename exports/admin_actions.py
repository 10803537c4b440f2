"""Admin action on the TimeEntry change list: "Export selected time entries" as CSV or XLSX.
Hooked into TimeEntryAdmin.actions in timetracker/admin.py."""

from django.contrib import admin, messages

from . import services
from .models import DataExport
from .views import file_response


def _export_selected(request, queryset, export_format: str):
    try:
        export = services.data_export_from_queryset(user=request.user, queryset=queryset, export_format=export_format)
    except Exception as exc:  # shown to the admin instead of a 500; the record says failed
        messages.error(request, f"Export failed: {exc}")
        return None
    return file_response(export, services.data_export_path(export))


@admin.action(description="Export selected time entries (CSV)", permissions=["view"])
def export_selected_time_entries_csv(modeladmin, request, queryset):
    return _export_selected(request, queryset, DataExport.Format.CSV)


@admin.action(description="Export selected time entries (XLSX)", permissions=["view"])
def export_selected_time_entries_xlsx(modeladmin, request, queryset):
    return _export_selected(request, queryset, DataExport.Format.XLSX)


export_selected_time_entries = [export_selected_time_entries_csv, export_selected_time_entries_xlsx]
