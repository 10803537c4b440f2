"""The exports page and the session (cookie) JSON endpoints under /api/export/. All POSTs
are CSRF-protected (the page sends window.csrfToken as X-CSRFToken)."""

import json

from django.contrib.auth.decorators import login_required
from django.http import FileResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from timetracker.decorators import login_required_json

from . import selectors, services
from .models import DataExport

CONTENT_TYPES = {
    DataExport.Format.CSV: "text/csv; charset=utf-8",
    DataExport.Format.JSON: "application/json",
    DataExport.Format.ZIP: "application/zip",
    DataExport.Format.XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def export_as_json(export: DataExport, *, viewer, download_url: str | None) -> dict:
    """The status of one export as the session endpoints and the page show it."""
    ready = (
        export.status == DataExport.Status.COMPLETED
        and not export.is_expired
        and selectors.data_export_can_download(user=viewer, export=export)
    )
    return {
        "id": export.pk,
        "user": export.owner.get_username(),
        "export_type": export.export_type,
        "export_format": export.export_format,
        "filters": export.filters,
        "status": DataExport.Status.EXPIRED.value if export.is_expired else export.status,
        "progress_percent": export.progress_percent,
        "total_records": export.total_records,
        "processed_records": export.processed_records,
        "record_count": export.record_count,
        "filename": export.file_name or None,
        "file_size": export.file_size,
        "sha256": export.sha256 or None,
        "error_message": export.error_message or None,
        "created_at": export.created_at.isoformat(),
        "completed_at": export.completed_at.isoformat() if export.completed_at else None,
        "expires_at": export.expires_at.isoformat(),
        "is_expired": export.is_expired,
        "download_url": download_url if ready else None,
    }


def _session_json(export: DataExport, viewer) -> dict:
    return export_as_json(
        export, viewer=viewer, download_url=reverse("api_export_download", kwargs={"export_id": export.pk})
    )


def _json_body(request) -> dict:
    if not request.body:
        return {}
    try:
        body = json.loads(request.body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise services.ExportRequestError("The request body must be JSON.") from None
    if not isinstance(body, dict):
        raise services.ExportRequestError("The request body must be a JSON object.")
    return body


def _created(export: DataExport, viewer) -> JsonResponse:
    export.refresh_from_db()
    body = {"success": True, "export_id": export.pk, **_session_json(export, viewer)}
    body["status_url"] = reverse("api_export_status", kwargs={"export_id": export.pk})
    return JsonResponse(body, status=202)


@login_required
def exports_page(request):
    return render(request, "exports/exports_page.html")


@require_POST
@login_required_json
def api_export_gdpr(request):
    try:
        body = _json_body(request)
        export = services.data_export_create(
            user=request.user,
            export_type=DataExport.Type.GDPR,
            export_format=str(body.get("format", "json")).lower(),
        )
    except services.ExportRequestError as exc:
        return JsonResponse({"error": str(exc)}, status=400)
    return _created(export, request.user)


@require_POST
@login_required_json
def api_export_filtered(request):
    try:
        body = _json_body(request)
        export = services.data_export_create(
            user=request.user,
            export_type=DataExport.Type.FILTERED,
            export_format=str(body.get("format", "csv")).lower(),
            filters=body.get("filters") or {},
            bom=selectors.bool_parse("bom", body.get("bom", True)),
        )
    except selectors.ExportFilterForbidden as exc:
        return JsonResponse({"error": str(exc)}, status=403)
    except (services.ExportRequestError, selectors.ExportFilterError) as exc:
        return JsonResponse({"error": str(exc)}, status=400)
    return _created(export, request.user)


@require_GET
@login_required_json
def api_export_status(request, export_id: int):
    try:
        export = selectors.data_export_get(user=request.user, export_id=export_id)
    except DataExport.DoesNotExist:
        return JsonResponse({"error": "Export not found"}, status=404)
    return JsonResponse(_session_json(export, request.user))


@require_GET
@login_required_json
def api_export_history(request):
    exports = selectors.data_export_history(user=request.user)
    return JsonResponse({"exports": [_session_json(export, request.user) for export in exports]})


@require_GET
@login_required_json
def api_export_download(request, export_id: int):
    try:
        export = selectors.data_export_get(user=request.user, export_id=export_id)
        path = selectors.data_export_file_for_download(user=request.user, export=export)
    except DataExport.DoesNotExist:
        return JsonResponse({"error": "Export not found"}, status=404)
    except selectors.ExportUnavailable as exc:
        return JsonResponse({"error": exc.message}, status=exc.status)
    return file_response(export, path)


def file_response(export: DataExport, path) -> FileResponse:
    response = FileResponse(
        open(path, "rb"),
        as_attachment=True,
        filename=export.file_name,
        content_type=CONTENT_TYPES.get(export.export_format, "application/octet-stream"),
    )
    response["X-Content-SHA256"] = export.sha256
    response["Cache-Control"] = "private, no-store"
    return response
