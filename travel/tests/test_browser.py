"""Browser: filter the mileage page, export a large PDF, watch the link appear, download."""

import io
import os
from datetime import date

import pytest
from pypdf import PdfReader

from exports.models import DataExport
from travel.reports import MILEAGE
from travel.selectors import TravelFilters
from travel.services import pdf_export_build

from .factories import make_mileage

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
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        context = browser.new_context(accept_downloads=True)
        page = context.new_page()
        page.set_default_timeout(15_000)
        yield page
        page.goto("about:blank")  # stop the status polling before the live server goes away
        context.close()
        browser.close()
        from django.db import connections

        connections.close_all()
    os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)


def test_large_pdf_link_appears_when_ready_and_downloads(live_server, browser_page, alice, bob, settings):
    settings.TRAVEL_PDF_SYNC_MAX_ROWS = 1
    for n in range(3):
        make_mileage(alice, date=date(2024, 3, 1 + n), purpose=f"Approved trip {n}", status="approved")
    make_mileage(alice, purpose="Draft trip")
    make_mileage(bob, purpose="Bob trip", status="approved")
    page = browser_page
    page.goto(f"{live_server.url}/mileage/")
    page.fill("#id_username", "alice")
    page.fill("#id_password", "alice-password")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/mileage/")

    page.select_option("#id_status", "approved")
    page.click("#filters button[type=submit]")
    page.wait_for_url(f"{live_server.url}/mileage/?*status=approved*")
    assert page.locator("#records tbody tr").count() == 3
    assert page.inner_text("#total-amount") == "27.00"

    # "Export PDF" carries the filters; above the limit it is built in the background.
    assert "status=approved" in page.get_attribute("#export-pdf", "href")
    page.click("#export-pdf")
    page.wait_for_selector(".messages")
    assert page.url.startswith(f"{live_server.url}/mileage/?") and "status=approved" in page.url
    queued = DataExport.objects.get()
    assert queued.filters["status"] == "approved"
    assert f"being built in the background (export #{queued.pk})" in page.inner_text(".messages")
    assert page.locator(f'a[href="/travel/exports/{queued.pk}/download"]').count() == 1

    # A queued export that is not built yet: the page polls it and shows the link when done.
    data_export = DataExport.objects.create(
        owner=alice, export_type="mileage", export_format="pdf",
        filters=TravelFilters(status="approved").as_json(),
    )
    page.reload()
    assert page.locator("#background-exports progress").count() == 1
    pdf_export_build(data_export=data_export)
    link = page.locator(f'#background-exports a[href="/travel/exports/{data_export.pk}/download"]')
    link.wait_for()
    assert link.inner_text() == "mileage_export_2024-03-01_to_2024-03-03.pdf"
    with page.expect_download() as download_info:
        link.click()
    download = download_info.value
    assert download.suggested_filename == "mileage_export_2024-03-01_to_2024-03-03.pdf"
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(open(download.path(), "rb").read())).pages)
    assert all(f"Approved trip {n}" in text for n in range(3))
    assert "Draft trip" not in text and "Bob trip" not in text
    assert MILEAGE.title in text
