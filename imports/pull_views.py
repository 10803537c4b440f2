"""Pages "Import from Toggl" / "Import from Harvest" and their session JSON endpoints."""

import json

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from timetracker.decorators import login_required_json

from .models import DataImport
from .pulls import PullInputError, pull_start
from .toggl import toggl_export_import

PULL_TYPES = {
    "toggl": (DataImport.Type.TOGGL, DataImport.Type.TOGGL_EXPORT),
    "harvest": (DataImport.Type.HARVEST,),
}


def _history(user, source: str):
    return DataImport.objects.filter(owner=user, import_type__in=PULL_TYPES[source])[:20]


def _page(request, source: str, *, errors: dict | None = None, values: dict | None = None, status: int = 200):
    history = list(_history(request.user, source))
    return render(
        request,
        f"imports/pull_{source}.html",
        {
            "history": history,
            "errors": errors or {},
            "values": values or {},
            "refresh": any(not item.is_finished for item in history),
            "default_timezone": request.user.profile.timezone,
            "max_upload_mb": settings.MAX_UPLOAD_SIZE // (1024 * 1024),
        },
        status=status,
    )


def _form_values(request) -> dict:
    # The token is never sent back into the page.
    return {k: v for k, v in request.POST.items() if k not in ("token", "csrfmiddlewaretoken")}


def _start_from_page(request, source: str):
    try:
        data_import = pull_start(user=request.user, source=source, params=request.POST.dict())
    except PullInputError as exc:
        return _page(request, source, errors={exc.field: exc.message}, values=_form_values(request), status=400)
    messages.success(request, f"Import #{data_import.pk} from {source.title()} started.")
    return redirect(f"pull_{source}_page")


@login_required
@require_http_methods(["GET", "POST"])
def toggl_page(request):
    if request.method == "POST" and "export" in request.FILES:
        upload = request.FILES["export"]
        if upload.size > settings.MAX_UPLOAD_SIZE:
            return _page(request, "toggl", errors={"export": f"The file is larger than {settings.MAX_UPLOAD_SIZE} bytes."},
                         status=413)
        data_import = toggl_export_import(owner=request.user, upload=upload, file_name=upload.name)
        if data_import.status == DataImport.Status.FAILED:
            return _page(request, "toggl", errors={"export": data_import.status_message}, status=400)
        messages.success(request, data_import.status_message)
        return redirect("pull_toggl_page")
    if request.method == "POST":
        return _start_from_page(request, "toggl")
    return _page(request, "toggl")


@login_required
@require_http_methods(["GET", "POST"])
def harvest_page(request):
    if request.method == "POST":
        return _start_from_page(request, "harvest")
    return _page(request, "harvest")


def _request_params(request) -> dict:
    if request.content_type == "application/json":
        try:
            body = json.loads(request.body or b"{}") or {}
        except ValueError:
            raise PullInputError("body", "The request body is not valid JSON.") from None
        if not isinstance(body, dict):
            raise PullInputError("body", "The request body must be a JSON object.")
        return body
    return request.POST.dict()


def started_response(data_import: DataImport, *, api: bool = False) -> dict:
    """The CSV import's answer shape (the original's `{"success", "import_id", "summary"}` plus
    `status` and `status_url`); the counts fill in as the task runs."""
    # TODO(merge): the lead may swap this for imports.api.import_accepted_data (CSV team).
    status_url = f"/api/v1/imports/{data_import.pk}" if api else f"/api/import/status/{data_import.pk}"
    return {
        "success": True,
        "import_id": data_import.pk,
        "import_type": data_import.import_type,
        "status": data_import.status,
        "status_url": status_url,
        "summary": {
            "total": data_import.total_records,
            "successful": data_import.successful_records,
            "failed": data_import.failed_records,
            "created": data_import.created_records,
            "updated": data_import.updated_records,
            "unchanged": data_import.unchanged_records,
            "skipped": data_import.skipped_records,
            "errors": [e["message"] for e in data_import.row_errors[:10]],
        },
    }


def started_status_code(data_import: DataImport) -> int:
    data_import.refresh_from_db()
    return 200 if data_import.is_finished else 202


def _api_start(request, source: str):
    try:
        data_import = pull_start(user=request.user, source=source, params=_request_params(request))
    except PullInputError as exc:
        return JsonResponse({"success": False, "error": exc.message, "field": exc.field}, status=400)
    status = started_status_code(data_import)
    return JsonResponse(started_response(data_import), status=status)


@require_POST
@login_required_json
def api_import_toggl(request):
    return _api_start(request, "toggl")


@require_POST
@login_required_json
def api_import_harvest(request):
    return _api_start(request, "harvest")
