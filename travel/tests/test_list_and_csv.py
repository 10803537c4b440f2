"""List pages, their filters and totals, and the CSV exports of exactly the same rows."""

import csv
import io
from datetime import date
from decimal import Decimal

import pytest

from timetracker.models import Client, Project

from .factories import make_mileage, make_per_diem

BOM = "\ufeff"
MILEAGE_HEADER = (
    "ID,Date,User,Purpose,From,To,Distance,Unit,Round Trip,Total Distance,Rate per Unit,Amount,Status,Project,"
    "Client,Notes\r\n"
)


def csv_body(response) -> bytes:
    return b"".join(response.streaming_content)


def csv_ids(response) -> list[int]:
    text = csv_body(response).decode("utf-8-sig")
    return [int(row["ID"]) for row in csv.DictReader(io.StringIO(text, newline=""))]


def page_ids(response) -> list[int]:
    return [record.pk for record in response.context["rows"]]


def test_mileage_csv_exact_bytes_with_formulas_neutralised(alice_client, alice):
    acme = Client.objects.create(name="Acme")
    website = Project.objects.create(name="Website", client=acme)
    first = make_mileage(
        alice, date=date(2024, 3, 4), purpose='=HYPERLINK("x")', to_location="Potsdam, Brandenburg",
        round_trip=True, project=website, client=acme, notes="-15 min discount",
    )
    second = make_mileage(
        alice, date=date(2024, 3, 10), purpose="Fair", from_location="@home", to_location="Leipzig",
        distance=Decimal("12.5"), unit="mi", rate_per_unit=Decimal("0.655"), status="approved",
        notes="line1\nline2",
    )
    response = alice_client.get("/mileage/export/csv")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="mileage_export_2024-03-04_to_2024-03-10.csv"'
    expected = (
        BOM + MILEAGE_HEADER
        + f'{second.pk},2024-03-10,alice,Fair,\'@home,Leipzig,12.50,mi,No,12.50,0.655,8.19,approved,,,"line1\nline2"\r\n'
        + f'{first.pk},2024-03-04,alice,"\'=HYPERLINK(""x"")",Berlin,"Potsdam, Brandenburg",30.00,km,Yes,60.00,'
        + "0.300,18.00,draft,Website,Acme,'-15 min discount\r\n"
    )
    assert csv_body(response) == expected.encode("utf-8")


def test_per_diem_csv_exact_bytes(alice_client, alice):
    alice.first_name, alice.last_name = "Zoë", "Łukasz 山田"
    alice.save()
    claim = make_per_diem(
        alice, city="\tTab City", breakfasts_provided=2, breakfast_deduction=Decimal("5.60"), notes="+49 call",
    )
    response = alice_client.get("/per-diem/export/csv")
    assert response["Content-Disposition"] == 'attachment; filename="per_diem_export_2024-03-04_to_2024-03-06.csv"'
    expected = (
        BOM
        + "ID,User,Trip Purpose,Start Date,End Date,Country,City,Full Days,Partial Days,Daily Rate,Partial Day Rate,"
        "Breakfasts Provided,Lunches Provided,Dinners Provided,Meal Deductions,Amount,Status,Project,Client,Notes\r\n"
        + f"{claim.pk},Zoë Łukasz 山田,Workshop,2024-03-04,2024-03-06,Germany,'\tTab City,1,2,28.00,14.00,2,0,0,11.20,"
        "44.80,draft,,,'+49 call\r\n"
    )
    assert csv_body(response) == expected.encode("utf-8")


def test_empty_csv_is_header_only_and_named_all(alice_client, alice):
    response = alice_client.get("/mileage/export/csv")
    assert response["Content-Disposition"] == 'attachment; filename="mileage_export_all_to_all.csv"'
    assert csv_body(response) == (BOM + MILEAGE_HEADER).encode()


