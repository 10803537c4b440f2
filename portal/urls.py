"""Pages and session (cookie) endpoints of portal."""

from django.urls import path

from . import views

app_name = "portal"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("reports/", views.dashboard, name="reports"),
    path("login/", views.login_view, name="login"),
    path("logout/", views.logout_view, name="logout"),
    path("set-password/done/", views.set_password_done, name="set_password_done"),
    path("set-password/<uidb64>/<token>/", views.set_password, name="set_password"),
]
