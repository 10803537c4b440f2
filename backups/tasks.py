from pathlib import Path

from celery import shared_task

from .services import backup_restore


@shared_task(acks_late=True, reject_on_worker_lost=True)
def backup_restore_task(archive_path: str, restore_id: str | None = None) -> str:
    """Runs one restore. Acknowledged late: if the worker dies mid-restore (the database
    replacement is one transaction, so the old data stays) the broker delivers it again and
    the restore runs from the start, unless another restore has run since."""
    return backup_restore(archive_path=Path(archive_path), restore_id=restore_id).state
