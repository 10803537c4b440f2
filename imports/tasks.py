from celery import shared_task
from django.db import InterfaceError, OperationalError

from .services import csv_import_run


@shared_task(
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=True,
    max_retries=3,
)
def csv_import_task(data_import_id: int) -> str:
    """Runs one CSV import. Safe to deliver twice: a finished import is left alone and an
    interrupted one continues from its last committed batch."""
    return csv_import_run(data_import_id=data_import_id).status
