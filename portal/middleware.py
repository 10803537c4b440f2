"""Site-wide guards: maintenance while a restore runs, and portal contacts kept in the portal."""

import logging

from django.conf import settings
from django.db import DatabaseError
from django.http import JsonResponse
from django.shortcuts import redirect

from backups.restore_flag import is_database_restore_in_progress

from .maintenance import restore_in_progress_response
from .selectors import portal_client_id_for_user

logger = logging.getLogger(__name__)


def _is_exempt(path: str) -> bool:
    return path.startswith(tuple(settings.RESTORE_MAINTENANCE_EXEMPT_PATHS))


class RestoreMaintenanceMiddleware:
    """503 for every non-exempt path while a restore runs, answered before the session and
    auth middleware (listed after this one) could query their tables."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        exempt = _is_exempt(request.path_info)
        # Read once per request; the middleware below consults it instead of Redis or the file.
        request.restore_in_progress = is_database_restore_in_progress()
        if not exempt and request.restore_in_progress:
            return restore_in_progress_response(request)
        response = self.get_response(request)
        # A request that read the flag just before the restore began can hit dropped tables
        # anywhere below (a view, the session save): the client gets the 503 it would have got
        # a moment later, not a 500.
        if response.status_code >= 500 and not exempt and is_database_restore_in_progress():
            return restore_in_progress_response(request)
        return response

    def process_exception(self, request, exception):
        exempt = _is_exempt(request.path_info)
        if isinstance(exception, DatabaseError) and not exempt and is_database_restore_in_progress():
            logger.info("Database error during a restore on %s: %s", request.path_info, exception)
            return restore_in_progress_response(request)
        return None


class PortalContactMiddleware:
    """Portal contacts see the client portal and nothing else of the application."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        path = request.path_info
        allowed = ("/portal/", "/accounts/logout/", settings.STATIC_URL)
        # During a restore only exempt pages get here, and they must not touch the session or user tables.
        if getattr(request, "restore_in_progress", False):
            return self.get_response(request)
        if path.startswith(allowed) or not request.user.is_authenticated:
            return self.get_response(request)
        if portal_client_id_for_user(request.user) is None:
            return self.get_response(request)
        if path.startswith("/api/"):
            return JsonResponse({"error": "Portal contacts have no access to this API"}, status=403)
        return redirect("portal:dashboard")
