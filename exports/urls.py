"""Pages and session (cookie) endpoints of exports."""

from django.urls import path

from . import views

urlpatterns = [
    path("exports/", views.exports_page, name="exports_page"),
    path("api/export/gdpr", views.api_export_gdpr, name="api_export_gdpr"),
    path("api/export/filtered", views.api_export_filtered, name="api_export_filtered"),
    path("api/export/status/<int:export_id>", views.api_export_status, name="api_export_status"),
    path("api/export/download/<int:export_id>", views.api_export_download, name="api_export_download"),
    path("api/export/history", views.api_export_history, name="api_export_history"),
]
