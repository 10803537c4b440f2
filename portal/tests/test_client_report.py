import datetime as dt

import pytest
from django.utils import timezone

from portal.tests.conftest import add_entry
from timetracker.models import UserProfile

pytestmark = pytest.mark.django_db


def today():
    return timezone.now().astimezone(dt.UTC).date()


def day(days_ago: int) -> str:
    return (today() - dt.timedelta(days=days_ago)).isoformat()


def test_report_shows_hours_per_project_and_day_with_totals(dana_client, acme_hours):
    response = dana_client.get("/portal/")

    assert response.status_code == 200
    report = response.context["report"]
    assert report.period.days == 30
    assert [(p.name, str(p.hours), str(p.billable_hours)) for p in report.projects] == [
        ("Legacy", "1.00", "1.00"),
        ("Support", "1.00", "0.75"),
        ("Website", "3.50", "3.50"),
    ]
    assert [(d.date.isoformat(), str(d.hours)) for d in report.days] == [
        (day(10), "0.75"),
        (day(2), "1.00"),
        (day(1), "2.25"),
        (day(0), "1.50"),
    ]
    assert (str(report.total_hours), str(report.billable_hours)) == ("5.50", "5.25")
    assert [e.notes for e in response.context["entries"]] == ["Landing page", "Call", "Checkout", "Migration", "Tickets"]
    assert b'<span data-total-hours>5.50</span>' in response.content


def test_a_portal_contact_never_sees_another_clients_data(dana_client, acme_hours):
    page = dana_client.get("/portal/?days=365").content.decode()
    csv = dana_client.get("/portal/reports/?format=csv&days=365").content.decode()

    for text in (page, csv):
        assert "Acme" in text
        assert "Globex" not in text
        assert "8.00" not in text


def test_period_of_seven_days(dana_client, acme_hours):
    report = dana_client.get("/portal/?days=7").context["report"]

    assert [(p.name, str(p.hours), str(p.billable_hours)) for p in report.projects] == [
        ("Legacy", "1.00", "1.00"),
        ("Support", "0.25", "0.00"),
        ("Website", "3.50", "3.50"),
    ]
    assert (str(report.total_hours), str(report.billable_hours)) == ("4.75", "4.50")
    assert (report.period.first_day, report.period.last_day) == (today() - dt.timedelta(days=6), today())


@pytest.mark.parametrize(("asked", "days"), [("1", 7), ("6", 7), ("7", 7), ("90", 90), ("365", 365), ("366", 365), ("-5", 7), ("many", 30), ("", 30)])
def test_period_is_clamped_to_7_to_365_days(dana_client, acme, asked, days):
    assert dana_client.get("/portal/", {"days": asked}).context["report"].period.days == days


def test_csv_download(dana_client, acme_hours):
    response = dana_client.get("/portal/reports/?format=csv")

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == f'attachment; filename="client-report-{day(0)}.csv"'
    expected = (
        "\ufeffAcme,Last 30 days\r\n"
        "\r\n"
        "Summary\r\n"
        "Total Hours,5.50\r\n"
        "Billable Hours,5.25\r\n"
        "\r\n"
        "Hours by Project\r\n"
        "Project,Hours,Billable Hours\r\n"
        "Legacy,1.00,1.00\r\n"
        "Support,1.00,0.75\r\n"
        "Website,3.50,3.50\r\n"
        "\r\n"
        "Time by Date\r\n"
        "Date,Hours\r\n"
        f"{day(10)},0.75\r\n"
        f"{day(2)},1.00\r\n"
        f"{day(1)},2.25\r\n"
        f"{day(0)},1.50\r\n"
    )
    assert response.content == expected.encode()


def test_csv_of_an_empty_period_and_formula_like_names(dana_client, acme):
    acme.name = "=HYPERLINK(1)"
    acme.save()

    response = dana_client.get("/portal/reports/?format=csv&days=7")

    assert response.content.decode() == (
        "\ufeff'=HYPERLINK(1),Last 7 days\r\n"
        "\r\nSummary\r\nTotal Hours,0.00\r\nBillable Hours,0.00\r\n"
        "\r\nHours by Project\r\nProject,Hours,Billable Hours\r\n"
        "\r\nTime by Date\r\nDate,Hours\r\n"
    )


def test_days_follow_the_contacts_time_zone(dana_client, dana, acme_hours):
    UserProfile.objects.filter(user=dana).update(timezone="Europe/Berlin")
    # 23:30 UTC yesterday is 00:30 today in Berlin.
    entry = add_entry(dana, acme_hours["support"], days_ago=1, hour=23, seconds=600)
    entry.start += dt.timedelta(minutes=30)
    entry.end += dt.timedelta(minutes=30)
    entry.save()

    report = dana_client.get("/portal/?days=7").context["report"]

    assert [(d.date.isoformat(), d.seconds) for d in report.days][-2:] == [(day(1), 8100), (day(0), 6000)]


def test_report_queries_do_not_grow_with_the_entries(dana_client, acme_hours, django_assert_num_queries):
    # session, user, client, profile (time zone), hours per project, projects, hours per day,
    # entry count, entries (with project, task and owner joined)
    with django_assert_num_queries(9):
        response = dana_client.get("/portal/?days=365")

    assert len(response.context["entries"]) == 6
