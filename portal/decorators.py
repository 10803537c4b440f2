from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.shortcuts import render
from django.urls import reverse

from backups.restore_flag import is_database_restore_in_progress

from .maintenance import restore_in_progress_response
from .selectors import portal_client_for_user


def portal_contact_required(view):
    """Portal pages: 503 during a restore (before any query), the portal login for anonymous
    visitors, 403 for users who are not a contact of an active client. The view gets `client`."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        # The site middleware answers first; this keeps portal pages safe without it.
        if is_database_restore_in_progress():
            return restore_in_progress_response(request)
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path(), reverse("portal:login"))
        client = portal_client_for_user(request.user)
        if client is None:
            return render(request, "portal/forbidden.html", status=403)
        request.portal_client = client
        return view(request, *args, client=client, **kwargs)

    return wrapper
