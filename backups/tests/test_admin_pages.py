"""The admin's backup pages: who may see them, the list, create, download, the restore form
(confirmation, choice or upload, size cap) and the schedule page."""

import json
import os
import subprocess
from datetime import timedelta

import pytest
from django.test import Client as HttpClient
from django.urls import reverse
from django.utils import timezone

from backups.models import BackupSchedule
from backups.selectors import backup_list, restore_status_get
from backups.services import backup_create
from backups.status import status_write
from backups.types import RestoreStatus
from conftest import make_user

LIST_URL = "/admin/backups/backup/"
CREATE_URL = "/admin/backups/backup/create/"
RESTORE_URL = "/admin/backups/backup/restore/"
STATUS_URL = "/admin/backups/backup/status/"
STATUS_JSON_URL = "/admin/backups/backup/status.json"


def test_urls_are_under_the_admin():
    assert reverse("admin:backups_backup_changelist") == LIST_URL
    assert reverse("admin:backups_backup_create") == CREATE_URL
    assert reverse("admin:backups_backup_restore") == RESTORE_URL
    assert reverse("admin:backups_restore_status") == STATUS_URL
    assert reverse("admin:backups_restore_status_json") == STATUS_JSON_URL
    assert reverse("admin:backups_backup_download", args=["x.tar"]) == "/admin/backups/backup/x.tar/download/"


@pytest.mark.django_db
@pytest.mark.parametrize("url", [LIST_URL, RESTORE_URL, STATUS_URL, STATUS_JSON_URL, LIST_URL + "x.tar/download/"])
def test_anonymous_and_plain_users_are_sent_to_the_admin_login(client, alice, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"] == f"/admin/login/?next={url}"
    client.force_login(alice)
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"] == f"/admin/login/?next={url}"


@pytest.mark.django_db
def test_plain_users_cannot_create_or_restore(alice_client):
    response = alice_client.post(CREATE_URL)
    assert response.status_code == 302
    assert response["Location"] == f"/admin/login/?next={CREATE_URL}"
    response = alice_client.post(RESTORE_URL, {"confirm": "on"})
    assert response.status_code == 302
    assert backup_list() == []


@pytest.mark.django_db
@pytest.mark.parametrize("method,url", [("get", LIST_URL), ("post", CREATE_URL), ("get", RESTORE_URL),
                                        ("get", STATUS_URL), ("get", STATUS_JSON_URL)])  # fmt: skip
def test_staff_who_are_not_superusers_get_403(client, method, url):
    staff = make_user("erin", is_staff=False)
    staff.is_staff = True
    staff.save()
    client.force_login(staff)
    response = getattr(client, method)(url)
    assert response.status_code == 403
    assert "Only superusers can see, take or restore backups." in response.content.decode()
    assert backup_list() == []


@pytest.mark.django_db
def test_admin_index_links_to_backups_and_schedule(charlie_client):
    page = charlie_client.get("/admin/").content.decode()
    assert f'href="{LIST_URL}"' in page
    assert 'href="/admin/backups/backupschedule/"' in page


@pytest.mark.django_db(transaction=True)
def test_list_shows_date_size_engine_version_newest_first(charlie_client):
    older = backup_create(trigger="manual")
    newer = backup_create(portable=True, trigger="manual")
    response = charlie_client.get(LIST_URL)
    assert response.status_code == 200
    page = response.content.decode()
    for info in (older, newer):
        assert f"<td>{info.name}</td>" in page
        assert f"<td>{info.created_at:%Y-%m-%d %H:%M}</td>" in page
        assert f"<td>{info.engine}</td>" in page
        assert f"<td>{info.version}</td>" in page
        assert f'href="{LIST_URL}{info.name}/download/"' in page
    assert page.index(newer.name) < page.index(older.name)
    assert "<td>portable</td>" in page and "<td>native</td>" in page
    assert [b.name for b in response.context["backups"]] == [newer.name, older.name]


@pytest.mark.django_db(transaction=True)
def test_create_runs_a_backup_job_whose_page_shows_the_result(charlie_client):
    response = charlie_client.post(CREATE_URL, {"portable": "1"})
    [info] = backup_list()
    assert info.trigger == "manual"
    assert info.portable is True
    assert response.status_code == 302
    job_url = response["Location"]
    job_id = job_url.removeprefix(f"{LIST_URL}jobs/").removesuffix("/")
    assert job_url == f"{LIST_URL}jobs/{job_id}/"
    job = json.loads(charlie_client.get(f"{LIST_URL}jobs/{job_id}.json").content)
    assert job == {
        "id": job_id, "state": "completed", "portable": True, "done": job["total"], "total": job["total"],
        "progress_percent": 100, "finished": True, "backup_name": info.name,
        "message": f"Backup {info.name} created ({info.size} bytes).",
        "download_url": f"{LIST_URL}{info.name}/download/",
    }  # fmt: skip
    page = charlie_client.get(job_url).content.decode()
    assert '<progress id="job-progress" max="100" value="100">100%</progress>' in page
    assert f'<a href="{LIST_URL}{info.name}/download/">Download {info.name}</a>' in page


@pytest.mark.django_db
@pytest.mark.parametrize("job_id", ["0" * 32, "..", "x"])
def test_unknown_backup_job_is_404(charlie_client, job_id):
    assert charlie_client.get(f"{LIST_URL}jobs/{job_id}/").status_code == 404
    assert charlie_client.get(f"{LIST_URL}jobs/{job_id}.json").status_code == 404


@pytest.mark.django_db(transaction=True)
def test_backup_job_page_is_admin_only(charlie_client, client, alice):
    job_url = charlie_client.post(CREATE_URL)["Location"]
    client.force_login(alice)
    response = client.get(job_url)
    assert response.status_code == 302
    assert response["Location"] == f"/admin/login/?next={job_url}"


@pytest.mark.django_db
def test_create_requires_the_csrf_token(charlie):
    browser = HttpClient(enforce_csrf_checks=True)
    browser.force_login(charlie)
    response = browser.post(CREATE_URL)
    assert response.status_code == 403
    assert backup_list() == []


@pytest.mark.django_db
def test_create_is_post_only(charlie_client):
    assert charlie_client.get(CREATE_URL).status_code == 405
    assert backup_list() == []


@pytest.mark.django_db(transaction=True)
def test_download_sends_the_archive_bytes(charlie_client):
    info = backup_create(trigger="manual")
    response = charlie_client.get(f"{LIST_URL}{info.name}/download/")
    assert response.status_code == 200
    assert response["Content-Disposition"] == f'attachment; filename="{info.name}"'
    assert b"".join(response.streaming_content) == info.path.read_bytes()


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["missing.tar.gz", "..", "%2e%2e%2fsettings.py", ".hidden"])
def test_download_of_an_unknown_or_unsafe_name_is_404(charlie_client, name):
    assert charlie_client.get(f"{LIST_URL}{name}/download/").status_code == 404


