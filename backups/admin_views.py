"""The admin's backup pages: list, create, download, delete (with confirmation), restore (with confirmation) and the
restore status. Superusers only: an archive holds every user's data and password hashes, and a
restore replaces all of it.

While a restore runs the database is being replaced, so nothing here may query it then: not
the session, not the user. The guard checks the restore flag first; an admin is then recognised
by the signed `backups_status` cookie these pages set on every normal visit, the status page
renders from the flag and the status file only, and every other page answers without the
database (409 for a POST, a redirect to the status page for a GET).
"""

from __future__ import annotations

from functools import wraps

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.http import FileResponse, Http404, JsonResponse
from django.shortcuts import redirect, render
from django.template.response import TemplateResponse
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from imports.forms import human_size, request_body_too_large, upload_limit_message
from portal.maintenance import mark_maintenance_logged, restore_safe

from . import selectors, services
from .backup_jobs import BackupJob, BackupJobNotFound, backup_job_get, backup_job_start
from .restore_flag import is_database_restore_in_progress
from .types import BackupNotFound

STATUS_COOKIE = "backups_status"
STATUS_COOKIE_SALT = "backups.restore-status"
STATUS_COOKIE_MAX_AGE = 24 * 60 * 60
RESTORE_RUNNING_MESSAGE = services.RESTORE_RUNNING_MESSAGE
RESTORE_RUNNING_NO_COOKIE_MESSAGE = (
    "A database restore is in progress. The admin pages are back when it has finished."
)
NOT_SUPERUSER_MESSAGE = "Only superusers can see, take or restore backups."
RESTORE_STATES_FINISHED = ("completed", "failed")


def _status_cookie_holder(request) -> bool:
    return request.get_signed_cookie(STATUS_COOKIE, default=None, salt=STATUS_COOKIE_SALT,
                                     max_age=STATUS_COOKIE_MAX_AGE) is not None  # fmt: skip


def _refused(request, *, status: int, title: str, message: str, status_link: bool = False):
    response = render(request, "backups/refused.html",
                      {"title": title, "message": message, "status_link": status_link}, status=status)  # fmt: skip
    if status == 503:
        # The same setting as the portal's maintenance pages (portal branch), 30 s by default.
        response["Retry-After"] = str(getattr(settings, "RESTORE_RETRY_AFTER_SECONDS", 30))
        mark_maintenance_logged(request, response)  # the 503s here are all "a restore runs"
    return response


@csrf_protect  # a refusal changes nothing, but a POST without the token is still a 403
def _refuse_post_during_restore(request):
    return _refused(request, status=409, title="Restore in progress", message=RESTORE_RUNNING_MESSAGE,
                    status_link=True)  # fmt: skip


def backups_admin_view(view=None, *, during_restore: str = "refuse", upload: bool = False):
    """Wrap a backup page: the restore guard (no database while the flag is set), the admin
    login (admin_view, which adds CSRF protection), superusers only, and the status cookie.

    during_restore: "serve" (the status pages, also served to a holder of the status cookie
    without an admin session, as after a restore), "refuse" (409 for a POST, else a redirect to
    the status page). upload: answer 413 from the declared size before the body is parsed."""

    def decorate(view):
        admin_checked = admin.site.admin_view(view)

        @restore_safe  # the site-wide maintenance middleware lets it through: it checks the flag first
        @csrf_exempt  # CSRF is checked by admin_view's csrf_protect, after the size guard
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if is_database_restore_in_progress():
                if not _status_cookie_holder(request):
                    return _refused(request, status=403 if request.method == "POST" else 503,
                                    title="Restore in progress", message=RESTORE_RUNNING_NO_COOKIE_MESSAGE)  # fmt: skip
                if during_restore == "serve":
                    return never_cache(view)(request, *args, restore_running=True, **kwargs)
                if request.method == "POST":
                    return _refuse_post_during_restore(request)
                return redirect("admin:backups_restore_status")
            user = request.user
            if user.is_active and user.is_staff and not user.is_superuser:
                return _refused(request, status=403, title="Backups", message=NOT_SUPERUSER_MESSAGE)
            if during_restore == "serve" and not (user.is_active and user.is_superuser) and (
                    _status_cookie_holder(request)):  # fmt: skip
                # After a restore the sessions are the archive's, so the admin's is usually gone:
                # the status cookie still shows the restore's result (read from the status file).
                return never_cache(view)(request, *args, **kwargs)
            if upload and user.is_superuser and request_body_too_large(request):
                size = int(request.META["CONTENT_LENGTH"])
                return _refused(request, status=413, title="Restore", message=upload_limit_message(size=size))
            response = admin_checked(request, *args, **kwargs)
            if user.is_active and user.is_superuser:
                response.set_signed_cookie(STATUS_COOKIE, str(user.pk), salt=STATUS_COOKIE_SALT,
                                           max_age=STATUS_COOKIE_MAX_AGE, path=reverse("admin:index"),
                                           httponly=True, samesite="Lax", secure=request.is_secure())  # fmt: skip
            return response

        return wrapper

    return decorate(view) if view is not None else decorate


