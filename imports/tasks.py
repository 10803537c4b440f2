from celery import shared_task
from django.db import InterfaceError, OperationalError

from .services import csv_import_give_up, csv_import_run, csv_imports_interrupted_fail, import_uploads_prune


@shared_task(
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=True,
    max_retries=3,
)
def csv_import_task(self, data_import_id: int) -> str:
    """Runs one CSV import. Safe to deliver twice: a finished import is left alone and an
    interrupted one continues from its last committed batch."""
    try:
        return csv_import_run(data_import_id=data_import_id).status
    except (OperationalError, InterfaceError) as error:
        if self.request.retries < self.max_retries:
            raise  # retried (autoretry_for), resuming from the checkpoint
        # The last attempt: never leave the import "pending" or "processing" for ever.
        return csv_import_give_up(data_import_id=data_import_id, error=error, attempts=self.request.retries + 1).status


@shared_task(
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=True,
    max_retries=3,
)
def clients_import_task(self, data_import_id: int) -> str:
    """Runs one client CSV import; a finished import is left alone, and an interrupted one
    wrote nothing (one transaction), so delivering it twice is safe."""
    from .clients import clients_import_run

    try:
        return clients_import_run(data_import_id=data_import_id).status
    except (OperationalError, InterfaceError) as error:
        if self.request.retries < self.max_retries:
            raise
        return csv_import_give_up(data_import_id=data_import_id, error=error, attempts=self.request.retries + 1).status


@shared_task
def imports_prune() -> int:
    """Periodic (Celery beat, see CELERY_BEAT_SCHEDULE): delete day-old uploads no import uses."""
    return import_uploads_prune()


@shared_task
def csv_imports_interrupted_sweep() -> int:
    """Beat entry: mark failed the CSV imports that stopped showing progress."""
    return csv_imports_interrupted_fail()
