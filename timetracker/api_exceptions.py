"""JSON error bodies for the DRF v1 API, in the shape TimeTracker clients already parse."""

from rest_framework import exceptions
from rest_framework.views import exception_handler

from .authentication import ScopeDenied


def api_exception_handler(exc, context):
    response = exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, (exceptions.NotAuthenticated, exceptions.AuthenticationFailed)):
        response.data = {
            "error": str(exc.detail),
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
    return response