@pytest.mark.parametrize(
    "query, expected_name",
    [
        ("start_date=2024-03-01&end_date=2024-03-31", "mileage_export_2024-03-01_to_2024-03-31.csv"),
        ("start_date=2024-03-05", "mileage_export_2024-03-05_to_2024-04-02.csv"),
        ("end_date=2024-03-31", "mileage_export_2024-02-27_to_2024-03-31.csv"),
        ("status=approved", "mileage_export_2024-03-10_to_2024-03-10.csv"),
        ("", "mileage_export_2024-02-27_to_2024-04-02.csv"),
    ],
)
def test_file_name_uses_filter_dates_or_else_the_data(alice_client, alice, bob, query, expected_name):
    make_mileage(alice, date=date(2024, 2, 27))
    make_mileage(alice, date=date(2024, 3, 10), status="approved")
    make_mileage(alice, date=date(2024, 4, 2))
    make_mileage(bob, date=date(2023, 1, 1))  # bob's dates must not widen alice's range
    response = alice_client.get(f"/mileage/export/csv?{query}")
    assert response["Content-Disposition"] == f'attachment; filename="{expected_name}"'


def test_per_diem_file_name_spans_first_start_to_last_end(alice_client, alice):
    make_per_diem(alice, start_date=date(2024, 5, 1), end_date=date(2024, 5, 3))
    make_per_diem(alice, start_date=date(2024, 5, 20), end_date=date(2024, 5, 22))
    response = alice_client.get("/per-diem/export/csv")
    assert response["Content-Disposition"] == 'attachment; filename="per_diem_export_2024-05-01_to_2024-05-22.csv"'


@pytest.fixture
def mixed_mileage(alice, bob):
    acme, globex = Client.objects.create(name="Acme"), Client.objects.create(name="Globex")
    website = Project.objects.create(name="Website", client=acme)
    rows = {
        "a": make_mileage(alice, date=date(2024, 3, 1), purpose="Workshop Acme", project=website, client=acme,
                          status="approved"),
        "b": make_mileage(alice, date=date(2024, 3, 15), purpose="Fair", to_location="Hannover Messe",
                          client=globex, status="submitted", round_trip=True),
        "c": make_mileage(alice, date=date(2024, 4, 2), purpose="Bank", notes="workshop follow-up",
                          unit="mi", distance=Decimal(10), rate_per_unit=Decimal("0.655")),
        "bob": make_mileage(bob, date=date(2024, 3, 10), purpose="Workshop bob", client=acme, status="approved"),
    }
    return rows, acme, globex, website


@pytest.mark.parametrize(
    "query, expected",
    [
        ("", ["c", "b", "a"]),
        ("search=workshop", ["c", "a"]),
        ("search=MESSE", ["b"]),
        ("status=approved", ["a"]),
        ("client_id={globex}", ["b"]),
        ("project_id={website}", ["a"]),
        ("start_date=2024-03-02&end_date=2024-03-31", ["b"]),
        ("start_date=2024-03-15", ["c", "b"]),
        ("end_date=2024-03-15", ["b", "a"]),
        ("search=workshop&status=approved&client_id={acme}", ["a"]),
    ],
)
def test_page_and_csv_show_the_same_rows_and_never_another_users(alice_client, mixed_mileage, query, expected):
    rows, acme, globex, website = mixed_mileage
    query = query.format(acme=acme.pk, globex=globex.pk, website=website.pk)
    expected_ids = [rows[key].pk for key in expected]
    page = alice_client.get(f"/mileage/?{query}")
    assert page.status_code == 200
    assert page_ids(page) == expected_ids
    assert csv_ids(alice_client.get(f"/mileage/export/csv?{query}")) == expected_ids
    # The export buttons carry the current filters.
    html = page.content.decode()
    escaped_query = query.replace("&", "&amp;")
    assert f'href="/mileage/export/csv{"?" + escaped_query if query else ""}"' in html
    assert f'href="/mileage/export/pdf{"?" + escaped_query if query else ""}"' in html
    assert rows["bob"].purpose not in html


def test_totals_cover_the_filtered_rows(alice_client, mixed_mileage):
    page = alice_client.get("/mileage/")
    totals = page.context["totals"]
    # a: 30 km × 0.30 = 9.00; b: round trip 60 km → 18.00; c: 10 mi × 0.655 = 6.55
    assert totals == {
        "count": 3, "amount": Decimal("33.55"), "distance_km": Decimal("90.00"), "distance_mi": Decimal("10.00"),
    }
    html = page.content.decode()
    assert '<th id="total-amount">33.55</th>' in html
    assert "90.00 km + 10.00 mi" in html
    assert alice_client.get("/mileage/?status=approved").context["totals"]["amount"] == Decimal("9.00")


