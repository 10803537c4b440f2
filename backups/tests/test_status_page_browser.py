"""Browser test: the restore status page polls while a restore runs and moves its progress bar
step by step, then shows the way back when the restore has finished. The restore's progress is
written to the status file at known points, as the restore itself does."""

import os

import pytest
from django.utils import timezone

from backups.restore_flag import restore_flag_held
from backups.status import status_write
from backups.types import RestoreStatus

CHROMIUM = "/usr/bin/chromium"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="needs Debian's chromium"),
]


@pytest.fixture
def browser_page():
    from playwright.sync_api import sync_playwright

    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # ORM calls while Playwright's loop runs
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run"],
        )  # fmt: skip
        page = browser.new_page()
        page.set_default_timeout(15_000)
        yield page
        page.goto("about:blank")  # stop the polling before the live server goes away
        browser.close()
        from django.db import connections

        connections.close_all()
    os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)


def running(step: str) -> RestoreStatus:
    return RestoreStatus(state="running", step=step, archive_name="backup-20260301-020500-scheduled.zip",
                         started_at=timezone.now(), message="Restoring backup-20260301-020500-scheduled.zip.")  # fmt: skip


def test_status_page_follows_the_restore(live_server, browser_page, charlie):
    page = browser_page
    page.goto(f"{live_server.url}/admin/login/?next=/admin/backups/backup/")
    page.fill("#id_username", "charlie")
    page.fill("#id_password", "charlie-password")
    page.click("input[type=submit]")
    page.wait_for_url(f"{live_server.url}/admin/backups/backup/")

    with restore_flag_held():
        status_write(running("unpacking"))
        page.goto(f"{live_server.url}/admin/backups/backup/status/")
        assert page.inner_text("#restore-state") == "running"
        assert page.get_attribute("#restore-progress", "value") == "17"

        status_write(running("checking row counts"))
        page.wait_for_function("document.getElementById('restore-step').textContent === '— checking row counts'")
        assert page.get_attribute("#restore-progress", "value") == "67"
        assert page.is_hidden("#restore-done")

        finished = running("done")
        finished.state, finished.finished_at = "completed", timezone.now()
        finished.message = "Restored backup-20260301-020500-scheduled.zip."
        status_write(finished)
    page.wait_for_function("document.getElementById('restore-state').textContent === 'completed'")
    assert page.get_attribute("#restore-progress", "value") == "100"
    assert page.inner_text("#restore-message") == "Restored backup-20260301-020500-scheduled.zip."
    assert page.is_visible("#restore-done")


def test_status_page_stops_polling_and_asks_to_log_in_when_sent_to_the_login(live_server, browser_page, charlie):
    page = browser_page
    page.goto(f"{live_server.url}/admin/login/?next=/admin/backups/backup/")
    page.fill("#id_username", "charlie")
    page.fill("#id_password", "charlie-password")
    page.click("input[type=submit]")
    page.wait_for_url(f"{live_server.url}/admin/backups/backup/")

    with restore_flag_held():
        status_write(running("unpacking"))
        page.goto(f"{live_server.url}/admin/backups/backup/status/")
        assert page.inner_text("#restore-state") == "running"
        page.context.clear_cookies()  # no session and no status cookie any more: status.json redirects
    page.wait_for_selector("#restore-login-again", state="visible")
    assert page.inner_text("#restore-login-again") == "The restore has finished; log in again to see its result."
    assert page.get_attribute("#restore-login-again a", "href") == "/admin/login/?next=/admin/backups/backup/status/"
    assert page.inner_text("#restore-state") == "running"
