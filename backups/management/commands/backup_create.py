from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from backups.services import backup_create
from backups.types import BackupError

from ._progress import BackupProgressBar


class Command(BaseCommand):
    help = "Back up the whole database and the stored files into one archive (in BACKUP_DIR unless --output)."

    def add_arguments(self, parser):
        parser.add_argument("--portable", action="store_true",
                            help="one JSON-lines file per model, to move between database engines")
        parser.add_argument("--output", type=Path, help="write the archive here instead of BACKUP_DIR")
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")

    def handle(self, *args, portable, output, no_progress, **options):
        bar = BackupProgressBar(description="Backup", unit="rows" if portable else "members",
                                stream=getattr(self.stderr, "_out", self.stderr), disable=no_progress)
        try:
            info = backup_create(portable=portable, output=output, progress=bar)
        except BackupError as error:
            raise CommandError(error.message) from None
        finally:
            bar.close()
        kind = "portable" if info.portable else info.engine
        self.stdout.write(self.style.SUCCESS(f"Wrote {info.path} ({kind}, {info.size} bytes)"))
