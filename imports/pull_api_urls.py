"""DRF v1 endpoints of the Toggl and Harvest pulls, mounted under /api/v1/."""

from django.urls import path

from .pull_api import HarvestPullApi, TogglPullApi

urlpatterns = [
    path("import/toggl", TogglPullApi.as_view(), name="api_v1_import_toggl"),
    path("import/harvest", HarvestPullApi.as_view(), name="api_v1_import_harvest"),
]
