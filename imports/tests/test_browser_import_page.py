"""A real browser (Debian's Chromium through Playwright) against a live server with CSRF
enforced and a real Celery worker: log in through the login form, upload a Toggl CSV on the
Import/Export page, check the preview, confirm, and watch the history row reach "completed"."""

from datetime import UTC, datetime

import pytest

from conftest import CASES_DIR
from imports.models import DataImport
from timetracker.models import TimeEntry

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
TIMEOUT_MS = 30_000


def launch(playwright):
    return playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)


def log_in(page, base_url: str, username: str) -> None:
    page.goto(f"{base_url}/accounts/login/?next=/import-export/")
    page.fill("#id_username", username)
    page.fill("#id_password", f"{username}-password")
    page.click("button:has-text('Log in')")
    page.wait_for_url(f"{base_url}/import-export/")


def record_console_error(message, errors: list[str]) -> None:
    # Chromium asks every new origin for /favicon.ico; the product has none.
    if message.type == "error" and not message.location.get("url", "").endswith("/favicon.ico"):
        errors.append(f"{message.text} ({message.location.get('url')})")


@pytest.mark.browser
@pytest.mark.celery_worker
def test_upload_preview_confirm_and_watch_the_import_complete(live_server, alice, celery_worker, settings):
    from playwright.sync_api import expect, sync_playwright

    assert not settings.DEBUG
    csv_file = CASES_DIR / "01_utf8_bom_toggl_header.csv"
    console_errors: list[str] = []

    # No ORM inside this block: Playwright's sync API runs an event loop in this thread.
    with sync_playwright() as playwright:
        browser = launch(playwright)
        try:
            page = browser.new_page()
            page.set_default_timeout(TIMEOUT_MS)
            page.on("console", lambda m: record_console_error(m, console_errors))

            page.goto(f"{live_server.url}/import-export/")
            expect(page).to_have_url(f"{live_server.url}/accounts/login/?next=/import-export/")
            page.fill("#id_username", "alice")
            page.fill("#id_password", "alice-password")
            page.click("button:has-text('Log in')")
            expect(page).to_have_url(f"{live_server.url}/import-export/")
            menu = page.get_by_role("navigation", name="User menu")
            expect(menu.get_by_role("link", name="Import/Export")).to_be_visible()

            # The timezone select defaults to alice's profile timezone.
            expect(page.locator("#id_timezone")).to_have_value("Europe/Berlin")
            page.set_input_files("#id_file", str(csv_file))
            page.click("#csv-preview-button")

            preview = page.locator("#csv-preview")
            expect(preview).to_be_visible()
            expect(preview.locator('[data-preview="file_name"]')).to_have_text("01_utf8_bom_toggl_header.csv")
            expect(preview.locator('[data-preview="format_name"]')).to_have_text("Toggl Track detailed report")
            expect(preview.locator('[data-preview="delimiter"]')).to_have_text("comma (,)")
            expect(preview.locator('[data-preview="timezone"]')).to_have_text("Europe/Berlin")
            expect(preview.locator('[data-preview="total_rows"]')).to_have_text("2")
            expect(preview.locator('[data-preview="would_create"]')).to_have_text("2")
            expect(preview.locator('[data-preview="error_count"]')).to_have_text("0")
            expect(preview.locator("#csv-preview-rows tbody tr")).to_have_count(2)
            expect(preview.locator("#csv-preview-rows tbody")).to_contain_text("Homepage draft")
            expect(preview.locator("#csv-preview-rows tbody tr").first).to_contain_text("2024-03-04 08:00:00 UTC")
            expect(page.locator("#csv-preview-errors-block")).to_be_hidden()

            page.click("#csv-confirm")
            expect(page.locator("#csv-message")).to_contain_text("started")
            row = page.locator("#import-history tbody tr[data-import-id]").first
            expect(row.locator('[data-field="status"]')).to_have_text("completed", timeout=TIMEOUT_MS)
            expect(row.locator('[data-field="progress"]')).to_have_attribute("value", "100")
            expect(row.locator('[data-field="progress_text"]')).to_have_text("100%")
            expect(row.locator('[data-field="source_file"]')).to_have_text("01_utf8_bom_toggl_header.csv")
            expect(row.locator('[data-field="created_records"]')).to_have_text("2")
            expect(row.locator('[data-field="failed_records"]')).to_have_text("0")
            imported_id = int(row.get_attribute("data-import-id"))

            # A reload renders the same row from the server.
            page.reload()
            reloaded = page.locator(f'#import-history tr[data-import-id="{imported_id}"]')
            expect(reloaded.locator('[data-field="status"]')).to_have_text("completed")
        finally:
            browser.close()

    assert console_errors == []
    data_import = DataImport.objects.get(pk=imported_id)
    assert (data_import.owner, data_import.status, data_import.created_records) == (alice, "completed", 2)
    entries = TimeEntry.objects.filter(owner=alice).order_by("start")
    assert [(e.project.name, e.notes, e.start, e.end, e.duration_seconds, e.billable) for e in entries] == [
        ("Website", "Homepage draft", datetime(2024, 3, 4, 8, tzinfo=UTC), datetime(2024, 3, 4, 9, 30, tzinfo=UTC),
         5400, True),
        ("Internal", "Standup", datetime(2024, 3, 4, 9, 30, tzinfo=UTC), datetime(2024, 3, 4, 9, 45, tzinfo=UTC),
         900, False),
    ]


