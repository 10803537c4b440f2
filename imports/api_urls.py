"""DRF v1 endpoints of imports, mounted under /api/v1/."""

from django.urls import path

from . import api

urlpatterns = [
    path("time-entries/import-csv", api.TimeEntriesImportCsvApi.as_view(), name="api_v1_time_entries_import_csv"),
    path("imports/<int:import_id>", api.ImportDetailApi.as_view(), name="api_v1_import_detail"),
    path("clients/import-csv", api.ClientsImportCsvApi.as_view(), name="api_v1_clients_import_csv"),
    path("clients/imports/<int:import_id>", api.ClientsImportDetailApi.as_view(), name="api_v1_clients_import_detail"),
    path("clients/export", api.ClientsExportApi.as_view(), name="api_v1_clients_export"),
]