def unavailable_during_restore(view):
    """For admin pages that need the database: 503 without a query while a restore runs."""

    @restore_safe  # its own 503 (with the status link for the admin) instead of the site's
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if is_database_restore_in_progress():
            return _refused(request, status=503, title="Restore in progress", message=RESTORE_RUNNING_NO_COOKIE_MESSAGE,
                            status_link=_status_cookie_holder(request))  # fmt: skip
        return view(request, *args, **kwargs)

    return wrapper


def _admin_context(request, **context):
    return {**admin.site.each_context(request), **context}


# ---------------------------------------------------------------------------------------
# List and create.


@require_GET
def backup_list_page(request):
    return TemplateResponse(request, "backups/backup_list.html", _admin_context(
        request,
        title="Backups",
        backups=selectors.backup_list(),
        restore_status=selectors.restore_status_get(),
        schedule=_schedule(),
        backup_dir=settings.BACKUP_DIR,
    ))  # fmt: skip


def _schedule():
    from .schedule import backup_schedule_get

    return backup_schedule_get()


@require_POST
def backup_create_page(request):
    portable = request.POST.get("portable") in ("1", "on", "true")
    # Refused now rather than from inside the job, so the admin gets the 409 (the job's
    # backup_create checks again).
    if selectors.restore_blocks_work():
        return _refused(request, status=409, title="Restore in progress", message=RESTORE_RUNNING_MESSAGE,
                        status_link=True)  # fmt: skip
    job = backup_job_start(portable=portable, requested_by=request.user.get_username())
    return redirect("admin:backups_backup_job", job.id)


def _job_or_404(job_id: str) -> BackupJob:
    try:
        return backup_job_get(job_id)
    except BackupJobNotFound:
        raise Http404("No such backup job.") from None


def _job_data(job: BackupJob) -> dict:
    download = reverse("admin:backups_backup_download", args=[job.backup_name]) if job.backup_name else ""
    return {"id": job.id, "state": job.state, "portable": job.portable, "done": job.done, "total": job.total,
            "progress_percent": job.progress_percent, "finished": job.finished, "backup_name": job.backup_name,
            "message": job.message, "download_url": download}  # fmt: skip


@require_GET
def backup_job_page(request, job_id: str):
    job = _job_or_404(job_id)
    return TemplateResponse(request, "backups/backup_job.html", _admin_context(
        request, title="Backup", job=_job_data(job),
        job_json_url=reverse("admin:backups_backup_job_json", args=[job.id]),
    ))  # fmt: skip


@require_GET
def backup_job_json(request, job_id: str):
    return JsonResponse(_job_data(_job_or_404(job_id)))


@require_GET
def backup_download_page(request, name: str):
    try:
        info = selectors.backup_get(name)
    except BackupNotFound as error:
        raise Http404(str(error)) from error
    return FileResponse(open(info.path, "rb"), as_attachment=True, filename=info.name)


@require_http_methods(["GET", "POST"])
def backup_delete_page(request, name: str):
    """GET: the confirmation; POST: delete the file (refused while it is being restored)."""
    try:
        info = selectors.backup_get(name)
    except BackupNotFound as error:
        raise Http404(str(error)) from error
    if request.method == "POST":
        try:
            services.backup_delete(name=info.name)
        except services.RestoreInProgress as error:
            return _refused(request, status=409, title="Delete a backup", message=str(error),
                            status_link=True)  # fmt: skip
        except BackupNotFound as error:
            raise Http404(str(error)) from error
        messages.success(request, f"Deleted {info.name}.")
        return redirect("admin:backups_backup_changelist")
    return TemplateResponse(request, "backups/backup_delete.html",
                            _admin_context(request, title="Delete a backup", backup=info))  # fmt: skip


