from django.core.management.base import BaseCommand

from exports import services


class Command(BaseCommand):
    help = (
        "Delete the files of exports past their expiry (7 days after creation) and mark them expired; "
        "also delete export files no export refers to any more (older than an hour)."
    )

    def handle(self, *args, **options):
        pruned = services.data_exports_prune()
        self.stdout.write(f"Pruned {pruned} expired export(s).")
