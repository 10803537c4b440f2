"""Site-wide guards: maintenance while a restore runs, and portal contacts kept in the portal."""

import logging

from django.conf import settings
from django.db import DatabaseError
from django.http import JsonResponse
from django.shortcuts import redirect
from django.urls import Resolver404, resolve

from backups.restore_flag import is_database_restore_in_progress

from .maintenance import is_restore_safe, restore_in_progress_response
from .selectors import portal_client_id_for_user

logger = logging.getLogger(__name__)


def _is_exempt(path: str) -> bool:
    """Static files (RESTORE_MAINTENANCE_EXEMPT_PATHS) and views marked @restore_safe: resolving
    the path reads only the URLconf, never the database. A path that resolves to no view, or to
    an unmarked one (the admin's catch-all, its app index), is not exempt, whatever its prefix."""
    if path.startswith(tuple(settings.RESTORE_MAINTENANCE_EXEMPT_PATHS)):
        return True
    try:
        match = resolve(path)
    except Resolver404:
        return False
    return is_restore_safe(match.func)


class RestoreMaintenanceMiddleware:
    """503 for every request while a restore runs, answered before the session and auth
    middleware (listed after this one) could query their tables, except for views marked
    @restore_safe (portal.maintenance) and the paths in RESTORE_MAINTENANCE_EXEMPT_PATHS."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        # Read once per request; the middleware below consults it instead of Redis or the file.
        request.restore_in_progress = is_database_restore_in_progress()
        if request.restore_in_progress and not _is_exempt(request.path_info):
            return restore_in_progress_response(request)
        response = self.get_response(request)
        # A request that read the flag just before the restore began can hit dropped tables
        # anywhere below (a view, the session save): the client gets the 503 it would have got
        # a moment later, not a 500.
        if response.status_code >= 500 and is_database_restore_in_progress() and not _is_exempt(request.path_info):
            return restore_in_progress_response(request)
        return response

    def process_exception(self, request, exception):
        if (isinstance(exception, DatabaseError) and is_database_restore_in_progress()
                and not _is_exempt(request.path_info)):  # fmt: skip
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