@pytest.mark.browser
def test_date_order_and_invalid_rows_block_confirm_until_the_user_chooses(live_server, alice, tmp_path):
    """Without a worker: tasks run in-process, so the import is finished when confirm returns."""
    from playwright.sync_api import expect, sync_playwright

    ambiguous = tmp_path / "ambiguous.csv"
    ambiguous.write_bytes(b"project_name,start_time,end_time,notes\nWeb,03/04/2024 09:00,03/04/2024 10:00,first\n")
    invalid = tmp_path / "invalid.csv"
    invalid.write_bytes(
        b"project_name,start_time,end_time,notes\n"
        b"Web,2024-03-05 09:00,2024-03-05 10:00,good\n"
        b"Web,2024-03-05 11:00,2024-03-05 10:00,ends before it starts\n"
    )
    console_errors: list[str] = []

    with sync_playwright() as playwright:
        browser = launch(playwright)
        try:
            page = browser.new_page()
            page.set_default_timeout(TIMEOUT_MS)
            page.on("console", lambda m: record_console_error(m, console_errors))
            log_in(page, live_server.url, "alice")
            confirm = page.locator("#csv-confirm")

            # Dates that fit day/month and month/day: the user has to choose.
            page.set_input_files("#id_file", str(ambiguous))
            page.click("#csv-preview-button")
            expect(page.locator("#csv-preview-date-order")).to_be_visible()
            expect(page.locator('[data-preview="date_order"]')).to_have_text("cannot tell — choose one")
            expect(confirm).to_be_disabled()
            page.select_option("#id_date_order", "MDY")
            expect(page.locator("#csv-preview")).to_be_hidden()
            page.click("#csv-preview-button")
            expect(page.locator('[data-preview="date_order"]')).to_have_text("MDY (chosen)")
            expect(page.locator("#csv-preview-date-order")).to_be_hidden()
            expect(confirm).to_be_enabled()
            confirm.click()
            first_row = page.locator("#import-history tbody tr[data-import-id]").first
            expect(first_row.locator('[data-field="status"]')).to_have_text("completed")
            expect(first_row.locator('[data-field="source_file"]')).to_have_text("ambiguous.csv")

            # An invalid row: listed with line, column and value; confirm only with "skip invalid".
            page.set_input_files("#id_file", str(invalid))
            page.click("#csv-preview-button")
            errors = page.locator("#csv-preview-errors tbody tr")
            expect(errors).to_have_count(1)
            expect(errors.locator("td").nth(0)).to_have_text("3")
            expect(errors.locator("td").nth(2)).to_have_text("2024-03-05 10:00")
            expect(page.locator("#csv-preview-blocked")).to_be_visible()
            expect(confirm).to_be_disabled()
            page.check("#id_skip_invalid")
            page.click("#csv-preview-button")
            expect(confirm).to_be_enabled()
            confirm.click()
            row = page.locator("#import-history tbody tr[data-import-id]").first
            expect(row.locator('[data-field="status"]')).to_have_text("completed with errors")
            expect(row.locator('[data-field="created_records"]')).to_have_text("1")
            expect(row.locator('[data-field="failed_records"]')).to_have_text("1")
            expect(row.locator('[data-field="errors"] summary')).to_have_text("1")
        finally:
            browser.close()

    assert console_errors == []
    entries = TimeEntry.objects.filter(owner=alice).order_by("start")
    # 03/04/2024 read month first: 4 March; alice's timezone is Europe/Berlin (UTC+1 then).
    assert [(e.notes, e.start, e.end) for e in entries] == [
        ("first", datetime(2024, 3, 4, 8, tzinfo=UTC), datetime(2024, 3, 4, 9, tzinfo=UTC)),
        ("good", datetime(2024, 3, 5, 8, tzinfo=UTC), datetime(2024, 3, 5, 9, tzinfo=UTC)),
    ]
    assert list(DataImport.objects.order_by("pk").values_list("source_file_name", "status")) == [
        ("ambiguous.csv", "completed"),
        ("invalid.csv", "completed_with_errors"),
    ]
