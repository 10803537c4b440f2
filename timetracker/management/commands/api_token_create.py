from datetime import timedelta

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from timetracker.services import api_token_create


class Command(BaseCommand):
    help = "Create an API token for USER and print it once (only its hash is stored)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--scopes", nargs="+", required=True, help="e.g. read:time_entries write:time_entries")
        parser.add_argument("--name", default="CLI token")
        parser.add_argument("--expires-in-days", type=int, default=None)

    def handle(self, *args, username, scopes, name, expires_in_days, **options):
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user named {username!r}.")
        # "--scopes a,b" and "--scopes a b" both work.
        scope_list = [s for chunk in scopes for s in chunk.split(",") if s]
        expires_at = timezone.now() + timedelta(days=expires_in_days) if expires_in_days is not None else None
        try:
            token, raw = api_token_create(owner=user, name=name, scopes=scope_list, expires_at=expires_at)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(raw)
        self.stderr.write(f"Token '{token.name}' for {username} with scopes {', '.join(token.scopes)}. Shown once.")
