from django.conf import settings
from django.db import models


class DataImport(models.Model):
    """One run of an importer: what was asked, how far it got, and what went wrong per row."""

    class Type(models.TextChoices):
        CSV = "csv", "CSV time entries"
        CSV_CLIENTS = "csv_clients", "CSV clients"
        TOGGL = "toggl", "Toggl Track"
        TOGGL_EXPORT = "toggl_export", "Toggl account export"
        HARVEST = "harvest", "Harvest"

    class Status(models.TextChoices):
        PENDING = "pending"
        PROCESSING = "processing"
        WAITING = "waiting", "waiting (rate limit or quota)"
        COMPLETED = "completed"
        COMPLETED_WITH_ERRORS = "completed_with_errors", "completed with errors"
        FAILED = "failed"

    FINISHED_STATUSES = (Status.COMPLETED, Status.COMPLETED_WITH_ERRORS, Status.FAILED)
    # What GET /api/v1/imports/<id> (scope read:time_entries) answers for; clients imports have
    # their own endpoint and scope.
    TIME_ENTRY_TYPES = (Type.CSV, Type.TOGGL, Type.HARVEST)

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="data_imports")
    import_type = models.CharField(max_length=20, choices=Type.choices)
    source_file_name = models.CharField(max_length=255, blank=True, default="")
    # Uploaded file kept in private storage (relative to PRIVATE_STORAGE_DIR) until the run ends.
    stored_file = models.CharField(max_length=500, blank=True, default="")
    # What the user confirmed: timezone, date order, skip-invalid, ranges… Never credentials.
    options = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=24, choices=Status.choices, default=Status.PENDING, db_index=True)
    status_message = models.CharField(max_length=500, blank=True, default="")
    total_records = models.PositiveIntegerField(default=0)
    processed_records = models.PositiveIntegerField(default=0)
    successful_records = models.PositiveIntegerField(default=0)
    failed_records = models.PositiveIntegerField(default=0)
    created_records = models.PositiveIntegerField(default=0)
    updated_records = models.PositiveIntegerField(default=0)
    unchanged_records = models.PositiveIntegerField(default=0)
    skipped_records = models.PositiveIntegerField(default=0)
    deleted_records = models.PositiveIntegerField(default=0)
    # [{"line": 7, "column": "start_time", "value": "2024-13-01", "message": "…"}]
    row_errors = models.JSONField(default=list, blank=True)
    # Free-form report: skipped running timers, unmatched e-mails, warnings, ignored columns…
    summary = models.JSONField(default=dict, blank=True)
    # Where a resumable run stopped (batch number, API cursor); lets a rerun continue exactly.
    checkpoint = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # A stored upload is imported once: two confirmations of one preview arriving
            # together cannot both create an import (the second insert fails).
            models.UniqueConstraint(
                fields=["stored_file"], condition=~models.Q(stored_file=""), name="dataimport_stored_file_once"
            ),
        ]

    def __str__(self):
        return f"{self.get_import_type_display()} #{self.pk} ({self.status})"

    @property
    def is_finished(self) -> bool:
        return self.status in self.FINISHED_STATUSES

    @property
    def progress_percent(self) -> int:
        if self.is_finished:
            return 100
        if not self.total_records:
            return 0
        return min(100, int(self.processed_records * 100 / self.total_records))
