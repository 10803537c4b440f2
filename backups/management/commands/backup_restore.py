from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from backups.selectors import backup_get
from backups.services import backup_restore
from backups.status import restore_unfinished_read
from backups.types import BackupError

from ._progress import BackupProgressBar


class Command(BaseCommand):
    help = ("Replace the whole database and the stored files by a backup (a file, or the name of one in "
            "BACKUP_DIR). Runs here and returns when the restore has finished and the restore flag is cleared.")

    def add_arguments(self, parser):
        parser.add_argument("file", help="archive path, or a name from backup_list")
        parser.add_argument("--yes", action="store_true", help="do not ask for confirmation")
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")

    def handle(self, *args, file, yes, no_progress, **options):
        path = Path(file)
        if not path.is_file():
            try:
                path = backup_get(file).path
            except BackupError as error:
                path = _unfinished_archive(file)
                if path is None:
                    raise CommandError(f"No such file: {file}") from error
        if not yes:
            try:
                answer = input(f"This replaces the whole database and the stored files by {path.name}. Type 'yes': ")
            except EOFError:  # no terminal (stdin closed or at its end): nobody can answer
                raise CommandError("Confirmation needed: run with --yes to restore without asking.") from None
            if answer.strip().lower() != "yes":
                raise CommandError("Restore cancelled.")
        bar = BackupProgressBar(description="Restore", unit="steps",
                                stream=getattr(self.stderr, "_out", self.stderr), disable=no_progress)
        try:
            status = backup_restore(archive_path=path, progress=bar)
        except BackupError as error:
            raise CommandError(error.message) from None
        finally:
            bar.close()
        if status.state != "completed":
            raise CommandError(status.message)
        self.stdout.write(self.style.SUCCESS(status.message))


def _unfinished_archive(file: str) -> Path | None:
    """The archive of a restore interrupted after it began replacing the database, when `file`
    names it but it is gone: restoring it then puts that restore's safety backup back."""
    unfinished = restore_unfinished_read()
    if not unfinished:
        return None
    archive = Path(unfinished.get("archive_path") or unfinished.get("archive_name") or "")
    if file in (str(archive), archive.name, unfinished.get("archive_name")) or Path(file).resolve() == archive:
        return archive
    return None
