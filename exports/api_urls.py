"""DRF v1 endpoints of exports, mounted under /api/v1/."""

from django.urls import path

from . import api

urlpatterns = [
    path("exports", api.ExportHistoryApi.as_view(), name="api_v1_export_history"),
    path("exports/gdpr", api.GdprExportApi.as_view(), name="api_v1_export_gdpr"),
    path("exports/filtered", api.FilteredExportApi.as_view(), name="api_v1_export_filtered"),
    path("exports/<int:export_id>", api.ExportStatusApi.as_view(), name="api_v1_export_status"),
    path("exports/<int:export_id>/download", api.ExportDownloadApi.as_view(), name="api_v1_export_download"),
]
