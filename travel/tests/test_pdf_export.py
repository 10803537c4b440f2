"""PDF exports: layout read back with pypdf, fonts, file names, background builds."""

import io
import re
import subprocess
from datetime import date, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.utils import timezone
from pypdf import PdfReader

from exports.models import DataExport
from timetracker.models import Client
from travel.reports import MILEAGE
from travel.selectors import TravelFilters
from travel.services import pdf_export_queue
from travel.tasks import travel_pdf_export_build

from .factories import make_mileage, make_per_diem

NAME = "Zoë Łukasz 山田"
WORD_BOX = re.compile(r'<word xMin="([\d.]+)" yMin="[\d.]+" xMax="([\d.]+)" yMax="[\d.]+">([^<]*)</word>')


@pytest.fixture
def zoe(alice):
    alice.first_name, alice.last_name = "Zoë", "Łukasz 山田"
    alice.save()
    return alice


def pdf_pages(response) -> list[str]:
    assert response["Content-Type"] == "application/pdf"
    return [page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages]


def test_mileage_pdf_holds_every_row_totals_and_names_on_repeated_header_pages(alice_client, zoe, bob):
    trips = [
        make_mileage(zoe, date=date(2024, 3, 1) + timedelta(days=n % 28), purpose=f"Trip {n:03d} 山田",
                     distance=Decimal(10 + n), round_trip=n % 2 == 0)
        for n in range(70)
    ]
    make_mileage(bob, purpose="Bob's secret trip")
    response = alice_client.get("/mileage/export/pdf?start_date=2024-03-01&end_date=2024-03-31")
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="mileage_export_2024-03-01_to_2024-03-31.pdf"'
    pages = pdf_pages(response)
    assert len(pages) >= 3
    text = "\n".join(pages)
    for trip in trips:
        assert trip.purpose in text
        assert f"{trip.amount:.2f}" in text
    total_amount = sum(t.amount for t in trips)
    total_km = sum(t.total_distance for t in trips)
    assert "Total\n70 trips" in text
    assert f"{total_km:.2f} km" in text and f"{total_amount:.2f}" in text
    assert "Bob's secret trip" not in text
    assert pages[0].count(NAME) >= 1 and f"Prepared for: {NAME}" in pages[0]
    assert "Mileage Report" in pages[0]
    assert "Period: 2024-03-01 to 2024-03-31" in pages[0]
    assert "Generated: " in pages[0] and "Europe/Berlin" in pages[0]
    assert "Filters: none" in pages[0]
    for number, page in enumerate(pages, start=1):
        # The header row repeats on every page, and every page is numbered.
        assert "Purpose" in page and "Route" in page and "Amount" in page
        assert page.startswith(f"Mileage Report · Page {number} of {len(pages)}\n")


def test_pdf_names_filters_and_shows_a_clear_line_when_nothing_matches(alice_client, zoe):
    make_mileage(zoe, status="draft")
    response = alice_client.get("/mileage/export/pdf?status=approved&search=nothing")
    assert response["Content-Disposition"] == 'attachment; filename="mileage_export_all_to_all.pdf"'
    (page,) = pdf_pages(response)
    assert "No mileage entries found for the selected filters." in page
    assert "Filters: Search: “nothing” | Status: Approved" in page
    assert "Period: All dates" in page
    assert page.startswith("Mileage Report · Page 1 of 1\n")


def test_per_diem_pdf_holds_rows_totals_and_non_latin_text(alice_client, zoe):
    tokyo = make_per_diem(zoe, country="日本", city="東京", purpose="Łódź → 東京 kick-off",
                          start_date=date(2024, 5, 1), end_date=date(2024, 5, 3))
    krakow = make_per_diem(zoe, country="Poland", city="Kraków", purpose="Zoë's audit",
                           start_date=date(2024, 5, 10), end_date=date(2024, 5, 10), full_days=0, partial_days=1)
    response = alice_client.get("/per-diem/export/pdf")
    assert response["Content-Disposition"] == 'attachment; filename="per_diem_export_2024-05-01_to_2024-05-10.pdf"'
    text = "\n".join(pdf_pages(response))
    assert "Per Diem Report" in text
    assert NAME in text
    assert "Łódź → 東京 kick-off" in text and "東京, 日本" in text and "Kraków, Poland" in text
    assert f"{tokyo.amount:.2f}" in text and f"{krakow.amount:.2f}" in text
    assert "Total\n2 claims" in text and "1 / 3" in text and f"{tokyo.amount + krakow.amount:.2f}" in text


def test_empty_per_diem_pdf(alice_client, alice):
    (page,) = pdf_pages(alice_client.get("/per-diem/export/pdf"))
    assert "No per diem claims found for the selected filters." in page


