"""Pages and session (cookie) endpoints of imports."""

from django.urls import path

from . import views

urlpatterns = [
    path("import-export/", views.import_export_page, name="import_export"),
    path("api/import/template/csv", views.import_template_csv, name="api_import_template_csv"),
    path("api/import/csv", views.api_import_csv, name="api_import_csv"),
    path("api/import/template/csv/clients", views.import_template_clients_csv, name="api_import_template_csv_clients"),
    path("api/import/csv/clients", views.api_import_csv_clients, name="api_import_csv_clients"),
    path("clients/export", views.clients_export, name="clients_export"),
    path("api/import/status/<int:import_id>", views.api_import_status, name="api_import_status"),
    path("api/import/history", views.api_import_history, name="api_import_history"),
]
