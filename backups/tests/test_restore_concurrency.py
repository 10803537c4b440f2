"""One at a time: while a restore runs (the flag is set) or is queued, a backup or a restore
asked for from the admin is refused with 409; the pages answer without touching the database,
and the status page keeps working from the flag and the status file."""

import json

import pytest
from django.test import Client as HttpClient

from backups.admin_views import STATUS_COOKIE
from backups.restore_flag import restore_flag_held
from backups.selectors import backup_list, restore_status_get
from backups.services import backup_create, restore_request
from timetracker.celery import app as celery_app

LIST_URL = "/admin/backups/backup/"
CREATE_URL = "/admin/backups/backup/create/"
RESTORE_URL = "/admin/backups/backup/restore/"
STATUS_URL = "/admin/backups/backup/status/"
STATUS_JSON_URL = "/admin/backups/backup/status.json"
RUNNING = "A restore is in progress; try again when it has finished."


@pytest.fixture
def watching_admin(charlie_client):
    """charlie, after a normal visit of the backups page (which hands out the status cookie)."""
    response = charlie_client.get(LIST_URL)
    assert response.status_code == 200
    assert STATUS_COOKIE in response.cookies
    assert response.cookies[STATUS_COOKIE]["path"] == "/admin/"
    assert response.cookies[STATUS_COOKIE]["httponly"] is True
    return charlie_client


@pytest.mark.django_db(transaction=True)
def test_backup_asked_for_during_a_restore_is_409_without_a_query(watching_admin, django_assert_num_queries):
    with restore_flag_held(), django_assert_num_queries(0):
        response = watching_admin.post(CREATE_URL)
    assert response.status_code == 409
    assert f'<p class="errornote" id="refusal">{RUNNING}</p>' in response.content.decode()
    assert backup_list() == []


@pytest.mark.django_db(transaction=True)
def test_restore_asked_for_during_a_restore_is_409_without_a_query(watching_admin, django_assert_num_queries):
    info = backup_create(trigger="manual")
    with restore_flag_held(), django_assert_num_queries(0):
        response = watching_admin.post(RESTORE_URL, {"backup": info.name, "confirm": "on"})
    assert response.status_code == 409
    assert f'<p class="errornote" id="refusal">{RUNNING}</p>' in response.content.decode()
    assert restore_status_get().state == "idle"


@pytest.mark.django_db(transaction=True)
def test_post_during_a_restore_still_needs_the_csrf_token(charlie, django_assert_num_queries):
    browser = HttpClient(enforce_csrf_checks=True)
    browser.force_login(charlie)
    browser.get(LIST_URL)
    with restore_flag_held():
        response = browser.post(CREATE_URL)
    assert response.status_code == 403
    assert backup_list() == []


@pytest.mark.django_db(transaction=True)
def test_status_page_and_json_work_during_a_restore_without_a_query(watching_admin, django_assert_num_queries):
    with restore_flag_held(), django_assert_num_queries(0):
        page = watching_admin.get(STATUS_URL)
        status = watching_admin.get(STATUS_JSON_URL)
    assert page.status_code == 200
    assert '<progress id="restore-progress" max="100"' in page.content.decode()
    assert status.status_code == 200
    data = json.loads(status.content)
    assert data["restore_running"] is True
    assert data["finished"] is False
    assert data["active"] is True
    assert data["state"] == restore_status_get().state


@pytest.mark.django_db(transaction=True)
def test_list_page_during_a_restore_sends_the_admin_to_the_status(watching_admin, django_assert_num_queries):
    with restore_flag_held(), django_assert_num_queries(0):
        response = watching_admin.get(LIST_URL)
    assert response.status_code == 302
    assert response["Location"] == STATUS_URL


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("url", [LIST_URL, STATUS_URL, STATUS_JSON_URL])
def test_without_the_status_cookie_pages_answer_503_during_a_restore(client, charlie, url,
                                                                    django_assert_num_queries):  # fmt: skip
    client.force_login(charlie)  # a session, but the database cannot be asked about it now
    with restore_flag_held(), django_assert_num_queries(0):
        response = client.get(url)
    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    assert "A database restore is in progress. The admin pages are back when it has finished." in (
        response.content.decode())  # fmt: skip


@pytest.mark.django_db(transaction=True)
def test_without_the_status_cookie_a_post_during_a_restore_is_403(client, django_assert_num_queries):
    csrf_free = HttpClient()
    with restore_flag_held(), django_assert_num_queries(0):
        response = csrf_free.post(CREATE_URL)
    assert response.status_code == 403
    assert backup_list() == []


@pytest.mark.django_db(transaction=True)
def test_a_forged_status_cookie_is_not_an_admin(client, django_assert_num_queries):
    client.cookies[STATUS_COOKIE] = "1:forged:signature"
    with restore_flag_held(), django_assert_num_queries(0):
        response = client.get(STATUS_JSON_URL)
    assert response.status_code == 503


@pytest.mark.django_db(transaction=True)
def test_backup_asked_for_while_a_restore_is_queued_is_409(watching_admin):
    info = backup_create(trigger="manual")
    celery_app.conf.task_always_eager = False  # no worker runs: the restore stays queued
    try:
        restore_request(archive_path=info.path, requested_by="charlie")
        assert restore_status_get().state == "queued"
        create = watching_admin.post(CREATE_URL)
        restore = watching_admin.post(RESTORE_URL, {"backup": info.name, "confirm": "on"})
    finally:
        celery_app.control.purge()
    assert create.status_code == 409
    assert restore.status_code == 409
    assert '<p class="errornote" id="refusal">' in create.content.decode()
    assert [b.name for b in backup_list()] == [info.name]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("url", ["/admin/backups/backupschedule/", "/admin/backups/backupschedule/1/change/"])
def test_schedule_pages_answer_503_during_a_restore_without_a_query(watching_admin, url, django_assert_num_queries):
    with restore_flag_held(), django_assert_num_queries(0):
        response = watching_admin.get(url)
    assert response.status_code == 503
    assert "A database restore is in progress. The admin pages are back when it has finished." in (
        response.content.decode())  # fmt: skip
