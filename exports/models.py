from django.conf import settings
from django.db import models
from django.utils import timezone


def default_expiry():
    return timezone.now() + settings.EXPORT_TTL


class DataExport(models.Model):
    """One export file: who asked, what was in it, where it lives, when it goes away."""

    class Type(models.TextChoices):
        GDPR = "gdpr", "GDPR (all my data)"
        FILTERED = "filtered", "Filtered time entries"
        MILEAGE = "mileage"
        PER_DIEM = "per_diem", "per diem"
        CLIENTS = "clients"

    class Format(models.TextChoices):
        JSON = "json"
        ZIP = "zip"
        CSV = "csv"
        XLSX = "xlsx"
        PDF = "pdf"

    class Status(models.TextChoices):
        PENDING = "pending"
        PROCESSING = "processing"
        COMPLETED = "completed"
        FAILED = "failed"
        EXPIRED = "expired"

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="data_exports")
    export_type = models.CharField(max_length=20, choices=Type.choices)
    export_format = models.CharField(max_length=8, choices=Format.choices)
    filters = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING, db_index=True)
    # Relative to PRIVATE_STORAGE_DIR; never under a static or media URL.
    file_path = models.CharField(max_length=500, blank=True, default="")
    file_name = models.CharField(max_length=255, blank=True, default="")
    file_size = models.BigIntegerField(null=True, blank=True)
    sha256 = models.CharField(max_length=64, blank=True, default="")
    record_count = models.PositiveIntegerField(default=0)
    total_records = models.PositiveIntegerField(default=0)
    processed_records = models.PositiveIntegerField(default=0)
    error_message = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(default=default_expiry, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"{self.export_type} {self.export_format} #{self.pk} ({self.status})"

    @property
    def is_expired(self) -> bool:
        return timezone.now() >= self.expires_at

    @property
    def progress_percent(self) -> int:
        if self.status in (self.Status.COMPLETED, self.Status.FAILED, self.Status.EXPIRED):
            return 100
        if not self.total_records:
            return 0
        return min(100, int(self.processed_records * 100 / self.total_records))
