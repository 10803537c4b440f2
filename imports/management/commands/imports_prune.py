from django.core.management.base import BaseCommand

from imports.services import import_uploads_prune


class Command(BaseCommand):
    help = "Delete stored import uploads (previews never confirmed) older than a day that no import refers to."

    def handle(self, *args, **options):
        pruned = import_uploads_prune()
        self.stdout.write(f"Pruned {pruned} stored upload(s).")
