from django.contrib.auth import login, logout
from django.contrib.auth import views as auth_views
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST

from backups.restore_flag import is_database_restore_in_progress

from . import selectors
from .decorators import portal_contact_required
from .forms import PortalAuthenticationForm
from .maintenance import restore_in_progress_response, restore_safe
from .reports import client_report_csv, client_report_file_name

DEFAULT_DAYS, MIN_DAYS, MAX_DAYS = 30, 7, 365
PERIOD_CHOICES = (7, 14, 30, 90, 180, 365)
RECENT_ENTRIES_SHOWN = 200


def _days(request) -> int:
    try:
        days = int(request.GET.get("days", DEFAULT_DAYS))
    except (TypeError, ValueError):
        return DEFAULT_DAYS
    return min(max(days, MIN_DAYS), MAX_DAYS)


@portal_contact_required
def dashboard(request, client):
    period = selectors.portal_period(days=_days(request), tz_name=request.user.profile.timezone)
    report = selectors.portal_report(client=client, period=period)
    if request.GET.get("format") == "csv":
        response = HttpResponse(client_report_csv(report), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{client_report_file_name(report)}"'
        return response
    entries = selectors.portal_time_entries(client=client, period=period)
    return render(
        request,
        "portal/dashboard.html",
        {
            "client": client,
            "report": report,
            "entries": entries[:RECENT_ENTRIES_SHOWN],
            "entries_count": entries.count(),
            "period_choices": PERIOD_CHOICES,
        },
    )


@restore_safe  # checks the flag itself and renders without the database
@require_http_methods(["GET", "POST"])
def login_view(request):
    # The GET must render during a restore without touching the database: no user, session or
    # messages lookup here or in portal/login.html (the client context processor skips itself).
    restoring = is_database_restore_in_progress()
    next_url = request.POST.get("next") or request.GET.get("next") or ""
    if request.method == "POST":
        if restoring:
            return restore_in_progress_response(request)
        form = PortalAuthenticationForm(request, data=request.POST)
        if form.is_valid():
            login(request, form.get_user())
            safe = url_has_allowed_host_and_scheme(next_url, {request.get_host()}, request.is_secure())
            return redirect(next_url if safe and next_url.startswith("/portal/") else "portal:dashboard")
    else:
        form = PortalAuthenticationForm(request)
    return render(request, "portal/login.html", {"form": form, "next": next_url, "restoring": restoring})


@require_POST
def logout_view(request):
    logout(request)
    return redirect("portal:login")


set_password = auth_views.PasswordResetConfirmView.as_view(
    template_name="portal/set_password.html", success_url=reverse_lazy("portal:set_password_done")
)


def set_password_done(request):
    return render(request, "portal/set_password_done.html")
