from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from . import views

urlpatterns = [
    path("", views.home, name="home"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("account/tokens/", views.api_tokens, name="api_tokens"),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/v1/", include("imports.api_urls")),
    path("api/v1/", include("exports.api_urls")),
    path("api/v1/", include("backups.api_urls")),
    path("api/v1/", include("travel.api_urls")),
    path("portal/", include("portal.urls")),
    path("", include("imports.urls")),
    path("", include("exports.urls")),
    path("", include("backups.urls")),
    path("", include("travel.urls")),
    path("", include("imports.pull_urls")),
    path("api/v1/", include("imports.pull_api_urls")),
    # Last: every /api/ address nothing above matches answers the API's JSON 404.
    re_path(r"^api/(?P<unmatched>.*)$", views.api_not_found, name="api_not_found"),
]

handler404 = "timetracker.views.page_not_found"