@pytest.mark.django_db(transaction=True)
def test_restore_form_offers_the_backups_and_preselects_the_one_clicked(charlie_client):
    info = backup_create(trigger="manual")
    response = charlie_client.get(f"{RESTORE_URL}?backup={info.name}")
    assert response.status_code == 200
    assert f'<option value="{info.name}" selected>' in response.content.decode()


@pytest.mark.django_db(transaction=True)
def test_restore_needs_the_confirmation(charlie_client):
    info = backup_create(trigger="manual")
    response = charlie_client.post(RESTORE_URL, {"backup": info.name})
    assert response.status_code == 400
    assert "Tick the confirmation to restore." in response.content.decode()
    assert restore_status_get().state == "idle"


@pytest.mark.django_db
def test_restore_needs_a_backup_or_an_upload(charlie_client):
    response = charlie_client.post(RESTORE_URL, {"confirm": "on"})
    assert response.status_code == 400
    assert "Choose a backup from the list or upload an archive." in response.content.decode()
    assert restore_status_get().state == "idle"


@pytest.mark.django_db(transaction=True)
def test_restore_of_a_backup_not_in_the_list_is_refused(charlie_client):
    response = charlie_client.post(RESTORE_URL, {"backup": "../../etc/passwd", "confirm": "on"})
    assert response.status_code == 400
    assert "Select a valid choice. ../../etc/passwd is not one of the available choices." in response.content.decode()
    assert restore_status_get().state == "idle"


@pytest.mark.django_db
def test_upload_over_the_limit_is_413(charlie_client, settings, tmp_path):
    settings.MAX_UPLOAD_SIZE = 1000
    archive = tmp_path / "big.tar.gz"
    archive.write_bytes(b"x" * 2000)
    with open(archive, "rb") as upload:
        response = charlie_client.post(RESTORE_URL, {"archive": upload, "confirm": "on"})
    assert response.status_code == 413
    assert "File too large (2 KB): the upload limit is 1000 bytes." in response.content.decode()
    assert restore_status_get().state == "idle"


@pytest.mark.django_db
def test_declared_body_over_the_limit_is_413_before_it_is_read(charlie_client, settings):
    settings.MAX_UPLOAD_SIZE = 1000
    response = charlie_client.generic("POST", RESTORE_URL, b"", CONTENT_TYPE="multipart/form-data; boundary=x",
                                      CONTENT_LENGTH=str(200 * 1024))  # fmt: skip
    assert response.status_code == 413
    assert "File too large (200 KB): the upload limit is 1000 bytes." in response.content.decode()


