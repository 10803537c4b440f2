"""GET /clients/export and the template: the exact layout the client import reads, filters,
who sees which clients, formula cells, and the round trip export -> import."""

import csv
import io
import re
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client as BrowserClient

from imports.models import DataImport
from timetracker.models import Client, Contact, Project, TimeEntry

EXPORT_URL = "/clients/export"
CLIENT_HEADER = (
    "name,description,contact_person,email,phone,address,default_hourly_rate,status,prepaid_hours_monthly,"
    "prepaid_reset_day"
)
CONTACT_HEADER = (
    "contact_{n}_first_name,contact_{n}_last_name,contact_{n}_email,contact_{n}_phone,contact_{n}_mobile,"
    "contact_{n}_title,contact_{n}_department,contact_{n}_role,contact_{n}_is_primary,contact_{n}_address,"
    "contact_{n}_notes,contact_{n}_tags"
)


@pytest.fixture
def two_clients(db):
    acme = Client.objects.create(
        name="Acme GmbH", description="Shop, hosting\nand support", contact_person="Jane Roe",
        email="office@acme.example", phone="+49 30 1", address="Hauptstr. 1", default_hourly_rate=Decimal("95.5"),
        status="active", prepaid_hours_monthly=Decimal(10), prepaid_reset_day=15,
        custom_fields={"erp_id": "ACME-1", "region": "=north"},
    )
    Contact.objects.create(client=acme, position=1, first_name="Jane", last_name="Roe", email="jane@acme.example",
                           phone="1", mobile="2", title="CTO", department="IT", role="contact", is_primary=True,
                           address="Room 3", notes="Prefers e-mail", tags="tech;billing")
    Contact.objects.create(client=acme, position=2, first_name="Max", last_name="Muster", role="billing")
    globex = Client.objects.create(name="Globex", status="inactive", custom_fields={"erp_id": "GLX-7"})
    return acme, globex


def test_export_writes_exactly_the_import_layout(charlie_client, two_clients):
    before = datetime.now(UTC).replace(microsecond=0)
    response = charlie_client.get(EXPORT_URL)
    after = datetime.now(UTC)
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    name = re.fullmatch(r'attachment; filename="clients_export_(\d{8}_\d{6})\.csv"', response["Content-Disposition"])
    assert before <= datetime.strptime(name[1], "%Y%m%d_%H%M%S").replace(tzinfo=UTC) <= after
    header = ",".join([
        CLIENT_HEADER, "custom_field_erp_id,custom_field_region", CONTACT_HEADER.format(n=1), CONTACT_HEADER.format(n=2)
    ])
    assert response.content.decode("utf-8") == (
        "\ufeff" + header + "\r\n"
        "Acme GmbH,\"Shop, hosting\nand support\",Jane Roe,office@acme.example,'+49 30 1,Hauptstr. 1,95.50,active,"
        "10.00,15,ACME-1,'=north,"
        "Jane,Roe,jane@acme.example,1,2,CTO,IT,contact,true,Room 3,Prefers e-mail,tech;billing,"
        "Max,Muster,,,,,,billing,false,,,\r\n"
        "Globex,,,,,,,inactive,,1,GLX-7,,"
        ",,,,,,,,,,,,"
        ",,,,,,,,,,,\r\n"
    )


def test_export_and_reimport_gives_the_same_clients_and_contacts(charlie_client, charlie, two_clients):
    def snapshot():
        clients = [
            (c.name, c.description, c.contact_person, c.email, c.phone, c.address, c.default_hourly_rate, c.status,
             c.prepaid_hours_monthly, c.prepaid_reset_day, c.custom_fields)
            for c in Client.objects.order_by("name")
        ]
        contacts = list(Contact.objects.order_by("client__name", "position").values_list(
            "client__name", "position", "first_name", "last_name", "email", "phone", "mobile", "title", "department",
            "role", "is_primary", "address", "notes", "tags",
        ))
        return clients, contacts

    exported = charlie_client.get(EXPORT_URL).content
    original = snapshot()
    Client.objects.all().delete()

    upload = SimpleUploadedFile("clients_export.csv", exported, content_type="text/csv")
    response = charlie_client.post("/api/import/csv/clients", {"file": upload})
    assert response.json()["summary"]["created"] == 2, response.content
    assert snapshot() == original
    # Importing the same file again finds every client and changes nothing.
    again = charlie_client.post(
        "/api/import/csv/clients?skip_duplicates=false", {"file": SimpleUploadedFile("c.csv", exported)}
    )
    assert (again.json()["summary"]["unchanged"], again.json()["summary"]["created"]) == (2, 0)
    assert snapshot() == original
    assert charlie_client.get(EXPORT_URL).content == exported


def test_export_filters_by_status_and_search(charlie_client, two_clients):
    def names(query):
        text = charlie_client.get(EXPORT_URL + query).content.decode("utf-8-sig")
        return [row[0] for row in list(csv.reader(io.StringIO(text)))[1:]]

    assert names("") == ["Acme GmbH", "Globex"]
    assert names("?status=inactive") == ["Globex"]
    assert names("?status=active") == ["Acme GmbH"]
    assert names("?status=archived") == []
    assert names("?search=jane") == ["Acme GmbH"]
    assert names("?search=GLOB&status=inactive") == ["Globex"]