def test_large_pdf_is_built_in_the_background_and_downloaded_by_its_owner_only(
    alice_client, zoe, client, bob, settings, django_capture_on_commit_callbacks
):
    settings.TRAVEL_PDF_SYNC_MAX_ROWS = 2
    trips = [make_mileage(zoe, purpose=f"Long trip {n}", status="approved") for n in range(3)]
    make_mileage(zoe, purpose="Draft trip", status="draft")
    with django_capture_on_commit_callbacks(execute=True):
        response = alice_client.get("/mileage/export/pdf?status=approved")
    assert response.status_code == 302
    assert response["Location"] == "/mileage/?status=approved"
    data_export = DataExport.objects.get()
    assert (data_export.owner, data_export.export_type, data_export.export_format) == (zoe, "mileage", "pdf")
    assert data_export.filters["status"] == "approved"
    assert data_export.status == "completed"
    assert data_export.record_count == 3
    assert data_export.file_name == "mileage_export_2024-03-04_to_2024-03-04.pdf"
    assert data_export.file_path == f"travel/{data_export.pk}/{data_export.file_name}"
    stored = settings.PRIVATE_STORAGE_DIR / data_export.file_path
    assert stored.stat().st_size == data_export.file_size

    page = alice_client.get(response["Location"])
    download_url = f"/travel/exports/{data_export.pk}/download"
    assert f'href="{download_url}"' in page.content.decode()
    status = alice_client.get(f"/travel/exports/{data_export.pk}/status").json()
    assert status["status"] == "completed" and status["download_url"] == download_url

    download = alice_client.get(download_url)
    assert download["Content-Disposition"] == f'attachment; filename="{data_export.file_name}"'
    body = b"".join(download.streaming_content)
    assert body == stored.read_bytes()
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(body)).pages)
    assert all(t.purpose in text for t in trips) and "Draft trip" not in text and NAME in text

    client.force_login(bob)
    assert client.get(download_url).status_code == 404
    assert client.get(f"/travel/exports/{data_export.pk}/status").status_code == 404

    expired_at = timezone.now() - timedelta(seconds=1)
    DataExport.objects.filter(pk=data_export.pk).update(expires_at=expired_at)
    client.force_login(zoe)
    expected = f"This export expired on {timezone.localtime(expired_at, ZoneInfo(zoe.profile.timezone)).date()}; create a new one"
    response = client.get(download_url)
    assert (response.status_code, response.content.decode()) == (410, expected)
    status = client.get(f"/travel/exports/{data_export.pk}/status").json()
    assert (status["status"], status["download_url"]) == ("expired", None)
    assert client.get(f"/api/export/status/{data_export.pk}").json()["status"] == "expired"
    # Once pruned (file deleted, record marked expired) the answer stays the same.
    call_command("exports_prune")
    assert not stored.exists()
    response = client.get(download_url)
    assert (response.status_code, response.content.decode()) == (410, expected)


def test_download_of_an_unfinished_export_is_refused(alice_client, alice):
    data_export = DataExport.objects.create(owner=alice, export_type="per_diem", export_format="pdf")
    response = alice_client.get(f"/travel/exports/{data_export.pk}/download")
    assert response.status_code == 409
    assert response.content == f"Export #{data_export.pk} is pending, not ready.".encode()


def test_exports_of_other_kinds_are_not_served_here(alice_client, alice):
    gdpr = DataExport.objects.create(owner=alice, export_type="gdpr", export_format="zip", status="completed")
    assert alice_client.get(f"/travel/exports/{gdpr.pk}/download").status_code == 404


def test_pdf_too_large_to_lay_out_is_refused_with_a_reason(alice_client, alice, settings):
    settings.TRAVEL_PDF_MAX_ROWS = 2
    for n in range(3):
        make_mileage(alice, purpose=f"T{n}")
    response = alice_client.get("/mileage/export/pdf?search=T", follow=True)
    assert response.redirect_chain == [("/mileage/?search=T", 302)]
    assert [str(m) for m in response.context["messages"]] == [
        "PDF export failed: A PDF holds at most 2 rows and these filters match 3; narrow the filters or export CSV."
    ]
    assert not DataExport.objects.exists()


def test_markup_in_user_text_is_printed_not_interpreted(alice_client, alice):
    make_mileage(alice, purpose='<img src="/etc/passwd"><b>bold</b>', notes="x")
    (page,) = pdf_pages(alice_client.get("/mileage/export/pdf"))
    # The narrow column wraps the text, inside words too (overflow-wrap): compare without spaces.
    assert '<imgsrc="/etc/passwd"><b>bold</b>' in "".join(page.split())


