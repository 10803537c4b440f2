"""Admin: search, filters and the export actions."""

import csv
import io
from datetime import date

from pypdf import PdfReader

from exports.models import DataExport

from .factories import make_mileage, make_per_diem


def test_changelist_search_and_filters(charlie_client, alice, bob):
    make_mileage(alice, purpose="Fair Hannover", status="approved")
    make_mileage(bob, purpose="Bank", status="draft")
    response = charlie_client.get("/admin/timetracker/mileage/?q=hannover")
    assert [m.purpose for m in response.context["cl"].result_list] == ["Fair Hannover"]
    response = charlie_client.get("/admin/timetracker/mileage/?status__exact=draft")
    assert [m.purpose for m in response.context["cl"].result_list] == ["Bank"]


def test_export_selected_as_csv(charlie_client, alice, bob):
    first = make_mileage(alice, date=date(2024, 3, 1), purpose="=cmd")
    second = make_mileage(bob, date=date(2024, 3, 9), purpose="Visit")
    make_mileage(bob, date=date(2024, 5, 1), purpose="Not selected")
    response = charlie_client.post(
        "/admin/timetracker/mileage/",
        {"action": "export_selected_csv", "_selected_action": [first.pk, second.pk]},
    )
    assert response["Content-Disposition"] == 'attachment; filename="mileage_export_2024-03-01_to_2024-03-09.csv"'
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"), newline="")))
    assert [(r["ID"], r["User"], r["Purpose"]) for r in rows] == [
        (str(second.pk), "bob", "Visit"), (str(first.pk), "alice", "'=cmd"),
    ]


def test_export_selected_as_pdf(charlie_client, alice):
    claim = make_per_diem(alice, purpose="Warszawa summit", city="Warszawa", country="Poland")
    response = charlie_client.post(
        "/admin/timetracker/perdiem/", {"action": "export_selected_pdf", "_selected_action": [claim.pk]}
    )
    assert response["Content-Disposition"] == 'attachment; filename="per_diem_export_2024-03-04_to_2024-03-06.pdf"'
    text = PdfReader(io.BytesIO(response.content)).pages[0].extract_text()
    assert "Warszawa summit" in text and "Selected records: 1" in text and "56.00" in text


def test_large_pdf_selection_goes_to_the_background(charlie_client, alice, charlie, settings,
                                                    django_capture_on_commit_callbacks):
    settings.TRAVEL_PDF_SYNC_MAX_ROWS = 1
    trips = [make_mileage(alice, purpose=f"T{n}") for n in range(2)]
    with django_capture_on_commit_callbacks(execute=True):
        response = charlie_client.post(
            "/admin/timetracker/mileage/",
            {"action": "export_selected_pdf", "_selected_action": [t.pk for t in trips]},
            follow=True,
        )
    data_export = DataExport.objects.get()
    assert (data_export.owner, data_export.status, data_export.record_count) == (charlie, "completed", 2)
    assert data_export.filters["ids"] == sorted(t.pk for t in trips)
    assert f"export #{data_export.pk}" in response.content.decode()


def test_non_staff_cannot_reach_the_admin(alice_client):
    assert alice_client.get("/admin/timetracker/mileage/").status_code == 302