UNKNOWN_STATUS = 'Unknown status "weird"; use one of: active, inactive, archived (or leave it empty for all).'


def test_export_refuses_an_unknown_status(charlie_client, charlie, api_token, client, two_clients):
    response = charlie_client.get(f"{EXPORT_URL}?status=weird")
    assert (response.status_code, response.content.decode()) == (400, UNKNOWN_STATUS)

    raw = api_token(charlie, "read:clients")
    response = client.get("/api/v1/clients/export?status=weird", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert (response.status_code, response.json()) == (400, {"success": False, "error": UNKNOWN_STATUS})

    # Empty is "every status", as when the parameter is left out.
    response = client.get("/api/v1/clients/export?status=", HTTP_AUTHORIZATION=f"Bearer {raw}")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))[1:]
    assert (response.status_code, [row[0] for row in rows]) == (200, ["Acme GmbH", "Globex"])


def test_only_an_admin_exports_all_clients(alice_client, alice, two_clients):
    acme, _ = two_clients
    project = Project.objects.create(name="Web", client=acme)
    empty = alice_client.get(EXPORT_URL).content.decode("utf-8-sig")
    assert empty == CLIENT_HEADER + "\r\n"
    TimeEntry.objects.create(owner=alice, project=project, start="2024-01-01T09:00Z", end="2024-01-01T10:00Z")
    rows = list(csv.reader(io.StringIO(alice_client.get(EXPORT_URL).content.decode("utf-8-sig"))))
    assert [row[0] for row in rows[1:]] == ["Acme GmbH"]


def test_export_needs_login(client):
    response = client.get(EXPORT_URL)
    assert (response.status_code, response["Location"]) == (302, "/accounts/login/?next=/clients/export")


def test_template_downloads_and_imports_as_is(charlie):
    client = BrowserClient()
    client.force_login(charlie)
    response = client.get("/api/import/template/csv/clients")
    assert response["Content-Disposition"] == 'attachment; filename="timetracker_clients_import_template.csv"'
    template = response.content
    assert template.decode().split("\r\n")[0] == ",".join(
        [CLIENT_HEADER, "custom_field_erp_id", CONTACT_HEADER.format(n=1)]
    )
    client.post("/api/import/csv/clients", {"file": SimpleUploadedFile("t.csv", template)})
    assert DataImport.objects.get().status == "completed"
    assert list(Client.objects.values_list("name", "status", "custom_fields")) == [
        ("Acme GmbH", "active", {"erp_id": "ACME-001"}), ("Globex Ltd", "inactive", {"erp_id": "GLX-7"}),
    ]
    assert list(Contact.objects.values_list("first_name", "is_primary", "tags")) == [("Jane", True, "tech;billing")]


def test_page_links_template_and_export(alice_client):
    html = alice_client.get("/import-export/").content.decode()
    assert 'href="/api/import/template/csv/clients"' in html
    assert 'action="/api/import/csv/clients"' in html
    assert 'action="/clients/export"' in html


def test_non_text_custom_fields_and_a_nameless_contact_round_trip_unchanged(charlie_client):
    acme = Client.objects.create(name="Acme", custom_fields={"flag": True, "meta": {"a": 1}, "seats": 3})
    Contact.objects.create(client=acme, position=1, email="billing@acme.example", is_primary=True)
    exported = charlie_client.get(EXPORT_URL).content
    row = exported.decode("utf-8-sig").split("\r\n")[1]
    assert row == 'Acme,,,,,,,active,,1,true,"{""a"": 1}",3,,,billing@acme.example,,,,,contact,true,,,'

    again = charlie_client.post(
        "/api/import/csv/clients?skip_duplicates=false", {"file": SimpleUploadedFile("c.csv", exported)}
    )
    summary = again.json()["summary"]
    assert (summary["unchanged"], summary["updated"], summary["created"], summary["errors"]) == (1, 0, 0, [])
    acme.refresh_from_db()
    assert acme.custom_fields == {"flag": True, "meta": {"a": 1}, "seats": 3}
    assert list(acme.contacts.values_list("first_name", "email", "is_primary")) == [("", "billing@acme.example", True)]


def test_update_keeps_the_type_of_a_custom_field_whose_text_is_unchanged(charlie_client):
    acme = Client.objects.create(name="Acme", custom_fields={"flag": True, "seats": 3})
    charlie_client.post(
        "/api/import/csv/clients?skip_duplicates=false",
        {"file": SimpleUploadedFile("c.csv", b"name,custom_field_flag,custom_field_seats\nAcme,true,4\n")},
    )
    acme.refresh_from_db()
    assert acme.custom_fields == {"flag": True, "seats": "4"}


def test_a_contact_without_name_or_email_cannot_be_saved_through_a_form(db):
    from django.core.exceptions import ValidationError

    acme = Client.objects.create(name="Acme")
    with pytest.raises(ValidationError, match="A contact needs a first or last name, or an e-mail address."):
        Contact(client=acme, phone="+49 1").full_clean()
    Contact(client=acme, email="billing@acme.example").full_clean()
