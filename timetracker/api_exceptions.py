"""JSON error bodies for the DRF v1 API, in the shape TimeTracker clients already parse:
401/403/429 as the original's token decorator answered, DRF's one-message errors (a body
that is not JSON, an unsupported media type, a method not allowed…) as the views' own
`{"success": false, "error": …}` instead of `{"detail": …}`."""

from rest_framework import exceptions
from rest_framework.views import exception_handler

from .authentication import ScopeDenied

AUTHENTICATION_REQUIRED = "Authentication required"


def api_exception_handler(exc, context):
    response = exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, (exceptions.NotAuthenticated, exceptions.AuthenticationFailed)):
        response.data = {
            # DRF's own "Authentication credentials were not provided." (IsAuthenticated) and
            # our scope check's wording are one message.
            "error": AUTHENTICATION_REQUIRED if isinstance(exc, exceptions.NotAuthenticated) else str(exc.detail),
            "message": "Send a valid API token as 'Authorization: Bearer tt_…'.",
            "error_code": "unauthorized",
        }
    elif isinstance(exc, ScopeDenied):
        response.data = {
            "error": "Insufficient permissions",
            "message": str(exc.detail),
            "error_code": "forbidden",
            "required_scope": exc.required_scope,
            "available_scopes": exc.available_scopes,
        }
    elif isinstance(exc, exceptions.Throttled):
        response.data = {
            "error": "Rate limit exceeded",
            "message": f"Too many requests for this token; retry in {exc.wait} seconds.",
            "error_code": "rate_limited",
        }
    elif isinstance(response.data, dict) and set(response.data) == {"detail"}:
        # DRF's one-message errors (parse error, media type, method, 404…). A serializer's
        # ValidationError keeps its per-field dict, which clients read field by field.
        response.data = {"success": False, "error": str(response.data["detail"])}
    return response
