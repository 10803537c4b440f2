from functools import partial

from django.db import transaction
from django.db.models.signals import post_delete
from django.dispatch import receiver

from .models import DataExport


@receiver(post_delete, sender=DataExport)
def delete_export_file(sender, instance: DataExport, **kwargs):
    # Also when the rows go with their user (CASCADE). After commit: a rolled-back delete
    # keeps its record, so it must keep its file.
    if instance.file_path:
        from .services import data_export_file_delete

        transaction.on_commit(partial(data_export_file_delete, file_path=instance.file_path))
