"""`current_client` for every template: the client of the portal contact viewing the page."""

import logging

from django.db import DatabaseError, transaction

from backups.restore_flag import is_database_restore_in_progress

from .selectors import portal_client_for_user

logger = logging.getLogger(__name__)


def get_current_client(request):
    """The viewer's portal client, or None. No database work during a restore; a database
    error (tables being replaced, say) renders the page without a client instead of failing."""
    if is_database_restore_in_progress():
        return None
    if hasattr(request, "portal_client"):
        return request.portal_client
    user = getattr(request, "user", None)
    if user is None:
        return None
    try:
        # The savepoint rolls the failed query back, so a surrounding transaction (and the
        # rest of the render) can still use the connection.
        with transaction.atomic():
            client = portal_client_for_user(user)
    except DatabaseError:
        logger.warning("Could not look up the portal client; rendering without one", exc_info=True)
        return None
    request.portal_client = client
    return client


def current_client(request):
    # A callable: templates call it only where they use it, so pages that never show the
    # client make no query for it.
    return {"current_client": lambda: get_current_client(request)}