def test_background_export_keeps_filtering_on_a_deleted_client(alice):
    gone = Client.objects.create(name="Gone")
    make_mileage(alice, purpose="Other client trip")
    data_export = pdf_export_queue(report=MILEAGE, user=alice, filters=TravelFilters(client=gone))
    gone.delete()
    travel_pdf_export_build.delay(data_export.pk)
    data_export.refresh_from_db()
    assert (data_export.status, data_export.record_count) == ("completed", 0)


def test_pdf_wraps_a_long_unbroken_route_and_keeps_large_amounts_in_their_column(alice_client, alice, tmp_path):
    from_place, to_place = "A" * 200, "B" * 200
    make_mileage(alice, from_location=from_place, to_location=to_place, distance=Decimal("9999999.99"),
                 rate_per_unit=Decimal("99.999"))  # fmt: skip
    response = alice_client.get("/mileage/export/pdf")
    (page,) = pdf_pages(response)
    assert from_place in page.replace("\n", "") and to_place in page.replace("\n", "")
    assert "999989999.00" in page

    # Where each word landed: nothing past the page's right margin (A4 landscape, 1 cm).
    pdf = tmp_path / "mileage.pdf"
    pdf.write_bytes(response.content)
    boxes = subprocess.run(["pdftotext", "-bbox", str(pdf), "-"], check=True, capture_output=True, text=True).stdout
    words = [(float(x_min), float(x_max), word) for x_min, x_max, word in WORD_BOX.findall(boxes)]
    page_width = float(re.search(r'<page width="([\d.]+)"', boxes).group(1))
    assert max(x_max for _, x_max, _ in words) <= page_width - 28
    amount = next(box for box in words if box[2] == "999989999.00")
    rate = next(box for box in words if box[2] == "99.999/km")
    assert rate[1] < amount[0]


def test_background_pdf_expires_seven_days_after_it_was_asked_for_not_after_it_finished(
    alice_client, alice, settings, monkeypatch, django_capture_on_commit_callbacks
):
    settings.TRAVEL_PDF_SYNC_MAX_ROWS = 0
    make_mileage(alice, purpose="Trip")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert alice_client.get("/mileage/export/pdf").status_code == 302
    data_export = DataExport.objects.get()
    asked_at = data_export.created_at
    assert data_export.expires_at == asked_at + timedelta(days=7)

    # The worker gets to it two days later.
    later = asked_at + timedelta(days=2)
    monkeypatch.setattr(timezone, "now", lambda: later)
    for callback in callbacks:
        callback()

    data_export.refresh_from_db()
    assert (data_export.status, data_export.completed_at) == ("completed", later)
    assert (data_export.created_at, data_export.expires_at) == (asked_at, asked_at + timedelta(days=7))


def pdf_lines(response) -> list[str]:
    return [line.strip() for page in pdf_pages(response) for line in page.splitlines()]


def pdf_word_boxes(response, tmp_path) -> dict[str, tuple[float, float]]:
    """Each word's left and right edge (the last one of a word printed twice)."""
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(response.content)
    boxes = subprocess.run(["pdftotext", "-bbox", str(pdf), "-"], check=True, capture_output=True, text=True).stdout
    return {word: (float(x_min), float(x_max)) for x_min, x_max, word in WORD_BOX.findall(boxes)}


@pytest.mark.parametrize(
    ("daily_rate", "amount"), [("12345.67", "1234567.00"), ("9999999.99", "999999999.00")]
)
def test_per_diem_pdf_keeps_amounts_up_to_the_largest_and_status_words_on_one_line(
    alice_client, alice, tmp_path, daily_rate, amount
):
    make_per_diem(alice, start_date=date(2024, 1, 1), end_date=date(2024, 4, 9), full_days=100, partial_days=0,
                  daily_rate=Decimal(daily_rate), status="submitted")  # fmt: skip
    response = alice_client.get("/per-diem/export/pdf")
    lines = pdf_lines(response)
    # The row's amount and the totals row's, each whole on its line; the header and the status intact.
    assert lines.count(amount) == 2
    assert "Days (F / P)" in lines and "Submitted" in lines
    assert lines[lines.index("Total"):] == ["Total", "1 claim", "100 / 0", amount]
    words = pdf_word_boxes(response, tmp_path)
    assert words[amount][1] < words["Submitted"][0]


def test_mileage_pdf_keeps_status_words_on_one_line(alice_client, alice, tmp_path):
    make_mileage(alice, status="reimbursed", distance=Decimal("9999999.99"), rate_per_unit=Decimal("99.999"))
    response = alice_client.get("/mileage/export/pdf")
    lines = pdf_lines(response)
    assert "Reimbursed" in lines and lines.count("999989999.00") == 2
    words = pdf_word_boxes(response, tmp_path)
    assert words["999989999.00"][1] < words["Reimbursed"][0]
