"""Pages of travel: /mileage/ and /per-diem/, their forms and exports."""

from django.urls import path

from . import views

urlpatterns = [
    path("travel/exports/<int:pk>/status", views.export_status, name="travel_export_status"),
    path("travel/exports/<int:pk>/download", views.export_download, name="travel_export_download"),
]
for kind, prefix in (("mileage", "mileage"), ("per_diem", "per-diem")):
    options = {"kind": kind}
    urlpatterns += [
        path(f"{prefix}/", views.record_list, options, name=f"{kind}_list"),
        path(f"{prefix}/new/", views.record_create, options, name=f"{kind}_create"),
        path(f"{prefix}/<int:pk>/edit/", views.record_edit, options, name=f"{kind}_edit"),
        path(f"{prefix}/<int:pk>/delete/", views.record_delete, options, name=f"{kind}_delete"),
        path(f"{prefix}/export/csv", views.export_csv, options, name=f"{kind}_export_csv"),
        path(f"{prefix}/export/pdf", views.export_pdf, options, name=f"{kind}_export_pdf"),
    ]
