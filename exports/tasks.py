"""Celery tasks of exports: a few lines each around the services."""

from celery import shared_task

from . import services
from .models import DataExport


@shared_task(bind=True, acks_late=True, max_retries=5)
def data_export_build(self, data_export_id: int) -> str:
    """Build one export's file. Safe to run twice (see services.data_export_run)."""
    try:
        export = services.data_export_run(data_export_id=data_export_id)
    except DataExport.DoesNotExist as exc:
        # Queued from inside a transaction that has not committed yet: try again shortly.
        raise self.retry(exc=exc, countdown=1) from exc
    return export.status


@shared_task
def exports_prune() -> int:
    """Periodic (Celery beat, see CELERY_BEAT_SCHEDULE): delete expired export files."""
    return services.data_exports_prune()
