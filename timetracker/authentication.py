"""API token authentication, scope checks and per-token rate limits for the DRF v1 API."""

import time

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone
from rest_framework import exceptions, permissions
from rest_framework.authentication import BaseAuthentication
from rest_framework.throttling import BaseThrottle

from .models import API_TOKEN_PREFIX, ApiToken, api_token_digest


def raw_token_from_request(request) -> str | None:
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _, credentials = header.partition(" ")
    if scheme.lower() in ("bearer", "token") and credentials.strip():
        return credentials.strip()
    api_key = request.META.get("HTTP_X_API_KEY", "").strip()
    return api_key or None


class ApiTokenAuthentication(BaseAuthentication):
    """Accepts `Authorization: Bearer <t>`, `Authorization: Token <t>` or `X-API-Key: <t>`."""

    def authenticate(self, request):
        raw = raw_token_from_request(request)
        if raw is None:
            return None
        if not raw.startswith(API_TOKEN_PREFIX):
            raise exceptions.AuthenticationFailed("Invalid token")
        token = ApiToken.objects.select_related("owner").filter(token_hash=api_token_digest(raw)).first()
        if token is None or not token.owner.is_active:
            raise exceptions.AuthenticationFailed("Invalid token")
        if token.revoked_at is not None:
            raise exceptions.AuthenticationFailed("Token has been revoked")
        if not token.is_usable:
            raise exceptions.AuthenticationFailed("Token has expired")
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=timezone.now())
        return token.owner, token

    def authenticate_header(self, request):
        return 'Bearer realm="api"'


class ScopeDenied(exceptions.PermissionDenied):
    def __init__(self, required: str, held: list[str]):
        super().__init__(f"This token lacks the scope {required}.")
        self.required_scope = required
        self.available_scopes = held


def scope_check(request, required: str) -> None:
    """Raise unless the request carries an API token holding `required`; for views whose scope
    depends on the object (an export's type), checked once the object is found."""
    token = request.auth
    if not isinstance(token, ApiToken):
        raise exceptions.NotAuthenticated("Authentication required")
    if not token.has_scope(required):
        raise ScopeDenied(required, list(token.scopes))


def scope_required(required: str) -> type[permissions.BasePermission]:
    """Permission class factory: `permission_classes = [scope_required("write:time_entries")]`."""

    class HasScope(permissions.BasePermission):
        scope = required

        def has_permission(self, request, view):
            scope_check(request, required)
            return True

    HasScope.__name__ = f"HasScope_{required.replace(':', '_').replace('*', 'all')}"
    return HasScope


class ApiTokenRateThrottle(BaseThrottle):
    """Fixed windows per token: API_TOKEN_RATE_LIMIT_PER_MINUTE and _PER_HOUR. The counters
    live in the cache (Redis in production) so every web process shares them."""

    def allow_request(self, request, view):
        token = request.auth
        if not isinstance(token, ApiToken):
            return True
        now = time.time()
        self.retry_after = None
        for window, limit in (
            (60, settings.API_TOKEN_RATE_LIMIT_PER_MINUTE),
            (3600, settings.API_TOKEN_RATE_LIMIT_PER_HOUR),
        ):
            window_start = int(now // window) * window
            key = f"api-rate:{token.pk}:{window}:{window_start}"
            cache.add(key, 0, timeout=window + 5)
            try:
                count = cache.incr(key)
            except ValueError:  # expired between add and incr
                cache.set(key, 1, timeout=window + 5)
                count = 1
            if count > limit:
                self.retry_after = max(1, int(window_start + window - now + 0.999))
                return False
        return True

    def wait(self):
        return self.retry_after
