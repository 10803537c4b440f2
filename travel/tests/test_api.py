"""DRF v1 endpoints: scopes, ownership, computed amounts, filters and totals."""

from datetime import date
from decimal import Decimal

import pytest

from timetracker.models import Mileage, PerDiem

from .factories import make_mileage, make_per_diem


def auth(raw: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


@pytest.mark.parametrize(
    "method, url, scope",
    [
        ("get", "/api/v1/mileage", "read:mileage"),
        ("post", "/api/v1/mileage", "write:mileage"),
        ("get", "/api/v1/per-diem", "read:per_diem"),
        ("post", "/api/v1/per-diem", "write:per_diem"),
    ],
)
def test_each_endpoint_needs_its_scope(client, alice, api_token, method, url, scope):
    other = {"read:mileage": "read:per_diem", "write:mileage": "read:mileage",
             "read:per_diem": "read:mileage", "write:per_diem": "read:per_diem"}[scope]
    response = getattr(client, method)(url, {}, content_type="application/json", **auth(api_token(alice, other)))
    assert response.status_code == 403
    assert response.json() == {
        "error": "Insufficient permissions",
        "message": f"This token lacks the scope {scope}.",
        "error_code": "forbidden",
        "required_scope": scope,
        "available_scopes": [other],
    }
    assert getattr(client, method)(url, {}, content_type="application/json").status_code == 401
    # With the scope the request gets past the permission check: a list, or field errors for an empty body.
    response = getattr(client, method)(url, {}, content_type="application/json", **auth(api_token(alice, scope)))
    assert response.status_code == (200 if method == "get" else 400)
    if method == "post":
        assert "This field is required." in str(response.json())


def test_list_with_scope_shows_own_rows_filters_and_totals(client, alice, bob, api_token):
    kept = make_mileage(alice, date=date(2024, 3, 10), status="approved", round_trip=True)
    make_mileage(alice, date=date(2024, 2, 1), status="approved")
    make_mileage(bob, date=date(2024, 3, 11), status="approved")
    response = client.get(
        "/api/v1/mileage?status=approved&start_date=2024-03-01", **auth(api_token(alice, "read:mileage"))
    )
    assert response.status_code == 200
    body = response.json()
    assert [row["id"] for row in body["mileage"]] == [kept.pk]
    row = body["mileage"][0]
    assert (row["user"], row["distance"], row["total_distance"], row["amount"]) == ("alice", "30.00", "60.00", "18.00")
    assert body["totals"] == {"count": 1, "amount": "18.00", "distance_km": "60.00", "distance_mi": "0.00"}
    assert body["pagination"] == {"page": 1, "per_page": 50, "total": 1, "pages": 1}


def test_invalid_filter_is_a_400_naming_it(client, alice, api_token):
    response = client.get("/api/v1/per-diem?end_date=yesterday", **auth(api_token(alice, "read:per_diem")))
    assert response.status_code == 400
    assert response.json() == {"end_date": ["Enter a valid date."]}


def test_create_computes_amount_and_ignores_a_sent_amount(client, alice, api_token):
    response = client.post(
        "/api/v1/mileage",
        {"date": "2024-03-04", "purpose": "Fair", "from_location": "Berlin", "to_location": "Hannover",
         "distance": "285.5", "unit": "km", "round_trip": True, "rate_per_unit": "0.30", "amount": "1.00"},
        content_type="application/json",
        **auth(api_token(alice, "write:mileage")),
    )
    assert response.status_code == 201
    mileage = Mileage.objects.get()
    assert (mileage.owner, mileage.amount) == (alice, Decimal("171.30"))
    assert response.json()["amount"] == "171.30"


def test_per_diem_create_validates_dates_with_a_clear_error(client, alice, api_token):
    token = api_token(alice, "write:per_diem")
    payload = {"start_date": "2024-03-06", "end_date": "2024-03-04", "country": "France", "full_days": 1,
               "daily_rate": "40.00"}
    response = client.post("/api/v1/per-diem", payload, content_type="application/json", **auth(token))
    assert response.status_code == 400
    assert response.json() == {"end_date": ["The end date must be on or after the start date."]}
    assert not PerDiem.objects.exists()
    payload["end_date"] = "2024-03-08"
    response = client.post("/api/v1/per-diem", payload, content_type="application/json", **auth(token))
    assert response.status_code == 201
    assert response.json()["amount"] == "40.00"


def test_amount_too_large_for_its_column_is_a_400_not_a_500(client, alice, api_token):
    # Found by schemathesis: 6,077,518 km at 6,077 a km overflowed the amount column.
    token = api_token(alice, "read:mileage", "write:mileage", "write:per_diem")
    mileage = make_mileage(alice)
    payload = {"date": "2000-01-01", "purpose": "0", "from_location": "0", "to_location": "0",
               "distance": "6077518.", "rate_per_unit": "6077"}
    response = client.put(f"/api/v1/mileage/{mileage.pk}", payload, content_type="application/json", **auth(token))
    assert response.status_code == 400
    assert response.json() == {
        "distance": ["The amount would be 36,933,076,886.00; the largest amount is 999,999,999.99."]
    }
    mileage.refresh_from_db()
    assert mileage.distance != Decimal("6077518")
    payload = {"start_date": "2024-01-01", "end_date": "2024-12-31", "country": "France", "full_days": 366,
               "daily_rate": "9999999.99"}
    response = client.post("/api/v1/per-diem", payload, content_type="application/json", **auth(token))
    assert response.status_code == 400
    assert response.json() == {
        "daily_rate": ["The amount would be 3,659,999,996.34; the largest amount is 999,999,999.99."]
    }
    assert not PerDiem.objects.exists()


def test_update_and_delete_own_records_only(client, alice, bob, api_token):
    mine, theirs = make_per_diem(alice), make_per_diem(bob)
    token = api_token(alice, "read:per_diem", "write:per_diem")
    response = client.patch(f"/api/v1/per-diem/{mine.pk}", {"full_days": 2, "partial_days": 1},
                            content_type="application/json", **auth(token))
    assert response.status_code == 200
    mine.refresh_from_db()
    assert mine.amount == Decimal("70.00")  # 2 × 28 + 1 × 14
    for method in ("get", "patch", "put", "delete"):
        response = getattr(client, method)(f"/api/v1/per-diem/{theirs.pk}", {"full_days": 0},
                                           content_type="application/json", **auth(token))
        assert response.status_code == 404, method
    theirs.refresh_from_db()
    assert theirs.full_days == 1
    assert client.delete(f"/api/v1/per-diem/{mine.pk}", **auth(token)).status_code == 204
    assert list(PerDiem.objects.all()) == [theirs]


def test_admin_token_reads_everyones_rows_but_writes_only_own(client, alice, charlie, api_token):
    trip = make_mileage(alice)
    token = api_token(charlie, "read:mileage", "write:mileage")
    assert client.get(f"/api/v1/mileage/{trip.pk}", **auth(token)).json()["user"] == "alice"
    assert [row["id"] for row in client.get("/api/v1/mileage", **auth(token)).json()["mileage"]] == [trip.pk]
    assert client.delete(f"/api/v1/mileage/{trip.pk}", **auth(token)).status_code == 404
    assert Mileage.objects.filter(pk=trip.pk).exists()


def test_schema_documents_the_endpoints(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    for path in ("/api/v1/mileage", "/api/v1/mileage/{id}", "/api/v1/per-diem", "/api/v1/per-diem/{id}"):
        assert path in schema["paths"]
    assert "start_date" in [p["name"] for p in schema["paths"]["/api/v1/mileage"]["get"]["parameters"]]


def test_totals_are_decimal_strings_with_two_decimals(client, alice, api_token):
    # 3,100 × 0.10 is 309.99999999999... as floats (what SQLite's SUM gives back); whole
    # amounts came back as "3000210" there. Every engine must answer cents.
    hop = {"owner": alice, "date": date(2024, 3, 4), "purpose": "Hop", "from_location": "A", "to_location": "B",
           "distance": Decimal("0.10"), "rate_per_unit": Decimal("1.000"), "amount": Decimal("0.10")}  # fmt: skip
    Mileage.objects.bulk_create(Mileage(**hop) for _ in range(3100))
    for _ in range(3):
        make_per_diem(alice, full_days=1, partial_days=0, daily_rate=Decimal("1000070.00"))

    mileage = client.get("/api/v1/mileage?search=Hop", **auth(api_token(alice, "read:mileage"))).json()
    per_diem = client.get("/api/v1/per-diem?search=Hamburg", **auth(api_token(alice, "read:per_diem"))).json()

    assert mileage["totals"] == {"count": 3100, "amount": "310.00", "distance_km": "310.00", "distance_mi": "0.00"}
    assert per_diem["totals"]["amount"] == "3000210.00"
