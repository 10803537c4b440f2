from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from . import services
from .models import DataExport


@admin.register(DataExport)
class DataExportAdmin(admin.ModelAdmin):
    list_display = [
        "id", "owner", "export_type", "export_format", "status", "record_count", "file_size", "created_at",
        "expires_at",
    ]  # fmt: skip
    list_filter = ["export_type", "export_format", "status"]
    search_fields = ["owner__username", "owner__email", "file_name", "sha256"]
    date_hierarchy = "created_at"
    readonly_fields = [
        "owner", "export_type", "export_format", "filters", "status", "file_name", "file_size", "sha256",
        "record_count", "total_records", "processed_records", "error_message", "created_at", "completed_at",
        "expires_at", "download",
    ]  # fmt: skip
    exclude = ["file_path"]
    actions = ["prune_expired"]

    def has_add_permission(self, request):
        return False  # exports are made from the page, the API or manage.py

    @admin.display(description="file")
    def download(self, export):
        if export.status != DataExport.Status.COMPLETED or export.is_expired:
            return "-"
        url = reverse("api_export_download", kwargs={"export_id": export.pk})
        return format_html('<a href="{}">{}</a>', url, export.file_name)

    @admin.action(description="Delete the files of expired exports (all, not only the selected)")
    def prune_expired(self, request, queryset):
        pruned = services.data_exports_prune()
        self.message_user(request, f"{pruned} expired export(s) pruned.")
