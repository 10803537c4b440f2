"""While the restore flag is set, pages answer 503 before anything queries the database."""

import logging

import pytest

from backups.restore_flag import restore_flag_held

pytestmark = pytest.mark.django_db


def assert_restore_page(response, text: str):
    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    assert text in response.content.decode()


def test_portal_pages_answer_503_without_a_query(dana_client, acme_hours, restore_in_progress, django_assert_num_queries):
    with django_assert_num_queries(0):
        page = dana_client.get("/portal/")
        csv = dana_client.get("/portal/reports/?format=csv")
        anonymous = dana_client.get("/portal/set-password/done/")

    for response in (page, csv, anonymous):
        assert_restore_page(response, "<h1>Restore in progress</h1>")


def test_portal_login_still_renders_without_a_query(client, dana, restore_in_progress, django_assert_num_queries):
    client.force_login(dana)

    with django_assert_num_queries(0):
        page = client.get("/portal/login/")
        post = client.post("/portal/login/", {"username": "dana", "password": "dana-password"})

    assert page.status_code == 200
    assert "Restore in progress." in page.content.decode()
    assert 'name="username"' in page.content.decode()
    assert_restore_page(post, "Restore in progress")


def test_application_pages_show_the_maintenance_page(alice_client, restore_in_progress, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = alice_client.get("/import-export/")

    assert_restore_page(response, "TimeTracker is under maintenance")


def test_api_answers_json_503(client, alice, api_token, restore_in_progress, django_assert_num_queries):
    raw = api_token(alice, "read:*")

    with django_assert_num_queries(0):
        response = client.get("/api/v1/imports/1", headers={"authorization": f"Bearer {raw}"})

    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    assert response.json() == {
        "error": "restore_in_progress",
        "message": "A database restore is in progress. Please try again in a few minutes.",
    }


def test_restore_safe_views_and_static_files_are_not_blocked(charlie_client, restore_in_progress):
    # The ops status page is marked @restore_safe: it answers itself (here 503 without the status cookie).
    status = charlie_client.get("/admin/backups/backup/status.json").content.decode()
    assert "The admin pages are back when it has finished." in status
    assert "TimeTracker is under maintenance" not in status
    assert charlie_client.get("/static/admin/css/base.css").status_code != 503
    assert charlie_client.get("/admin/").status_code == 503


@pytest.mark.parametrize("url", [
    "/admin/backups/",
    "/admin/backups/foo/",
    "/admin/backups/backup/nonexistent/",
    "/admin/backups/backup/x/y/z",
    "/admin/backups/%2e%2e/auth/user/",
])  # fmt: skip
def test_admin_backups_paths_of_unmarked_views_answer_503_without_a_query(charlie_client, url, restore_in_progress,
                                                                          django_assert_num_queries):  # fmt: skip
    with django_assert_num_queries(0):
        response = charlie_client.get(url)

    assert_restore_page(response, "TimeTracker is under maintenance")


def test_exempt_paths_are_a_setting(alice_client, settings, restore_in_progress):
    settings.RESTORE_MAINTENANCE_EXEMPT_PATHS = [*settings.RESTORE_MAINTENANCE_EXEMPT_PATHS, "/import-export/"]

    assert alice_client.get("/import-export/").status_code == 200
    assert alice_client.get("/").status_code == 503


def test_pages_work_again_once_the_flag_is_cleared(dana_client, acme_hours):
    with restore_flag_held():
        assert dana_client.get("/portal/").status_code == 503
    assert dana_client.get("/portal/").status_code == 200


def test_restore_503s_are_logged_once_at_info_not_as_errors(charlie_client, restore_in_progress, caplog):
    urls = ["/portal/", "/", "/api/v1/imports/1", "/admin/backups/", "/admin/backups/backup/status.json",
            "/admin/backups/backupschedule/"]  # the middleware's 503s and the backup pages' own
    with caplog.at_level(logging.INFO):
        statuses = [charlie_client.get(url).status_code for url in urls]

    assert statuses == [503] * len(urls)
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []
    assert [(r.name, r.levelname, r.getMessage()) for r in caplog.records] == [
        ("portal.maintenance", "INFO", f"Restore in progress: GET {url} answered 503") for url in urls
    ]
