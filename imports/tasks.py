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


@shared_task(acks_late=True, reject_on_worker_lost=True, autoretry_for=(OperationalError, InterfaceError),
             retry_backoff=True, max_retries=3)
def clients_import_task(data_import_id: int) -> str:
    """Runs one client CSV import; a finished import is left alone, and an interrupted one
    wrote nothing (one transaction), so delivering it twice is safe."""
    from .clients import clients_import_run

    return clients_import_run(data_import_id=data_import_id).status
