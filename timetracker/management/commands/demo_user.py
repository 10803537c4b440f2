from django.core.management.base import BaseCommand

from timetracker.services import demo_user_ensure


class Command(BaseCommand):
    help = "Create (or reset) the demo login used by scripts/run.sh."

    def add_arguments(self, parser):
        parser.add_argument("--username", default="demo")
        parser.add_argument("--password", default="demo-pass-2026")

    def handle(self, *args, username, password, **options):
        demo_user_ensure(username=username, password=password)
        self.stdout.write(f"Demo login: {username} / {password}")
