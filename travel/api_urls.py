"""DRF v1 endpoints of travel, mounted under /api/v1/."""

from django.urls import path

from . import api

urlpatterns = [
    path("mileage", api.MileageListApi.as_view(), name="api_mileage_list"),
    path("mileage/<int:pk>", api.MileageDetailApi.as_view(), name="api_mileage_detail"),
    path("per-diem", api.PerDiemListApi.as_view(), name="api_per_diem_list"),
    path("per-diem/<int:pk>", api.PerDiemDetailApi.as_view(), name="api_per_diem_detail"),
]
