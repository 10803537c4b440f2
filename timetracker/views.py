from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.views import defaults
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from .forms import ApiTokenForm
from .services import api_token_create, api_token_revoke


@login_required
def home(request):
    return render(request, "timetracker/home.html")


@login_required
@require_http_methods(["GET", "POST"])
def api_tokens(request):
    new_raw_token = None
    form = ApiTokenForm()
    if request.method == "POST" and "revoke" in request.POST:
        token = request.user.api_tokens.filter(pk=request.POST.get("revoke")).first()
        if token is not None:
            api_token_revoke(token=token)
            messages.success(request, f"Token “{token.name}” revoked.")
        return redirect("api_tokens")
    if request.method == "POST":
        form = ApiTokenForm(request.POST)
        if form.is_valid():
            _, new_raw_token = api_token_create(
                owner=request.user,
                name=form.cleaned_data["name"],
                scopes=form.cleaned_data["scopes"],
                expires_at=form.cleaned_data["expires_at"],
            )
            form = ApiTokenForm()
    return render(
        request,
        "timetracker/api_tokens.html",
        {"form": form, "tokens": request.user.api_tokens.all(), "new_raw_token": new_raw_token},
    )


API_NOT_FOUND = {"success": False, "error": "Not found"}


def page_not_found(request, exception=None):
    """handler404: the API's JSON error shape under /api/ (an Http404 raised by a view there),
    Django's page elsewhere."""
    if request.path.startswith("/api/"):
        return JsonResponse(API_NOT_FOUND, status=404)
    return defaults.page_not_found(request, exception)


@csrf_exempt  # nothing is done here; a POST to a wrong address is a 404, not a CSRF 403
def api_not_found(request, unmatched: str = ""):
    """Any /api/ address no endpoint matches (`/api/v1/imports/abc`): JSON, also with DEBUG on,
    where Django would show its HTML page instead of handler404."""
    return JsonResponse(API_NOT_FOUND, status=404)
