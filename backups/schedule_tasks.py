"""Celery beat task of scheduled backups (see CELERY_BEAT_SCHEDULE["backups-scheduled"])."""

from celery import shared_task

from .schedule import scheduled_backup_run


@shared_task(ignore_result=True)
def backups_scheduled_run() -> str:
    """Every few minutes: take today's scheduled backup when due; idempotent."""
    run = scheduled_backup_run()
    return run.outcome
