"""Create, edit and delete through the pages; amounts come from the model; owners only."""

from decimal import Decimal

from timetracker.models import Client, Mileage, PerDiem, Project

from .factories import make_mileage, make_per_diem


def test_create_mileage_computes_amount_and_doubles_round_trip(alice_client, alice):
    response = alice_client.post(
        "/mileage/new/",
        {
            "date": "2024-03-04", "purpose": "Site visit", "from_location": "Berlin", "to_location": "Leipzig",
            "distance": "190.5", "unit": "km", "round_trip": "on", "rate_per_unit": "0.30", "status": "draft",
            "notes": "",
        },
    )
    assert response.status_code == 302
    mileage = Mileage.objects.get(owner=alice)
    assert mileage.total_distance == Decimal("381.00")
    assert mileage.amount == Decimal("114.30")


def test_amount_posted_by_a_user_is_ignored(alice_client, alice):
    alice_client.post(
        "/mileage/new/",
        {"date": "2024-03-04", "purpose": "x", "from_location": "a", "to_location": "b", "distance": "10",
         "unit": "mi", "rate_per_unit": "0.655", "status": "draft", "amount": "9999"},
    )
    assert Mileage.objects.get(owner=alice).amount == Decimal("6.55")


def test_create_per_diem_subtracts_meals_and_floors_at_zero(alice_client, alice):
    base = {
        "start_date": "2024-03-04", "end_date": "2024-03-06", "country": "Germany", "city": "Hamburg",
        "purpose": "Workshop", "full_days": "1", "partial_days": "2", "daily_rate": "28.00",
        "partial_day_rate": "14.00", "breakfasts_provided": "2", "breakfast_deduction": "5.60",
        "lunches_provided": "1", "lunch_deduction": "11.20", "dinners_provided": "0", "dinner_deduction": "11.20",
        "status": "submitted", "notes": "",
    }
    assert alice_client.post("/per-diem/new/", base).status_code == 302
    # 1 × 28 + 2 × 14 − (2 × 5.60 + 1 × 11.20) = 33.60
    assert PerDiem.objects.get(owner=alice).amount == Decimal("33.60")
    alice_client.post("/per-diem/new/", {**base, "purpose": "Catered", "dinners_provided": "3", "dinner_deduction": "30"})
    assert PerDiem.objects.get(purpose="Catered").amount == Decimal("0.00")


def test_per_diem_dates_and_days_are_checked_with_clear_errors(alice_client, alice):
    base = {
        "start_date": "2024-03-06", "end_date": "2024-03-04", "country": "Germany", "full_days": "1",
        "partial_days": "0", "daily_rate": "28", "partial_day_rate": "0", "breakfasts_provided": "0",
        "breakfast_deduction": "0", "lunches_provided": "0", "lunch_deduction": "0", "dinners_provided": "0",
        "dinner_deduction": "0", "status": "draft",
    }
    response = alice_client.post("/per-diem/new/", base)
    assert response.status_code == 200
    assert response.context["form"].errors["end_date"] == ["The end date must be on or after the start date."]
    assert not PerDiem.objects.exists()
    response = alice_client.post("/per-diem/new/", {**base, "end_date": "2024-03-07", "full_days": "1", "partial_days": "1"})
    assert response.status_code == 302
    assert PerDiem.objects.count() == 1
    response = alice_client.post("/per-diem/new/", {**base, "end_date": "2024-03-07", "full_days": "3", "partial_days": "1"})
    assert response.context["form"].errors["partial_days"] == [
        "Full and partial days add up to 4, but the trip lasts 2 day(s)."
    ]
    assert PerDiem.objects.count() == 1
    # A meal deduction is never negative (it would raise the amount), and no more meals than days.
    response = alice_client.post(
        "/per-diem/new/",
        {**base, "end_date": "2024-03-07", "breakfasts_provided": "1", "breakfast_deduction": "-500",
         "lunches_provided": "3"},
    )  # fmt: skip
    assert response.context["form"].errors["breakfast_deduction"] == [
        "Ensure this value is greater than or equal to 0."
    ]
    assert response.context["form"].errors["lunches_provided"] == ["3 meals provided, but the trip lasts 2 day(s)."]
    assert PerDiem.objects.count() == 1


def test_project_of_another_client_is_refused(alice_client, alice):
    acme, globex = Client.objects.create(name="Acme"), Client.objects.create(name="Globex")
    website = Project.objects.create(name="Website", client=acme)
    data = {"date": "2024-03-04", "purpose": "x", "from_location": "a", "to_location": "b", "distance": "10",
            "unit": "km", "rate_per_unit": "0.3", "status": "draft", "project": website.pk}
    response = alice_client.post("/mileage/new/", {**data, "client": globex.pk})
    assert response.context["form"].errors["client"] == ["Project “Website” belongs to client “Acme”, not “Globex”."]
    assert not Mileage.objects.exists()
    alice_client.post("/mileage/new/", data)
    assert Mileage.objects.get().client == acme


def test_owner_edits_and_deletes(alice_client, alice):
    mileage = make_mileage(alice)
    response = alice_client.post(
        f"/mileage/{mileage.pk}/edit/",
        {"date": "2024-03-05", "purpose": "Changed", "from_location": "a", "to_location": "b", "distance": "50",
         "unit": "km", "rate_per_unit": "0.30", "status": "submitted"},
    )
    assert response.status_code == 302
    mileage.refresh_from_db()
    assert (mileage.purpose, mileage.amount, mileage.status) == ("Changed", Decimal("15.00"), "submitted")
    assert alice_client.post(f"/mileage/{mileage.pk}/delete/").status_code == 302
    assert not Mileage.objects.exists()


def test_other_users_records_answer_404(bob_client, alice, charlie):
    mileage, per_diem = make_mileage(alice), make_per_diem(alice)
    for url in (f"/mileage/{mileage.pk}/edit/", f"/mileage/{mileage.pk}/delete/",
                f"/per-diem/{per_diem.pk}/edit/", f"/per-diem/{per_diem.pk}/delete/"):
        assert bob_client.get(url).status_code == 404
        assert bob_client.post(url, {"purpose": "hijacked"}).status_code == 404
    assert Mileage.objects.get().purpose == "Client visit"
    assert PerDiem.objects.count() == 1


def test_pages_need_login(client):
    response = client.get("/mileage/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
