"""Admin: search, filters and the export actions."""

import csv
import io
from datetime import date
from decimal import Decimal

from pypdf import PdfReader

from exports.models import DataExport
from timetracker.models import Client, Mileage, PerDiem, Project

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


def test_admin_refuses_a_per_diem_claiming_more_days_than_the_trip(charlie_client, alice):
    data = {
        "owner": alice.pk, "start_date": "2024-03-04", "end_date": "2024-03-04", "country": "Germany", "city": "",
        "purpose": "", "project": "", "client": "", "full_days": "10", "partial_days": "5", "daily_rate": "100",
        "partial_day_rate": "50", "breakfasts_provided": "0", "lunches_provided": "0", "dinners_provided": "0",
        "breakfast_deduction": "0", "lunch_deduction": "0", "dinner_deduction": "0", "status": "draft", "notes": "",
    }  # fmt: skip
    response = charlie_client.post("/admin/timetracker/perdiem/add/", data)

    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {
        "partial_days": ["Full and partial days add up to 15, but the trip lasts 1 day(s)."]
    }
    assert not PerDiem.objects.exists()

    response = charlie_client.post("/admin/timetracker/perdiem/add/", {**data, "full_days": "1", "partial_days": "0"})
    assert response.status_code == 302
    assert PerDiem.objects.get().amount == Decimal("100.00")


def test_admin_refuses_a_mileage_whose_project_belongs_to_another_client(charlie_client, alice):
    acme, globex = Client.objects.create(name="Acme"), Client.objects.create(name="Globex")
    website = Project.objects.create(name="Website", client=acme)
    data = {
        "owner": alice.pk, "date": "2024-03-04", "project": website.pk, "client": globex.pk, "purpose": "Visit",
        "from_location": "Berlin", "to_location": "Potsdam", "distance": "10", "unit": "km", "rate_per_unit": "0.3",
        "status": "draft", "notes": "",
    }  # fmt: skip
    response = charlie_client.post("/admin/timetracker/mileage/add/", data)

    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {
        "client": ["Project “Website” belongs to client “Acme”, not “Globex”."]
    }
    assert not Mileage.objects.exists()

    # Without a client, the project's client is filled in, as on the page and in the API.
    response = charlie_client.post("/admin/timetracker/mileage/add/", {**data, "client": ""})
    assert response.status_code == 302
    assert (Mileage.objects.get().client, Mileage.objects.get().amount) == (acme, Decimal("3.00"))
