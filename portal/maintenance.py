"""The answer every guarded page gives while a database restore runs.

Rendered without a request (so no context processor, session or user lookup runs) because
the tables may be half-replaced: this response must make no database query at all.
"""

import logging

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string

RESTORE_MESSAGE = "A database restore is in progress. Please try again in a few minutes."
RESTORE_SAFE_ATTRIBUTE = "restore_safe"

logger = logging.getLogger(__name__)


def mark_maintenance_logged(request: HttpRequest, response: HttpResponse) -> HttpResponse:
    """One INFO line for a 503 answered because a restore runs, instead of Django's
    "Service Unavailable" at ERROR (django.request), which would flood the error mail with
    every request of the restore: log_response skips a response marked as logged."""
    logger.info("Restore in progress: %s %s answered %s", request.method, request.path, response.status_code)
    response._has_been_logged = True
    return response


def restore_safe(view):
    """Mark a view as safe to run while a restore replaces the database: it checks the restore
    flag itself and then makes no database query. RestoreMaintenanceMiddleware lets a request
    through during a restore only when its path resolves to a view carrying this mark (or
    starts with one of RESTORE_MAINTENANCE_EXEMPT_PATHS); everything else gets the 503."""
    setattr(view, RESTORE_SAFE_ATTRIBUTE, True)
    return view


def is_restore_safe(view) -> bool:
    return getattr(view, RESTORE_SAFE_ATTRIBUTE, False) is True


def restore_in_progress_response(request: HttpRequest) -> HttpResponse:
    retry_after = str(settings.RESTORE_RETRY_AFTER_SECONDS)
    if request.path_info.startswith("/api/"):
        response = JsonResponse({"error": "restore_in_progress", "message": RESTORE_MESSAGE}, status=503)
    else:
        template = "portal/restore_in_progress.html" if request.path_info.startswith("/portal/") else "maintenance.html"
        html = render_to_string(template, {"message": RESTORE_MESSAGE, "retry_after": retry_after})
        response = HttpResponse(html, status=503)
    response["Retry-After"] = retry_after
    response["Cache-Control"] = "no-store"
    return mark_maintenance_logged(request, response)
