"""Browser test (req. 10): log in, click "Export as ZIP", wait until ready, download, check members."""

import os
import zipfile

import pytest

from conftest import make_user

from .factories import at, entry

CHROMIUM = "/usr/bin/chromium"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="needs Debian's chromium"),
]


@pytest.fixture
def browser_page():
    from playwright.sync_api import sync_playwright

    # Playwright runs its own event loop in this thread; Django's async-safety check would
    # otherwise refuse the ORM calls the test makes.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run"],
        )  # fmt: skip
        context = browser.new_context(accept_downloads=True)
        page = context.new_page()
        page.set_default_timeout(15_000)
        yield page
        # Stop the page's status polling before the live server goes away.
        page.goto("about:blank")
        context.close()
        browser.close()
        # ORM calls made while Playwright's loop runs get their own connection (asgiref's
        # context-local storage); close it, or the test database cannot be dropped.
        from django.db import connections

        connections.close_all()
    os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)


def test_click_export_as_zip_and_download(live_server, browser_page, tmp_path):
    user = make_user("erin", timezone="Europe/Berlin")
    entry(user, start=at("2024-03-04 08:00"), end=at("2024-03-04 09:30"), notes="=1+1", tags=("web",))
    page = browser_page

    page.goto(f"{live_server.url}/exports/")
    page.fill("#id_username", "erin")
    page.fill("#id_password", "erin-password")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/exports/")

    page.click("text=Export as ZIP")
    row = page.locator("#export-panel .export-history tbody tr").first
    row.locator("text=ready").wait_for()
    assert "GDPR" in row.inner_text() and "ZIP" in row.inner_text()

    with page.expect_download() as download_info:
        row.locator("a", has_text="Download").click()
    download = download_info.value
    assert download.suggested_filename.startswith("gdpr_export_erin_")
    path = tmp_path / download.suggested_filename
    download.save_as(path)

    archive = zipfile.ZipFile(path)
    members = archive.namelist()
    assert {"time_entries.json", "time_entries.csv", "mileage.csv", "per_diem.json", "README.txt",
            "manifest.json"} <= set(members)  # fmt: skip
    lines = archive.read("time_entries.csv").decode("utf-8-sig").split("\r\n")
    assert lines[1].endswith(",Website,Acme,,2024-03-04T09:00:00+01:00,2024-03-04T10:30:00+01:00,1.50,'=1+1,web,true")


def test_filtered_form_makes_an_xlsx_export(live_server, browser_page, tmp_path):
    user = make_user("frank", timezone="UTC")
    entry(user, start=at("2024-03-04 08:00"), end=at("2024-03-04 09:30"), notes="kept")
    entry(user, start=at("2024-03-09 08:00"), end=at("2024-03-09 09:30"), notes="outside the range")
    page = browser_page
    page.goto(f"{live_server.url}/accounts/login/?next=/exports/")
    page.fill("#id_username", "frank")
    page.fill("#id_password", "frank-password")
    page.click("button[type=submit]")

    page.fill("input[name=start_date]", "2024-03-04")
    page.fill("input[name=end_date]", "2024-03-04")
    page.select_option("select[name=format]", "xlsx")
    page.click("text=Export entries")
    row = page.locator("#export-panel .export-history tbody tr").first
    row.locator("text=ready").wait_for()
    with page.expect_download() as download_info:
        row.locator("a", has_text="Download").click()
    path = tmp_path / "entries.xlsx"
    download_info.value.save_as(path)

    from openpyxl import load_workbook

    sheet = load_workbook(path)["Time entries"]
    assert sheet.max_row == 2 and sheet["I2"].value == "kept"
