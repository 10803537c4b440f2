"""Scheduled backups: the daily backup Celery beat asks for, and the retention of scheduled
backups. The beat entry (CELERY_BEAT_SCHEDULE["backups-scheduled"]) ticks every few minutes;
each tick is cheap and idempotent, so a missed tick, a second beat or a late worker changes
nothing: the first tick at or after the scheduled time takes the day's backup, the others skip.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from django.db.models import Q
from django.utils import timezone

from .models import BackupSchedule
from .restore_flag import is_database_restore_in_progress
from .types import RestoreInProgress

logger = logging.getLogger(__name__)

SCHEDULED_TRIGGER = "scheduled"


@dataclass(frozen=True)
class ScheduledRun:
    """What one tick did: outcome is "skipped", "created" or "failed"."""

    outcome: str
    reason: str = ""
    backup_name: str = ""
    deleted: tuple[str, ...] = ()


def backup_schedule_get() -> BackupSchedule:
    schedule, _ = BackupSchedule.objects.get_or_create(pk=BackupSchedule.SINGLETON_PK)
    return schedule


def scheduled_backup_run() -> ScheduledRun:
    """Take today's scheduled backup if it is due and nobody took it yet, then delete the
    scheduled backups past the retention. Called by the beat task every few minutes."""
    # Checked before any query: during a restore the tables may not exist.
    if is_database_restore_in_progress():
        return ScheduledRun("skipped", "a restore is in progress")
    now = timezone.localtime(timezone.now())
    schedule = backup_schedule_get()
    if not schedule.enabled:
        return ScheduledRun("skipped", "scheduled backups are off")
    if now.time() < schedule.time_of_day:
        return ScheduledRun("skipped", "not due yet")
    today = now.date()
    previous_run_on = schedule.last_run_on
    # One conditional UPDATE claims the day; a concurrent tick updates no row and skips.
    claimed = (
        BackupSchedule.objects.filter(pk=schedule.pk, enabled=True)
        .filter(Q(last_run_on__isnull=True) | Q(last_run_on__lt=today))
        .update(last_run_on=today, last_run_at=timezone.now(), last_error="")
    )
    if not claimed:
        return ScheduledRun("skipped", "already taken today")

    from .services import backup_create

    try:
        info = backup_create(trigger=SCHEDULED_TRIGGER)
    except RestoreInProgress:
        # Queued, so the flag is not set yet: a skipped turn too. The day goes back as it was.
        logger.info("Scheduled backup skipped: a restore is in progress")
        BackupSchedule.objects.filter(pk=schedule.pk, last_run_on=today).update(
            last_run_on=previous_run_on, last_run_at=schedule.last_run_at, last_error=schedule.last_error
        )
        return ScheduledRun("skipped", "a restore is in progress")
    except Exception as error:
        logger.exception("Scheduled backup failed")
        # Give the day back, so the next tick tries again instead of leaving the day without a backup.
        BackupSchedule.objects.filter(pk=schedule.pk, last_run_on=today).update(
            last_run_on=previous_run_on, last_error=f"{timezone.now():%Y-%m-%d %H:%M} {error}"[:2000]
        )
        return ScheduledRun("failed", str(error))
    BackupSchedule.objects.filter(pk=schedule.pk).update(last_backup_name=info.name)
    # Pruned only after a successful backup: while backups fail, the old ones stay.
    deleted = scheduled_backups_prune(retention_days=schedule.retention_days, keep=info.name)
    return ScheduledRun("created", backup_name=info.name, deleted=tuple(deleted))


def scheduled_backups_prune(*, retention_days: int, keep: str = "") -> list[str]:
    """Delete the scheduled backups created more than `retention_days` ago. Manual, upload and
    safety backups are never touched; neither is `keep` (the backup just taken)."""
    from .selectors import backup_list
    from .services import backup_delete

    cutoff = timezone.now() - timedelta(days=retention_days)
    deleted = []
    for info in backup_list():
        # An uploaded archive keeps its manifest's trigger; only its name says it was uploaded
        # here, so a deletion needs both: taken by the schedule, and named so in this folder.
        taken_here_by_schedule = info.trigger == SCHEDULED_TRIGGER and f"-{SCHEDULED_TRIGGER}" in info.name
        if taken_here_by_schedule and info.name != keep and info.created_at < cutoff:
            try:
                backup_delete(name=info.name)
            except RestoreInProgress:  # queued since the backup was taken: the next one prunes
                logger.info("Scheduled backups not pruned: a restore is in progress")
                break
            deleted.append(info.name)
    return deleted