@pytest.mark.django_db
def test_upload_that_is_not_an_archive_is_rejected_with_the_reason(charlie_client, tmp_path):
    archive = tmp_path / "notes.tar.gz"
    archive.write_bytes(b"these are not the bytes of a backup")
    with open(archive, "rb") as upload:
        response = charlie_client.post(RESTORE_URL, {"archive": upload, "confirm": "on"})
    assert response.status_code == 400
    assert response.context["form"].non_field_errors() == [
        "Backup rejected: not a backup archive (not a readable ZIP file)"]
    assert restore_status_get().state == "idle"
    assert backup_list() == []  # a rejected upload is not kept


@pytest.mark.django_db
def test_schedule_page_opens_the_one_schedule_and_saves_it(charlie_client):
    response = charlie_client.get("/admin/backups/backupschedule/")
    assert response.status_code == 302
    assert response["Location"] == "/admin/backups/backupschedule/1/change/"
    response = charlie_client.post("/admin/backups/backupschedule/1/change/",
                                   {"enabled": "on", "time_of_day": "03:30", "retention_days": "5"})  # fmt: skip
    assert response.status_code == 302
    schedule = BackupSchedule.objects.get()
    assert (schedule.pk, schedule.enabled, schedule.time_of_day.isoformat(), schedule.retention_days) == (
        1, True, "03:30:00", 5)  # fmt: skip


@pytest.mark.django_db
def test_schedule_retention_must_be_at_least_one_day(charlie_client):
    charlie_client.get("/admin/backups/backupschedule/")
    response = charlie_client.post("/admin/backups/backupschedule/1/change/",
                                   {"enabled": "on", "time_of_day": "03:30", "retention_days": "0"})  # fmt: skip
    assert response.status_code == 200
    assert "Ensure this value is greater than or equal to 1." in response.content.decode()
    assert BackupSchedule.objects.get().retention_days == 14


@pytest.mark.django_db
def test_for_staff_who_are_not_superusers_the_backups_app_index_does_not_exist(client):
    # Django's admin answers 404 for the index of an app the user may not see, as for any other app.
    staff = make_user("erin")
    staff.is_staff = True
    staff.save()
    client.force_login(staff)
    assert client.get("/admin/backups/").status_code == 404
    assert "/admin/backups/" not in client.get("/admin/").content.decode()


@pytest.mark.django_db
def test_schedule_page_is_superusers_only(client):
    staff = make_user("erin")
    staff.is_staff = True
    staff.save()
    client.force_login(staff)
    assert client.get("/admin/backups/backupschedule/").status_code == 403
    assert client.get("/admin/backups/backupschedule/1/change/").status_code == 403


@pytest.mark.django_db
def test_create_is_refused_while_a_restore_is_queued_but_not_after_the_queue_went_stale(charlie_client, settings):
    queued_at = timezone.now()
    status_write(RestoreStatus(state="queued", archive_name="backup-x.zip", queued_at=queued_at))
    refused = charlie_client.post(CREATE_URL)
    assert refused.status_code == 409
    assert "A restore is in progress" in refused.content.decode()
    assert backup_list() == []
    # A queued restore that no worker started stops blocking after RESTORE_QUEUE_STALE_SECONDS.
    stale = queued_at - timedelta(seconds=settings.RESTORE_QUEUE_STALE_SECONDS + 1)
    status_write(RestoreStatus(state="queued", archive_name="backup-x.zip", queued_at=stale))
    response = charlie_client.post(CREATE_URL)
    assert response.status_code == 302
    [info] = backup_list()
    assert info.trigger == "manual"


@pytest.mark.django_db
def test_a_restore_queued_by_a_process_that_died_blocks_nothing_and_says_so(charlie_client):
    # Without a broker the process that queued a restore runs it; this one has exited.
    dead = subprocess.Popen(["true"])  # noqa: S603, S607
    dead.wait()
    status_write(RestoreStatus(state="queued", archive_name="backup-x.zip", queued_at=timezone.now(),
                               queued_pid=dead.pid))
    status = restore_status_get()
    assert (status.state, status.message) == ("failed", (
        "The restore of backup-x.zip was queued, but the process that was to run it stopped before it began. "
        "The database was not changed; start the restore again."))
    response = charlie_client.post(CREATE_URL)
    assert response.status_code == 302
    assert [info.trigger for info in backup_list()] == ["manual"]

    status_write(RestoreStatus(state="queued", archive_name="backup-x.zip", queued_at=timezone.now(),
                               queued_pid=os.getpid()))  # alive: the restore may still begin
    assert restore_status_get().state == "queued"
    assert charlie_client.post(CREATE_URL).status_code == 409
