"""A real browser (Debian's Chromium through Playwright) on the Import/Export page's clients
section: preview a clients CSV, see errors block the import, confirm, and export."""

from pathlib import Path

import pytest

from imports.models import DataImport
from imports.tests.test_browser_import_page import (
    TIMEOUT_MS,
    launch,
    log_in,
    record_console_error,
)
from timetracker.models import Client


@pytest.mark.browser
def test_preview_errors_skip_invalid_confirm_and_export(live_server, charlie, tmp_path):
    """Without a worker: tasks run in-process, so the import is finished when confirm returns."""
    from playwright.sync_api import expect, sync_playwright

    Client.objects.create(name="Acme", status="inactive")
    path = tmp_path / "clients.csv"
    path.write_bytes(b"name,status,email\nAcme,,new@acme.example\nGlobex,active,\nInitech,closed,\n")
    console_errors: list[str] = []

    with sync_playwright() as playwright:
        browser = launch(playwright)
        try:
            page = browser.new_page()
            page.set_default_timeout(TIMEOUT_MS)
            page.on("console", lambda m: record_console_error(m, console_errors))
            log_in(page, live_server.url, "charlie")
            confirm = page.locator("#clients-confirm")

            page.set_input_files("#id_clients-file", str(path))
            page.click("#clients-preview-button")
            preview = page.locator("#clients-preview")
            expect(preview).to_be_visible()
            expect(preview.locator('[data-clients="total_rows"]')).to_have_text("3")
            expect(preview.locator('[data-clients="would_create"]')).to_have_text("1")
            expect(preview.locator('[data-clients="skipped"]')).to_have_text("1")
            notes = page.locator("#clients-preview-notes tbody tr")
            expect(notes).to_have_count(2)
            expect(notes.nth(0)).to_contain_text("must be active, inactive or archived")
            expect(notes.nth(1)).to_contain_text("Client 'Acme' already exists (skipped)")
            expect(page.locator("#clients-preview-blocked")).to_be_visible()
            expect(confirm).to_be_disabled()

            page.check("#id_clients-skip_invalid")
            page.click("#clients-preview-button")
            expect(confirm).to_be_enabled()
            confirm.click()
            expect(page.locator("#clients-message")).to_contain_text("started")
            row = page.locator("#import-history tbody tr[data-import-id]").first
            expect(row.locator('[data-field="import_type"]')).to_have_text("CSV clients")
            expect(row.locator('[data-field="status"]')).to_have_text("completed with errors")
            expect(row.locator('[data-field="created_records"]')).to_have_text("1")

            page.select_option('#clients-export-form select[name="status"]', "inactive")
            with page.expect_download() as download_info:
                page.click("#clients-export-form button")
            download = download_info.value
            assert download.suggested_filename.startswith("clients_export_")
            exported = Path(download.path()).read_bytes()
        finally:
            browser.close()

    assert console_errors == []
    assert exported.decode("utf-8-sig").splitlines()[1] == "Acme,,,,,,,inactive,,1"
    assert list(Client.objects.order_by("name").values_list("name", "status", "email")) == [
        ("Acme", "inactive", ""), ("Globex", "active", ""),
    ]
    assert DataImport.objects.get().skipped_records == 1
