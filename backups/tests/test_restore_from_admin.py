"""A restore started from the admin's restore page, end to end: the chosen backup comes back,
the status page then shows it completed, and the list shows the safety backup."""

import json

import pytest
from django.contrib.sessions.models import Session

from backups.admin_views import STATUS_COOKIE
from backups.selectors import backup_list, restore_status_get
from backups.services import backup_create, backup_restore
from timetracker.models import Client

from .factories import rewrite_archive

LIST_URL = "/admin/backups/backup/"
CREATE_URL = "/admin/backups/backup/create/"
RESTORE_URL = "/admin/backups/backup/restore/"
STATUS_URL = "/admin/backups/backup/status/"
STATUS_JSON_URL = "/admin/backups/backup/status.json"


@pytest.mark.django_db(transaction=True)
def test_restore_of_a_listed_backup_brings_its_data_back(charlie_client):
    Client.objects.create(name="Acme")
    assert charlie_client.post(CREATE_URL).status_code == 302
    [taken] = backup_list()
    Client.objects.filter(name="Acme").delete()
    Client.objects.create(name="Made after the backup")

    response = charlie_client.post(RESTORE_URL, {"backup": taken.name, "confirm": "on"})

    assert response.status_code == 302
    assert response["Location"] == STATUS_URL
    assert list(Client.objects.values_list("name", flat=True)) == ["Acme"]
    status = json.loads(charlie_client.get(STATUS_JSON_URL).content)
    assert status["state"] == "completed"
    assert status["archive_name"] == taken.name
    assert status["requested_by"] == "charlie"
    assert status["progress_percent"] == 100
    assert status["finished"] is True
    assert status["active"] is False
    assert status["restore_running"] is False
    page = charlie_client.get(STATUS_URL).content.decode()
    assert '<progress id="restore-progress" max="100" value="100">100%</progress>' in page
    assert f"<span id=\"restore-archive\">{taken.name}</span>" in page
    assert [b.trigger for b in backup_list()] == ["safety", "manual"]


@pytest.mark.django_db(transaction=True)
def test_restore_of_an_uploaded_archive(charlie_client, tmp_path):
    Client.objects.create(name="Acme")
    charlie_client.post(CREATE_URL)
    [taken] = backup_list()
    upload = tmp_path / "from-elsewhere.zip"
    upload.write_bytes(taken.path.read_bytes())
    taken.path.unlink()
    Client.objects.all().delete()

    with open(upload, "rb") as archive:
        response = charlie_client.post(RESTORE_URL, {"archive": archive, "confirm": "on"})

    assert response.status_code == 302
    assert list(Client.objects.values_list("name", flat=True)) == ["Acme"]
    # The upload is kept in BACKUP_DIR under an "-uploaded" name; its manifest still says how it was taken.
    [kept] = [b for b in backup_list() if b.trigger != "safety"]
    assert kept.name.endswith("-uploaded.zip")
    assert kept.path.read_bytes() == upload.read_bytes()
    status = json.loads(charlie_client.get(STATUS_JSON_URL).content)
    assert status["state"] == "completed"


def test_after_a_restore_that_dropped_the_admins_session_the_status_cookie_still_shows_the_result(
        restorable_db, client, charlie):  # fmt: skip
    backup = backup_create(trigger="manual")  # holds no session of charlie's: the restore drops it
    client.force_login(charlie)
    assert client.get(LIST_URL).status_code == 200  # hands out the status cookie
    session_key = client.session.session_key

    assert backup_restore(archive_path=backup.path).state == "completed"

    assert not Session.objects.filter(session_key=session_key).exists()
    response = client.get(STATUS_JSON_URL)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    status = response.json()
    assert (status["state"], status["archive_name"]) == ("completed", backup.name)
    assert (status["finished"], status["active"], status["restore_running"]) == (True, False, False)
    page = client.get(STATUS_URL)
    assert page.status_code == 200
    html = page.content.decode()
    assert '<strong id="restore-state">completed</strong>' in html
    assert '<p id="restore-done" >' in html  # "you may have to log in again", shown
    del client.cookies[STATUS_COOKIE]
    response = client.get(STATUS_JSON_URL)
    assert (response.status_code, response["Location"]) == (302, f"/admin/login/?next={STATUS_JSON_URL}")


@pytest.mark.django_db(transaction=True)
def test_an_upload_refused_while_a_restore_runs_is_not_kept(charlie_client, tmp_path):
    from backups.restore_flag import set_database_restore_in_progress

    charlie_client.post(CREATE_URL)
    [taken] = backup_list()
    upload = tmp_path / "from-elsewhere.zip"
    upload.write_bytes(taken.path.read_bytes())
    set_database_restore_in_progress(True)
    try:
        with open(upload, "rb") as archive:
            response = charlie_client.post(RESTORE_URL, {"archive": archive, "confirm": "on"})
    finally:
        set_database_restore_in_progress(False)

    assert response.status_code == 409
    assert [b.name for b in backup_list()] == [taken.name]


@pytest.mark.parametrize("created_at", ["yesterday", "2020-01-01T00:00:00"])
@pytest.mark.django_db(transaction=True)
def test_an_upload_whose_creation_time_is_not_a_date_and_time_with_an_offset_is_refused_and_not_kept(
        charlie_client, tmp_path, settings, created_at):  # fmt: skip
    taken = backup_create(trigger="manual")
    upload = rewrite_archive(taken.path, tmp_path / "from-elsewhere.zip",
                             manifest_change=lambda manifest: manifest.update(created_at=created_at))
    taken.path.unlink()

    with open(upload, "rb") as archive:
        response = charlie_client.post(RESTORE_URL, {"archive": archive, "confirm": "on"})

    assert response.status_code == 400
    assert response.context["form"].non_field_errors() == [(
        "Backup rejected: invalid manifest (created_at must be an ISO 8601 date and time with a UTC offset, "
        f"not {created_at!r})")]
    assert restore_status_get().state == "idle"
    assert sorted(path.name for path in settings.BACKUP_DIR.iterdir()) == []
    assert charlie_client.get(LIST_URL).status_code == 200
