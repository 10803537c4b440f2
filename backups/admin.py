"""Admin: the backup pages (backups/admin_views.py) under "Backups", and the daily schedule."""

from django.contrib import admin
from django.shortcuts import redirect
from django.urls import path

from . import admin_views
from .admin_views import backups_admin_view, unavailable_during_restore
from .models import Backup, BackupSchedule
from .schedule import backup_schedule_get


@admin.register(Backup)
class BackupAdmin(admin.ModelAdmin):
    """No rows: get_urls replaces the changelist with the pages of backup files."""

    def get_urls(self):
        return [
            path("", backups_admin_view(admin_views.backup_list_page), name="backups_backup_changelist"),
            path("create/", backups_admin_view(admin_views.backup_create_page), name="backups_backup_create"),
            path("restore/", backups_admin_view(admin_views.backup_restore_page, upload=True),
                 name="backups_backup_restore"),
            path("status/", backups_admin_view(admin_views.restore_status_page, during_restore="serve"),
                 name="backups_restore_status"),
            path("status.json", backups_admin_view(admin_views.restore_status_json, during_restore="serve"),
                 name="backups_restore_status_json"),
            path("jobs/<str:job_id>/", backups_admin_view(admin_views.backup_job_page), name="backups_backup_job"),
            path("jobs/<str:job_id>.json", backups_admin_view(admin_views.backup_job_json),
                 name="backups_backup_job_json"),
            path("<str:name>/download/", backups_admin_view(admin_views.backup_download_page),
                 name="backups_backup_download"),
            path("<str:name>/delete/", backups_admin_view(admin_views.backup_delete_page),
                 name="backups_backup_delete"),
        ]

    def has_module_permission(self, request):
        return request.user.is_active and request.user.is_superuser

    def has_view_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_superuser

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(BackupSchedule)
class BackupScheduleAdmin(admin.ModelAdmin):
    """One row: the list page opens it directly."""

    fields = ("enabled", "time_of_day", "retention_days", "last_run_on", "last_run_at", "last_backup_name",
              "last_error")  # fmt: skip
    readonly_fields = ("last_run_on", "last_run_at", "last_backup_name", "last_error")

    def get_urls(self):
        # Its pages read the row (and the session): during a restore they answer 503 first.
        urls = super().get_urls()
        for pattern in urls:
            pattern.callback = unavailable_during_restore(pattern.callback)
        return urls

    def changelist_view(self, request, extra_context=None):
        if not self.has_view_or_change_permission(request):
            return super().changelist_view(request, extra_context)
        schedule = backup_schedule_get()
        return redirect("admin:backups_backupschedule_change", schedule.pk)

    def has_module_permission(self, request):
        return request.user.is_active and request.user.is_superuser

    def has_view_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_superuser

    def has_change_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_superuser

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
