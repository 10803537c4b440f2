from pathlib import Path

from celery import shared_task
from celery.signals import worker_ready

from .services import backup_restore, restore_resume_interrupted


@shared_task(acks_late=True, reject_on_worker_lost=True)
def backup_restore_task(archive_path: str, restore_id: str | None = None) -> str:
    """Runs one restore. Acknowledged late: if the worker dies mid-restore the broker delivers
    it again (after CELERY_VISIBILITY_TIMEOUT) and the restore runs from the start, unless
    another restore has run since or it was resumed and finished meanwhile."""
    return backup_restore(archive_path=Path(archive_path), restore_id=restore_id).state


@worker_ready.connect
def restore_resume_when_a_worker_starts(**kwargs) -> None:
    """A restore whose worker died (the site in maintenance if it had begun replacing the
    database) runs again as soon as a worker starts, not an hour later."""
    restore_resume_interrupted()
