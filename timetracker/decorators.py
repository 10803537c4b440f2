"""Decorators for the session (cookie) JSON endpoints under /api/ (not /api/v1/)."""

from functools import wraps

from django.http import JsonResponse


def login_required_json(view):
    """Like login_required, but answers 401 JSON instead of redirecting to the login page."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return JsonResponse({"error": "Authentication required"}, status=401)
        return view(request, *args, **kwargs)

    return wrapper


def admin_required_json(view):
    @wraps(view)
    @login_required_json
    def wrapper(request, *args, **kwargs):
        if not request.user.is_staff:
            return JsonResponse({"error": "Admin access required"}, status=403)
        return view(request, *args, **kwargs)

    return wrapper


def require_methods_json(*methods: str):
    """Like require_http_methods, but the 405 is JSON (with Allow), as the rest of /api/ answers."""

    def decorator(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if request.method not in methods:
                response = JsonResponse(
                    {"success": False, "error": f"Method {request.method} not allowed; use {', '.join(methods)}."},
                    status=405,
                )
                response["Allow"] = ", ".join(methods)
                return response
            return view(request, *args, **kwargs)

        return wrapper

    return decorator
