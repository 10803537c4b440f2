"""Celery tasks of the admin's backups: the scheduled-backup check (Celery beat, see
CELERY_BEAT_SCHEDULE["backups-scheduled"]) and the background job of "Create backup"."""

from celery import shared_task

from .backup_jobs import backup_job_run
from .schedule import scheduled_backup_run


@shared_task
def backups_scheduled_run() -> str:
    """Every few minutes: take today's scheduled backup when due; idempotent."""
    return scheduled_backup_run().outcome


@shared_task(acks_late=True)
def backup_job_task(job_id: str) -> str:
    """One backup asked for in the admin; a redelivered task finds the job finished."""
    return backup_job_run(job_id=job_id).state
