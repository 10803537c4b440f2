"""Travel dates lie within 1900–2200, on every way in; the admin's date hierarchy never 500s."""

from datetime import date

import pytest

from timetracker.models import Mileage, PerDiem

from .factories import make_mileage, make_per_diem
from .test_api import auth

MILEAGE_PAYLOAD = {"purpose": "Fair", "from_location": "Berlin", "to_location": "Hannover", "distance": "10",
                   "unit": "km", "rate_per_unit": "0.30"}  # fmt: skip
PER_DIEM_PAYLOAD = {"country": "France", "full_days": 1, "daily_rate": "40.00"}


@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01", "1899-12-31", "2201-01-01"])
def test_api_refuses_a_trip_date_outside_the_years_naming_field_and_value(client, alice, api_token, day):
    token = api_token(alice, "write:mileage", "write:per_diem")
    response = client.post("/api/v1/mileage", {**MILEAGE_PAYLOAD, "date": day}, content_type="application/json",
                           **auth(token))  # fmt: skip
    assert (response.status_code, response.json()) == (400, {"date": [f"date: {day} is outside the years 1900–2200."]})
    response = client.post("/api/v1/per-diem", {**PER_DIEM_PAYLOAD, "start_date": "2024-03-04", "end_date": day},
                           content_type="application/json", **auth(token))  # fmt: skip
    assert response.status_code == 400
    assert response.json()["end_date"] == [f"end_date: {day} is outside the years 1900–2200."]
    assert not Mileage.objects.exists() and not PerDiem.objects.exists()


def test_api_accepts_the_first_and_last_day_of_the_years(client, alice, api_token):
    token = api_token(alice, "write:mileage", "write:per_diem")
    for day in ("1900-01-01", "2200-12-31"):
        response = client.post("/api/v1/mileage", {**MILEAGE_PAYLOAD, "date": day}, content_type="application/json",
                               **auth(token))  # fmt: skip
        assert (response.status_code, response.json()["date"]) == (201, day)
    response = client.post("/api/v1/per-diem", {**PER_DIEM_PAYLOAD, "start_date": "2200-12-31",
                           "end_date": "2200-12-31"}, content_type="application/json", **auth(token))  # fmt: skip
    assert response.status_code == 201


def test_page_and_admin_forms_refuse_a_date_outside_the_years(alice_client, alice, charlie_client):
    page = {**MILEAGE_PAYLOAD, "date": "9999-12-31", "status": "draft"}
    response = alice_client.post("/mileage/new/", page)
    assert response.context["form"].errors == {"date": ["date: 9999-12-31 is outside the years 1900–2200."]}
    response = charlie_client.post("/admin/timetracker/perdiem/add/", {
        "owner": alice.pk, "start_date": "0001-01-01", "end_date": "2024-03-04", "country": "Germany", "full_days": "0",
        "partial_days": "0", "daily_rate": "10", "partial_day_rate": "0", "breakfasts_provided": "0",
        "lunches_provided": "0", "dinners_provided": "0", "breakfast_deduction": "0", "lunch_deduction": "0",
        "dinner_deduction": "0", "status": "draft",
    })  # fmt: skip
    assert response.context["adminform"].form.errors == {
        "start_date": ["start_date: 0001-01-01 is outside the years 1900–2200."]
    }
    assert not Mileage.objects.exists() and not PerDiem.objects.exists()


@pytest.mark.parametrize(
    "url",
    [
        "/admin/timetracker/mileage/?date__year=9999",
        "/admin/timetracker/mileage/?date__year=9999&date__month=12",
        "/admin/timetracker/perdiem/?start_date__year=9999",
        "/admin/timetracker/timeentry/?start__year=9999",
    ],
)
def test_admin_date_hierarchy_of_the_last_possible_year_is_a_bad_lookup_not_a_500(charlie_client, alice, url):
    # Rows stored before the years were checked (or written past the models) still show.
    make_mileage(alice, date=date(9999, 12, 31))
    make_per_diem(alice, start_date=date(9999, 12, 29), end_date=date(9999, 12, 31))
    response = charlie_client.get(url)
    assert (response.status_code, response["Location"]) == (302, f"{url.split('?')[0]}?e=1")
    assert charlie_client.get("/admin/timetracker/mileage/?date__year=2024").status_code == 200
    # The changelist itself, with its hierarchy of years, still shows.
    response = charlie_client.get("/admin/timetracker/mileage/")
    assert response.status_code == 200 and "?date__year=9999" in response.content.decode()
