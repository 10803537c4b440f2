"""Pages and session endpoints of the Toggl and Harvest pulls."""

from django.urls import path

from . import pull_views

urlpatterns = [
    path("import-export/toggl/", pull_views.toggl_page, name="pull_toggl_page"),
    path("import-export/harvest/", pull_views.harvest_page, name="pull_harvest_page"),
    path("api/import/toggl", pull_views.api_import_toggl, name="api_import_toggl"),
    path("api/import/harvest", pull_views.api_import_harvest, name="api_import_harvest"),
]
