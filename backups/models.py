from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models


class BackupSchedule(models.Model):
    """The one daily-backup schedule (row pk=1), edited in the admin. It lives in the database,
    so a restore brings back the schedule that was in force when the archive was taken."""

    SINGLETON_PK = 1

    enabled = models.BooleanField(default=False)
    time_of_day = models.TimeField(default="02:00", help_text="Server time zone (TIME_ZONE, UTC by default).")
    retention_days = models.PositiveIntegerField(
        default=14,
        validators=[MinValueValidator(1), MaxValueValidator(3650)],
        help_text="Scheduled backups older than this are deleted. Manual backups are never deleted.",
    )
    # The date whose backup has been claimed: the conditional UPDATE on it is what keeps two
    # beats (or two workers) from taking the same day's backup twice.
    last_run_on = models.DateField(null=True, blank=True, editable=False)
    last_run_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_backup_name = models.CharField(max_length=255, blank=True, editable=False)
    last_error = models.TextField(blank=True, editable=False)

    class Meta:
        verbose_name = "backup schedule"
        verbose_name_plural = "backup schedule"

    def __str__(self) -> str:
        if not self.enabled:
            return "Scheduled backups off"
        return f"Daily at {self.time_of_day:%H:%M}, kept {self.retention_days} days"

    def save(self, *args, **kwargs):
        self.pk = self.SINGLETON_PK
        super().save(*args, **kwargs)


class Backup(BackupSchedule):
    """No rows of its own (a proxy, so dumpdata and the portable backup skip it): gives the
    admin a "Backups" entry whose pages (backups/admin_views.py) list the archive files of
    BACKUP_DIR. Backups are files, never rows, so that a restore cannot lose the list of
    backups it could be undone with."""

    class Meta:
        proxy = True
        default_permissions = ()
        verbose_name = "backup"
        verbose_name_plural = "backups"
