"""Shared body of `import_toggl` and `import_harvest`: run the pull here, with a progress bar."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from imports.models import DataImport
from imports.pulls import (
    PullInputError,
    pull_credentials_seal,
    pull_execute,
    pull_import_begin,
)


class PullCommand(BaseCommand):
    source = ""

    def add_arguments(self, parser):
        parser.add_argument("--user", required=True, help="username who receives the entries")
        parser.add_argument("--token", required=True)
        parser.add_argument("--start", required=True, help="YYYY-MM-DD")
        parser.add_argument("--end", required=True, help="YYYY-MM-DD")
        parser.add_argument("--map-users-by-email", action="store_true",
                            help="(admin users) give entries to the users with the same e-mail")

    def handle(self, *args, **options):
        user = get_user_model().objects.filter(username=options["user"]).first()
        if user is None:
            raise CommandError(f'No user "{options["user"]}".')
        params = {key: options.get(key) for key in ("token", "start", "end", "workspace_id", "account_id", "timezone")}
        params["map_users_by_email"] = options["map_users_by_email"]
        try:
            # The same checks as the pages and APIs, a second pull of the same account included.
            data_import, credentials = pull_import_begin(user=user, source=self.source, params=params)
        except PullInputError as exc:
            raise CommandError(exc.message) from None
        bar = tqdm(desc=f"Import from {self.source.title()}", unit="entries", file=self.stderr._out)

        def progress(current: DataImport) -> None:
            if current.total_records:
                bar.total = current.total_records
            bar.update(current.processed_records - bar.n)

        outcome = pull_execute(import_id=data_import.pk, sealed_credentials=pull_credentials_seal(credentials),
                               progress=progress)
        bar.close()
        data_import.refresh_from_db()
        if outcome.status == DataImport.Status.FAILED:
            raise CommandError(f"Import #{data_import.pk} failed: {data_import.status_message}")
        self.stdout.write(f"Import #{data_import.pk} {data_import.status}: {data_import.status_message}")
        for timer in data_import.summary.get("running_timers", []):
            self.stdout.write(f"  skipped running timer {timer['source_id']} ({timer['start']}): {timer['note']}")
        for person in data_import.summary.get("unmatched_users", []):
            self.stdout.write(f"  no user with e-mail {person['email'] or '(none)'} for {person['name']}: kept by {user}")
