from django.core.management.base import BaseCommand

from backups.selectors import backup_list, restore_status_get


class Command(BaseCommand):
    help = "List the backups in BACKUP_DIR, newest first, and the state of the last restore."

    def handle(self, *args, **options):
        backups = backup_list()
        if not backups:
            self.stdout.write("No backups.")
        for info in backups:
            kind = "portable" if info.portable else info.engine
            self.stdout.write(f"{info.name}\t{info.created_at:%Y-%m-%d %H:%M:%S %Z}\t{info.size} bytes\t{kind}\t"
                              f"{info.trigger}\tv{info.version}")
        status = restore_status_get()
        if status.state != "idle":
            self.stdout.write(f"Last restore: {status.state} ({status.archive_name}): {status.message}")
