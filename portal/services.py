"""Writes of the client portal: inviting contacts."""

from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.tokens import default_token_generator
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from timetracker.models import Client, UserProfile


@dataclass(frozen=True)
class PortalInvite:
    user: object
    set_password_url: str
    created: bool


@transaction.atomic
def portal_contact_invite(
    *, client: Client, email: str, first_name: str = "", last_name: str = "", base_url: str
) -> PortalInvite:
    """Create (or find again) the portal contact `email` of `client`, with an unusable
    password, and e-mail a one-time set-password link. `base_url` is the site's origin,
    e.g. "https://tt.example.com". Inviting an existing contact again sends a fresh link."""
    User = get_user_model()
    user, created = User.objects.get_or_create(
        username=email, defaults={"email": email, "first_name": first_name, "last_name": last_name}
    )
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    UserProfile.objects.filter(user=user).update(portal_client=client)
    path = reverse(
        "portal:set_password",
        kwargs={"uidb64": urlsafe_base64_encode(force_bytes(user.pk)), "token": default_token_generator.make_token(user)},
    )
    url = base_url.rstrip("/") + path
    send_mail(
        subject=f"Your {client.name} time-tracking portal",
        message=(
            f"You have been invited to see {client.name}'s projects and hours.\n\n"
            f"Choose your password here (the link works once):\n{url}\n\n"
            f"Your user name is {user.username}."
        ),
        from_email=settings.DEFAULT_FROM_EMAIL,
        recipient_list=[email],
    )
    return PortalInvite(user=user, set_password_url=url, created=created)
