"""The answer every guarded page gives while a database restore runs.

Rendered without a request (so no context processor, session or user lookup runs) because
the tables may be half-replaced: this response must make no database query at all.
"""

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string

RESTORE_MESSAGE = "A database restore is in progress. Please try again in a few minutes."


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
    return response