# ---------------------------------------------------------------------------------------
# Restore.


class RestoreForm(forms.Form):
    backup = forms.ChoiceField(required=False, label="A backup from the list")
    archive = forms.FileField(required=False, label="Or upload an archive")
    confirm = forms.BooleanField(
        required=True,
        label="I understand that every record in the database will be replaced by the archive's.",
        error_messages={"required": "Tick the confirmation to restore."},
    )

    def __init__(self, *args, backups, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["backup"].choices = [("", "---------")] + [
            (b.name, f"{b.name} ({b.created_at:%Y-%m-%d %H:%M}, {human_size(b.size)}, {b.engine})") for b in backups
        ]

    def clean(self):
        data = super().clean()
        if data.get("backup") and data.get("archive"):
            raise forms.ValidationError("Choose a backup from the list or upload an archive, not both.")
        if not data.get("backup") and not data.get("archive") and "backup" not in self.errors:
            raise forms.ValidationError("Choose a backup from the list or upload an archive.")
        return data


@require_http_methods(["GET", "POST"])
def backup_restore_page(request):
    backups = selectors.backup_list()
    if request.method == "GET":
        form = RestoreForm(initial={"backup": request.GET.get("backup", "")}, backups=backups)
        return _restore_form(request, form)
    form = RestoreForm(request.POST, request.FILES, backups=backups)
    if not form.is_valid():
        return _restore_form(request, form, status=400)
    try:
        if form.cleaned_data["backup"]:
            archive_path = selectors.backup_get(form.cleaned_data["backup"]).path
        else:
            uploaded = form.cleaned_data["archive"]
            if uploaded.size > settings.MAX_UPLOAD_SIZE:
                return _refused(request, status=413, title="Restore", message=upload_limit_message(size=uploaded.size))
            # Validated and kept in BACKUP_DIR (trigger "uploaded"): it shows in the list afterwards.
            archive_path = services.backup_upload_store(uploaded_file=uploaded).path
    except (services.BackupRejected, BackupNotFound) as error:
        form.add_error(None, str(error))
        return _restore_form(request, form, status=400)
    try:
        services.restore_request(archive_path=archive_path, requested_by=request.user.get_username())
    except services.RestoreInProgress as error:
        return _refused(request, status=409, title="Restore in progress", message=str(error),
                        status_link=True)  # fmt: skip
    except services.BackupRejected as error:
        form.add_error(None, str(error))
        return _restore_form(request, form, status=400)
    return redirect("admin:backups_restore_status")


def _restore_form(request, form, status=200):
    return TemplateResponse(request, "backups/restore_form.html",
                            _admin_context(request, title="Restore a backup", form=form), status=status)  # fmt: skip


# ---------------------------------------------------------------------------------------
# Status: from the flag and the status file only while a restore runs.


def _status_data(restore_running: bool) -> dict:
    status = selectors.restore_status_get()
    data = status.as_json()
    data["restore_running"] = restore_running
    data["finished"] = status.state in RESTORE_STATES_FINISHED and not restore_running
    data["active"] = status.is_active or restore_running  # the page polls only while this is true
    data["progress_percent"] = _progress_percent(status, restore_running)
    return data


def _progress_percent(status, restore_running: bool) -> int:
    steps = list(getattr(services, "RESTORE_STEPS", ()))
    if status.state == "completed" and not restore_running:
        return 100
    if status.state in ("idle", "queued") or not steps:
        return 0 if status.state in ("idle", "queued") else 50
    if status.step in steps:
        return round(100 * steps.index(status.step) / len(steps))
    return 0


@require_GET
def restore_status_page(request, restore_running: bool = False):
    # No admin context (each_context queries the database) and no user in the template.
    return render(request, "backups/restore_status.html", {
        "title": "Restore status",
        "status": _status_data(restore_running or is_database_restore_in_progress()),
        "status_json_url": reverse("admin:backups_restore_status_json"),
        "list_url": reverse("admin:backups_backup_changelist"),
        "login_url": reverse("admin:login"),
        "status_url": reverse("admin:backups_restore_status"),
    })  # fmt: skip


@require_GET
def restore_status_json(request, restore_running: bool = False):
    return JsonResponse(_status_data(restore_running or is_database_restore_in_progress()))
