"""Writes on the core domain that several apps share."""

from datetime import datetime

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from .models import ApiToken, Client, Project, Tag, Task, UserProfile, api_token_digest

User = get_user_model()

KNOWN_SCOPES = (
    "read:time_entries",
    "write:time_entries",
    "read:clients",
    "write:clients",
    "read:mileage",
    "write:mileage",
    "read:per_diem",
    "write:per_diem",
    "read:*",
    "write:*",
    "*",
)


def user_profile_get_or_create(*, user) -> UserProfile:
    profile, _ = UserProfile.objects.get_or_create(user=user)
    return profile


def client_get_or_create(*, name: str) -> Client:
    client, _ = Client.objects.get_or_create(name=name)
    return client


def project_get_or_create(*, name: str, client: Client | None, billable: bool = True) -> Project:
    project, _ = Project.objects.get_or_create(name=name, client=client, defaults={"billable": billable})
    return project


def task_get_or_create(*, project: Project, name: str) -> Task:
    task, _ = Task.objects.get_or_create(project=project, name=name)
    return task


def tag_get_or_create(*, name: str) -> Tag:
    tag, _ = Tag.objects.get_or_create(name=name)
    return tag


def api_token_expiry_error(expires_at: datetime | None) -> str:
    """Why a token cannot expire at `expires_at` ("" when it can): one already expired would
    be shown once and then answer 401 to every request."""
    if expires_at is None or expires_at > timezone.now():
        return ""
    return f"The expiry {expires_at:%Y-%m-%d %H:%M %Z} is not in the future; choose a later time, or none."


def api_token_create(
    *, owner, name: str, scopes: list[str], expires_at: datetime | None = None
) -> tuple[ApiToken, str]:
    """Create a token and return it with the raw secret, which is not stored and cannot be
    shown again."""
    expiry_error = api_token_expiry_error(expires_at)
    if expiry_error:
        raise ValueError(expiry_error)
    unknown = [s for s in scopes if s not in KNOWN_SCOPES and s != "admin:all"]
    if unknown:
        raise ValueError(f"Unknown scope(s): {', '.join(unknown)}. Known scopes: {', '.join(KNOWN_SCOPES)}")
    if not scopes:
        raise ValueError("A token needs at least one scope.")
    raw = ApiToken.generate_raw_token()
    token = ApiToken.objects.create(
        owner=owner,
        name=name,
        prefix=raw[3:11],
        token_hash=api_token_digest(raw),
        scopes=list(scopes),
        expires_at=expires_at,
    )
    return token, raw


def api_token_revoke(*, token: ApiToken) -> None:
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])


@transaction.atomic
def demo_user_ensure(*, username: str, password: str) -> User:
    user, _ = User.objects.get_or_create(username=username, defaults={"email": f"{username}@example.com"})
    user.set_password(password)
    user.is_staff = True
    user.is_superuser = True
    user.save()
    user_profile_get_or_create(user=user)
    return user