def test_admin_sees_everyones_rows(charlie_client, mixed_mileage):
    rows, *_ = mixed_mileage
    page = charlie_client.get("/mileage/?search=workshop")
    assert page_ids(page) == [rows["c"].pk, rows["bob"].pk, rows["a"].pk]
    assert csv_ids(charlie_client.get("/mileage/export/csv?search=workshop")) == page_ids(page)
    # Admins see others' rows but edit them in the admin, not here.
    assert f'/mileage/{rows["bob"].pk}/edit/' not in page.content.decode()


def test_per_diem_filters_agree_and_dates_mean_wholly_inside(alice_client, alice, bob):
    inside = make_per_diem(alice, start_date=date(2024, 3, 4), end_date=date(2024, 3, 6), country="Poland",
                           city="Kraków", status="approved")
    straddling = make_per_diem(alice, start_date=date(2024, 3, 30), end_date=date(2024, 4, 2))
    make_per_diem(bob, start_date=date(2024, 3, 5), end_date=date(2024, 3, 5), full_days=1, partial_days=0)
    query = "start_date=2024-03-01&end_date=2024-03-31"
    assert page_ids(alice_client.get(f"/per-diem/?{query}")) == [inside.pk]
    assert csv_ids(alice_client.get(f"/per-diem/export/csv?{query}")) == [inside.pk]
    assert page_ids(alice_client.get("/per-diem/?search=krak")) == [inside.pk]
    assert page_ids(alice_client.get("/per-diem/")) == [straddling.pk, inside.pk]
    totals = alice_client.get("/per-diem/").context["totals"]
    assert totals == {"count": 2, "amount": Decimal("112.00"), "full_days": 2, "partial_days": 4}


def test_invalid_filter_is_named_on_the_page_and_refused_by_the_export(alice_client, alice):
    make_mileage(alice)
    page = alice_client.get("/mileage/?start_date=2024-13-01&status=approved")
    assert page.status_code == 200
    assert page.context["filter_form"].errors == {"start_date": ["Enter a valid date."]}
    response = alice_client.get("/mileage/export/csv?start_date=2024-13-01")
    assert response.status_code == 400
    assert response.content == b"Invalid filter: start_date: Enter a valid date."
    response = alice_client.get("/mileage/export/csv?start_date=2024-03-31&end_date=2024-03-01")
    assert response.content == b"Invalid filter: end_date: The end date 2024-03-01 is before the start date 2024-03-31."


@pytest.mark.parametrize("url", ["/mileage/", "/per-diem/"])
def test_invalid_filter_lists_nothing_as_its_exports_refuse_it(alice_client, alice, url):
    make_mileage(alice)
    make_per_diem(alice)
    query = "status=bogus&start_date=2024-13-01"
    page = alice_client.get(f"{url}?{query}")
    assert page.status_code == 200
    assert page.context["filter_form"].errors == {
        "status": ["Select a valid choice. bogus is not one of the available choices."],
        "start_date": ["Enter a valid date."],
    }
    assert (page_ids(page), page.context["totals"]) == ([], None)
    html = page.content.decode()
    assert '<span class="error" id="filters-invalid">Fix the filters above: nothing is listed (or exported) while a filter is invalid.</span>' in html
    assert 'id="totals"' not in html
    for export in ("csv", "pdf"):
        response = alice_client.get(f"{url}export/{export}?{query}")
        assert response.status_code == 400
        assert response.content.startswith(b"Invalid filter: status: Select a valid choice.")
    # Valid filters (a page number alone among them) still list the rows with their totals.
    assert len(page_ids(alice_client.get(f"{url}?page=1"))) == 1
    assert alice_client.get(f"{url}?page=1").context["totals"]["count"] == 1


def test_search_folds_the_case_of_any_letter(alice_client, alice):
    # The embedded SQLite set-up folds it too: timetracker/tests/test_sqlite_case_folding.py.
    cologne = [make_mileage(alice, to_location="Köln", date=date(2024, 3, day)) for day in (1, 2)]
    make_mileage(alice, to_location="Bonn")
    krakow = make_per_diem(alice, city="Kraków", country="Polska")
    expected = [cologne[1].pk, cologne[0].pk]
    for term in ("köln", "KÖLN", "Köln"):
        assert page_ids(alice_client.get(f"/mileage/?search={term}")) == expected
        assert csv_ids(alice_client.get(f"/mileage/export/csv?search={term}")) == expected
    assert page_ids(alice_client.get("/per-diem/?search=KRAKÓW")) == [krakow.pk]
