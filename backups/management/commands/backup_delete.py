from django.core.management.base import BaseCommand, CommandError

from backups.services import backup_delete
from backups.types import BackupError


class Command(BaseCommand):
    help = "Delete a backup from BACKUP_DIR by its name (see backup_list); not the one being restored."

    def add_arguments(self, parser):
        parser.add_argument("name", help="a name from backup_list")

    def handle(self, *args, name, **options):
        try:
            backup_delete(name=name)
        except BackupError as error:
            raise CommandError(error.message) from None
        self.stdout.write(self.style.SUCCESS(f"Deleted {name}"))
