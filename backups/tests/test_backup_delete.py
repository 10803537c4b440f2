"""Deleting a backup from the admin: a Delete link on each row, a confirmation page, a POST
(with the CSRF token) that calls backup_delete; superusers only; refused while a restore runs
or while that backup is being restored."""

import pytest
from django.test import Client as HttpClient

from backups.restore_flag import restore_flag_held
from backups.selectors import backup_list, restore_status_get
from backups.services import backup_create, restore_request
from conftest import make_user
from timetracker.celery import app as celery_app

LIST_URL = "/admin/backups/backup/"
RUNNING = "A restore is in progress; try again when it has finished."

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def backup():
    return backup_create(trigger="safety")


def test_the_list_links_to_the_confirmation_which_deletes_on_post(charlie_client, backup):
    delete_url = f"{LIST_URL}{backup.name}/delete/"
    assert f'<a class="deletelink" href="{delete_url}">Delete…</a>' in charlie_client.get(LIST_URL).content.decode()

    confirmation = charlie_client.get(delete_url)
    assert confirmation.status_code == 200
    page = confirmation.content.decode()
    assert f"Delete the backup <strong>{backup.name}</strong>" in page
    assert 'name="csrfmiddlewaretoken"' in page
    assert [b.name for b in backup_list()] == [backup.name]

    response = charlie_client.post(delete_url)
    assert (response.status_code, response["Location"]) == (302, LIST_URL)
    assert backup_list() == []
    assert not backup.path.exists()
    assert f"Deleted {backup.name}." in charlie_client.get(LIST_URL).content.decode()


def test_delete_needs_the_csrf_token(charlie, backup):
    browser = HttpClient(enforce_csrf_checks=True)
    browser.force_login(charlie)
    assert browser.post(f"{LIST_URL}{backup.name}/delete/").status_code == 403
    assert [b.name for b in backup_list()] == [backup.name]


def test_unknown_backup_is_404(charlie_client):
    assert charlie_client.get(f"{LIST_URL}backup-20260101-000000-manual.zip/delete/").status_code == 404
    assert charlie_client.post(f"{LIST_URL}backup-20260101-000000-manual.zip/delete/").status_code == 404


def test_only_superusers_delete(client, alice, backup):
    url = f"{LIST_URL}{backup.name}/delete/"
    client.force_login(alice)
    response = client.post(url)
    assert (response.status_code, response["Location"]) == (302, f"/admin/login/?next={url}")
    staff = make_user("erin")
    staff.is_staff = True
    staff.save()
    client.force_login(staff)
    response = client.post(url)
    assert response.status_code == 403
    assert "Only superusers can see, take or restore backups." in response.content.decode()
    assert [b.name for b in backup_list()] == [backup.name]


def test_delete_during_a_restore_is_409_without_a_query(charlie_client, backup, django_assert_num_queries):
    assert charlie_client.get(LIST_URL).status_code == 200  # hands out the status cookie
    with restore_flag_held(), django_assert_num_queries(0):
        response = charlie_client.post(f"{LIST_URL}{backup.name}/delete/")
    assert response.status_code == 409
    assert f'<p class="errornote" id="refusal">{RUNNING}</p>' in response.content.decode()
    assert [b.name for b in backup_list()] == [backup.name]


def test_the_backup_being_restored_is_not_deleted(charlie_client, backup):
    celery_app.conf.task_always_eager = False  # no worker runs: the restore stays queued
    try:
        restore_request(archive_path=backup.path, requested_by="charlie")
        assert restore_status_get().state == "queued"
        response = charlie_client.post(f"{LIST_URL}{backup.name}/delete/")
    finally:
        celery_app.control.purge()
    assert response.status_code == 409
    assert ('<p class="errornote" id="refusal">That backup is being restored; it can be deleted when the restore '
            "has finished.</p>") in response.content.decode()  # fmt: skip
    assert [b.name for b in backup_list()] == [backup.name]


def test_another_backup_is_not_deleted_while_a_restore_is_queued(charlie_client, backup):
    other = backup_create(trigger="manual")
    celery_app.conf.task_always_eager = False  # no worker runs: the restore stays queued, the flag unset
    try:
        restore_request(archive_path=backup.path, requested_by="charlie")
        assert restore_status_get().state == "queued"
        response = charlie_client.post(f"{LIST_URL}{other.name}/delete/")
    finally:
        celery_app.control.purge()
    assert response.status_code == 409
    assert f'<p class="errornote" id="refusal">{RUNNING}</p>' in response.content.decode()
    assert sorted(b.name for b in backup_list()) == sorted([backup.name, other.name])
