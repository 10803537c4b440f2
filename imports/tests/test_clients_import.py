"""POST /api/import/csv/clients (session, CSRF enforced): the client CSV layout, validation of
every row before anything is written, duplicate detection, updates that change only what the
file carries, and exactly one primary contact per client."""

from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client as BrowserClient

from imports.models import DataImport
from timetracker.models import Client, Contact, Project, TimeEntry

URL = "/api/import/csv/clients"
HEADER = (
    "name,description,contact_person,email,phone,address,default_hourly_rate,status,prepaid_hours_monthly,"
    "prepaid_reset_day,custom_field_erp_id,contact_1_first_name,contact_1_last_name,contact_1_email,"
    "contact_1_is_primary,contact_2_first_name,contact_2_last_name,contact_2_role,contact_2_is_primary\n"
)


def csrf_client(user) -> tuple[BrowserClient, str]:
    client = BrowserClient(enforce_csrf_checks=True)
    client.force_login(user)
    assert client.get("/import-export/").status_code == 200
    return client, client.cookies["csrftoken"].value


def post(client, token, content: str | bytes, *, query: str = "", name="clients.csv", **fields):
    data = content.encode() if isinstance(content, str) else content
    upload = SimpleUploadedFile(name, data, content_type="text/csv")
    return client.post(f"{URL}{query}", {"file": upload, **fields}, HTTP_X_CSRFTOKEN=token)


@pytest.fixture
def session(charlie):
    return csrf_client(charlie)


def test_imports_clients_with_every_field_custom_fields_and_contacts(session, charlie):
    client, token = session
    content = HEADER + (
        'Acme GmbH,"Shop, hosting",Jane Roe,office@acme.example,+49 30 1,"Hauptstr. 1\nBerlin",95.5,inactive,10,15,'
        "ACME-1,Jane,Roe,jane@acme.example,true,Max,Muster,billing,no\n"
        "Globex,,,,,,,,,,GLX-7,,,,,,,,\n"
    )
    response = post(client, token, content)
    assert response.status_code == 200, response.content
    body = response.json()
    data_import = DataImport.objects.get()
    assert body["success"] is True and body["import_id"] == data_import.pk
    assert body["summary"] == {"total": 2, "successful": 2, "failed": 0, "created": 2, "updated": 0,
                               "unchanged": 0, "skipped": 0, "errors": []}
    assert (data_import.owner, data_import.import_type, data_import.status, data_import.status_message) == (
        charlie, "csv_clients", "completed", "Imported: 2 created, 0 updated, 0 unchanged, 0 duplicates skipped."
    )
    acme = Client.objects.get(name="Acme GmbH")
    assert (acme.description, acme.contact_person, acme.email, acme.phone, acme.address) == (
        "Shop, hosting", "Jane Roe", "office@acme.example", "+49 30 1", "Hauptstr. 1\nBerlin"
    )
    assert (acme.default_hourly_rate, acme.status, acme.prepaid_hours_monthly, acme.prepaid_reset_day) == (
        Decimal("95.50"), "inactive", Decimal("10.00"), 15
    )
    assert acme.custom_fields == {"erp_id": "ACME-1"}
    assert list(acme.contacts.values_list("position", "first_name", "last_name", "email", "role", "is_primary")) == [
        (1, "Jane", "Roe", "jane@acme.example", "contact", True),
        (2, "Max", "Muster", "", "billing", False),
    ]
    globex = Client.objects.get(name="Globex")
    assert (globex.status, globex.default_hourly_rate, globex.prepaid_reset_day, globex.custom_fields) == (
        "active", None, 1, {"erp_id": "GLX-7"}
    )
    assert globex.contacts.count() == 0


def test_every_invalid_cell_is_reported_and_nothing_is_written(session):
    client, token = session
    content = HEADER + (
        "Good,,,,,,,,,,,,,,,,,,\n"
        ",,,not-an-email,,,abc,paused,-1,29,,,,,,,,,\n"
    )
    response = post(client, token, content)
    assert response.status_code == 200
    data_import = DataImport.objects.get()
    assert data_import.status == "failed"
    assert data_import.status_message == "Nothing was imported: 1 of 2 rows are invalid."
    assert data_import.row_errors == [
        {"line": 3, "column": "email", "value": "not-an-email", "message": "not a valid e-mail address"},
        {"line": 3, "column": "default_hourly_rate", "value": "abc", "message": "not a number"},
        {"line": 3, "column": "status", "value": "paused", "message": "must be active, inactive or archived"},
        {"line": 3, "column": "prepaid_hours_monthly", "value": "-1", "message": "must not be negative"},
        {"line": 3, "column": "prepaid_reset_day", "value": "29", "message": "must be a whole number from 1 to 28"},
        {"line": 3, "column": "name", "value": "", "message": "Client name is required"},
    ]
    assert response.json()["summary"]["errors"][0] == (
        'line 3, column "email", value "not-an-email": not a valid e-mail address'
    )
    assert Client.objects.count() == 0


def test_preview_says_whether_confirming_writes_anything(session):
    client, token = session
    content = "name,status\nGood,active\nBad,paused\n"
    blocked = post(client, token, content, preview="1").json()["preview"]
    assert (blocked["would_create"], blocked["will_import"], blocked["not_imported_reason"]) == (
        1, False, "1 of 2 rows are invalid."
    )
    skipping = post(client, token, content, preview="1", skip_invalid="1").json()["preview"]
    assert (skipping["would_create"], skipping["will_import"], skipping["not_imported_reason"]) == (1, True, "")
    assert Client.objects.count() == 0


def test_skip_invalid_imports_the_valid_rows(session):
    client, token = session
    response = post(client, token, "name,status\nGood,active\nBad,paused\n", skip_invalid="1")
    data_import = DataImport.objects.get(pk=response.json()["import_id"])
    assert (data_import.status, data_import.created_records, data_import.failed_records) == (
        "completed_with_errors", 1, 1
    )
    assert list(Client.objects.values_list("name", flat=True)) == ["Good"]


def test_two_primary_contacts_for_one_client_is_an_error(session):
    client, token = session
    content = HEADER + "Acme,,,,,,,,,,,Jane,Roe,,true,Max,Muster,,yes\n"
    post(client, token, content)
    data_import = DataImport.objects.get()
    assert data_import.status == "failed"
    assert data_import.row_errors == [{
        "line": 2, "column": "contact_2_is_primary", "value": "yes",
        "message": "only one contact can be primary; contact 1 already is",
    }]
    assert Client.objects.count() == Contact.objects.count() == 0


def test_first_contact_becomes_primary_when_the_file_names_none(session):
    client, token = session
    post(client, token, "name,contact_1_last_name,contact_2_last_name\nAcme,Roe,Muster\n")
    assert list(Contact.objects.values_list("last_name", "is_primary")) == [("Roe", True), ("Muster", False)]


def test_contact_without_a_name_or_email_is_an_error(session):
    client, token = session
    post(client, token, "name,contact_1_first_name,contact_1_phone\nAcme,,+49 1\n")
    assert DataImport.objects.get().row_errors == [{
        "line": 2, "column": "contact_1_first_name", "value": "",
        "message": "contact 1 needs a first or last name, or an e-mail",
    }]


def test_contact_with_only_an_email_is_imported_and_updated_by_its_email(session):
    client, token = session
    header = "name,contact_1_first_name,contact_1_email,contact_1_phone\n"
    post(client, token, header + "Acme,,billing@acme.example,1\n")
    post(client, token, header + "Acme,,Billing@acme.example,2\n", skip_duplicates="false")
    assert list(Contact.objects.values_list("first_name", "last_name", "email", "phone")) == [
        ("", "", "Billing@acme.example", "2")
    ]


# ---- duplicates ------------------------------------------------------------------------


def test_existing_client_is_skipped_by_default_and_left_alone(session):
    Client.objects.create(name="Acme", email="old@acme.example")
    client, token = session
    response = post(client, token, "name,email\nAcme,new@acme.example\nGlobex,\n")
    body = response.json()
    assert body["summary"]["skipped"] == 1 and body["summary"]["created"] == 1
    assert body["summary"]["errors"] == [
        ('line 2, column "name", value "Acme": Client \'Acme\' already exists (skipped): matches \'Acme\' on name')
    ]
    assert DataImport.objects.get().status == "completed"
    assert Client.objects.get(name="Acme").email == "old@acme.example"
    assert Client.objects.count() == 2


def test_duplicate_matched_on_a_custom_field_by_default(session):
    Client.objects.create(name="Acme Old Name", custom_fields={"erp_id": "A-1"})
    client, token = session
    body = post(client, token, "name,custom_field_erp_id\nAcme New Name,A-1\n").json()
    assert body["summary"]["errors"] == [
        ('line 2, column "custom_field_erp_id", value "A-1": Client \'Acme New Name\' already exists (skipped): '
         "matches 'Acme Old Name' on custom_field_erp_id")
    ]
    assert list(Client.objects.values_list("name", flat=True)) == ["Acme Old Name"]


def test_inactive_client_stays_inactive_and_custom_field_is_updated(session):
    acme = Client.objects.create(
        name="Acme", status="inactive", email="old@acme.example", default_hourly_rate=Decimal(80),
        custom_fields={"erp_id": "A-1", "region": "north"},
    )
    client, token = session
    response = post(
        client, token, "name,email,custom_field_region,custom_field_tier\nAcme,new@acme.example,south,gold\n",
        query="?skip_duplicates=false&duplicate_detection_fields=name",
    )
    assert response.json()["summary"]["updated"] == 1
    acme.refresh_from_db()
    assert (acme.status, acme.email, acme.default_hourly_rate) == ("inactive", "new@acme.example", Decimal("80.00"))
    assert acme.custom_fields == {"erp_id": "A-1", "region": "south", "tier": "gold"}


def test_update_merges_contacts_and_moves_the_primary_flag(session):
    acme = Client.objects.create(name="Acme")
    Contact.objects.create(client=acme, first_name="Jane", last_name="Roe", is_primary=True, phone="1", position=1)
    client, token = session
    post(
        client, token,
        "name,contact_1_first_name,contact_1_last_name,contact_1_phone,contact_2_first_name,contact_2_last_name,"
        "contact_2_is_primary\nAcme,Jane,Roe,2,Max,Muster,true\n",
        skip_duplicates="false",
    )
    assert list(acme.contacts.values_list("position", "first_name", "phone", "is_primary")) == [
        (1, "Jane", "2", False), (2, "Max", "", True),
    ]


def test_unchanged_row_is_counted_as_unchanged(session):
    Client.objects.create(name="Acme", email="a@acme.example")
    client, token = session
    body = post(client, token, "name,email\nAcme,a@acme.example\n", skip_duplicates="0").json()
    assert (body["summary"]["updated"], body["summary"]["unchanged"]) == (0, 1)


def test_row_matching_two_existing_clients_is_an_error(session):
    Client.objects.create(name="Acme")
    Client.objects.create(name="Other", custom_fields={"erp_id": "A-1"})
    client, token = session
    post(client, token, "name,custom_field_erp_id\nAcme,A-1\n", skip_duplicates="false")
    assert DataImport.objects.get().row_errors == [{
        "line": 2, "column": "name", "value": "Acme",
        "message": "matches more than one existing client ('Acme', 'Other'); choose other duplicate detection fields",
    }]


def test_name_taken_when_name_is_not_a_detection_field(session):
    Client.objects.create(name="Acme")
    client, token = session
    post(client, token, "name,custom_field_erp_id\nAcme,A-9\n", query="?duplicate_detection_fields=erp_id")
    assert DataImport.objects.get().row_errors[0]["message"] == (
        "a client named 'Acme' already exists; add \"name\" to the duplicate detection fields to update it"
    )


def test_same_client_twice_in_the_file(session):
    client, token = session
    post(client, token, "name\nAcme\nAcme\n")
    assert DataImport.objects.get().row_errors == [
        {"line": 3, "column": "name", "value": "Acme", "message": "the file already has this client on line 2"}
    ]


def test_unknown_detection_field_is_a_400(session):
    client, token = session
    response = post(client, token, "name\nAcme\n", duplicate_detection_fields="name,vat")
    assert response.status_code == 400
    assert response.json() == {"success": False, "error": 'Unknown duplicate detection field "vat"; use one of: name, email.'}
    assert DataImport.objects.count() == 0


def test_non_admin_cannot_update_a_shared_client_even_one_they_track_time_for(alice):
    acme = Client.objects.create(name="Acme", email="old@acme.example")
    Client.objects.create(name="Globex", email="same@globex.example")
    # One time entry with the client used to be enough to be allowed to change it.
    project = Project.objects.create(name="Web", client=acme)
    TimeEntry.objects.create(owner=alice, project=project, start="2024-01-01T09:00Z", end="2024-01-01T10:00Z")
    client, token = csrf_client(alice)

    response = post(
        client, token, "name,email\nAcme,new@acme.example\nGlobex,same@globex.example\nInitech,hi@initech.example\n",
        skip_duplicates="0",
    )

    data_import = DataImport.objects.get()
    assert response.json()["summary"]["failed"] == 1
    assert (data_import.status, data_import.status_message) == (
        "failed", "Nothing was imported: 1 of 3 rows are invalid."
    )
    assert data_import.row_errors == [{
        "line": 2, "column": "name", "value": "Acme",
        "message": "client 'Acme' already exists and only an admin can update it; "
                   'leave "skip duplicates" on or ask an admin',
    }]
    assert list(Client.objects.order_by("name").values_list("name", "email")) == [
        ("Acme", "old@acme.example"), ("Globex", "same@globex.example"),
    ]


def test_non_admin_skipping_invalid_rows_creates_new_clients_and_changes_no_existing_one(alice):
    Client.objects.create(name="Acme", email="old@acme.example")
    client, token = csrf_client(alice)

    post(client, token, "name,email\nAcme,new@acme.example\nInitech,hi@initech.example\n",
         skip_duplicates="false", skip_invalid="true")

    data_import = DataImport.objects.get()
    assert (data_import.status, data_import.created_records, data_import.updated_records, data_import.failed_records) == (
        "completed_with_errors", 1, 0, 1
    )
    assert list(Client.objects.order_by("name").values_list("name", "email")) == [
        ("Acme", "old@acme.example"), ("Initech", "hi@initech.example"),
    ]


def test_admin_updates_an_existing_client(session):
    Client.objects.create(name="Acme", email="old@acme.example")
    client, token = session
    post(client, token, "name,email\nAcme,new@acme.example\n", skip_duplicates="0")
    assert DataImport.objects.get().updated_records == 1
    assert Client.objects.get().email == "new@acme.example"


# ---- preview, file problems, formulas ----------------------------------------------------


def test_preview_writes_nothing_and_confirming_imports_the_previewed_bytes(session):
    Client.objects.create(name="Acme")
    client, token = session
    response = post(client, token, "name;status\nAcme;inactive\nGlobex;bad\n", preview="1", skip_invalid="1")
    body = response.json()
    preview = body["preview"]
    assert (preview["delimiter"], preview["total_rows"], preview["skipped"], preview["would_create"]) == (";", 2, 1, 0)
    assert preview["duplicate_detection_fields"] == ["name"]
    assert preview["errors"] == [
        {"line": 3, "column": "status", "value": "bad", "message": "must be active, inactive or archived"}
    ]
    assert preview["skipped_rows"][0]["message"] == "Client 'Acme' already exists (skipped): matches 'Acme' on name"
    assert DataImport.objects.count() == 0 and Client.objects.count() == 1

    confirmed = client.post(URL, {"upload_token": body["upload_token"], "skip_invalid": "1"}, HTTP_X_CSRFTOKEN=token)
    assert confirmed.json()["summary"]["skipped"] == 1
    assert DataImport.objects.get().source_file_name == "clients.csv"


def test_confirming_a_preview_with_other_options_is_refused(session):
    Client.objects.create(name="Acme", status="inactive")
    client, token = session
    preview = post(client, token, "name,status\nAcme,active\n", preview="1").json()
    assert (preview["preview"]["skipped"], preview["preview"]["would_update"]) == (1, 0)

    changed = client.post(URL, {"upload_token": preview["upload_token"], "skip_duplicates": "0"}, HTTP_X_CSRFTOKEN=token)

    assert changed.status_code == 400
    assert changed.json() == {
        "success": False, "error": "The options changed since the preview (skip_duplicates); preview the file again.",
    }
    assert DataImport.objects.count() == 0
    assert Client.objects.get().status == "inactive"

    same = client.post(URL, {"upload_token": preview["upload_token"], "skip_duplicates": "1"}, HTTP_X_CSRFTOKEN=token)
    assert (same.status_code, same.json()["summary"]["skipped"]) == (200, 1)
    assert Client.objects.get().status == "inactive"


def test_formula_prefix_is_taken_off_again(session):
    client, token = session
    post(client, token, "name,description,custom_field_note\n'=Acme,'+49 call,'@home\n")
    acme = Client.objects.get()
    assert (acme.name, acme.description, acme.custom_fields) == ("=Acme", "+49 call", {"note": "@home"})


def test_windows_1252_file_with_bom_less_header(session):
    client, token = session
    post(client, token, "name,address\nMüller & Söhne,Straße 1\n".encode("cp1252"))
    assert list(Client.objects.values_list("name", "address")) == [("Müller & Söhne", "Straße 1")]


def test_file_problems_are_400s_and_too_large_is_413(session, settings):
    client, token = session
    no_name = post(client, token, "title,email\nAcme,a@b.example\n")
    assert no_name.status_code == 400
    assert no_name.json()["error"].startswith('No "name" column in the header row (the first line reads "title,email")')
    undecodable = post(client, token, b"name\n\x81\x8d\x8f\x90\x9d\n")
    assert undecodable.status_code == 400
    assert undecodable.json()["error"] == (
        "The file cannot be decoded as UTF-8 or Windows-1252 text; save it as CSV UTF-8."
    )
    duplicate_column = post(client, token, "name,Name\nA,B\n")
    assert duplicate_column.json()["error"] == 'The column "Name" appears twice in the header.'
    settings.MAX_UPLOAD_SIZE = 10
    too_large = post(client, token, "name\nAcme GmbH\n")
    assert too_large.status_code == 413
    assert DataImport.objects.count() == Client.objects.count() == 0


def test_csrf_is_enforced(charlie):
    client = BrowserClient(enforce_csrf_checks=True)
    client.force_login(charlie)
    response = client.post(URL, {"file": SimpleUploadedFile("c.csv", b"name\nAcme\n")})
    assert response.status_code == 403
    assert Client.objects.count() == 0


def test_needs_login(client):
    assert client.post(URL).status_code == 401


def test_two_contacts_with_the_same_name_is_an_error(session):
    client, token = session
    post(client, token, "name,contact_1_first_name,contact_1_last_name,contact_2_first_name,contact_2_last_name\n"
                        "Acme,Jane,Roe,Jane,Roe\n")
    assert DataImport.objects.get().row_errors == [
        {"line": 2, "column": "contact_2_first_name", "value": "Jane", "message": "contact 1 has the same name"}
    ]


def test_two_rows_matching_one_existing_client_is_an_error(session):
    Client.objects.create(name="Acme", custom_fields={"erp_id": "A-1"})
    client, token = session
    post(client, token, "name,custom_field_erp_id\nAcme,\nAcme Renamed,A-1\n", skip_duplicates="false")
    assert DataImport.objects.get().row_errors == [{
        "line": 3, "column": "name", "value": "Acme Renamed",
        "message": "matches the same existing client ('Acme') as line 2",
    }]
    assert list(Client.objects.values_list("name", flat=True)) == ["Acme"]


def test_update_refuses_a_rename_through_a_custom_field_match(session):
    Client.objects.create(name="TierOld", description="old", custom_fields={"tier": "gold"})
    client, token = session
    post(client, token, "name,custom_field_tier,description\nTierNew3,gold,should be new\n", skip_duplicates="false")
    data_import = DataImport.objects.get()
    assert data_import.status == "failed"
    assert data_import.row_errors == [{
        "line": 2, "column": "name", "value": "TierNew3",
        "message": "matches client 'TierOld' on custom_field_tier; to rename a client edit it, "
                   "or choose other duplicate fields",
    }]
    assert list(Client.objects.values_list("name", "description")) == [("TierOld", "old")]


def test_duplicates_inside_the_file_are_found_on_the_detection_fields(session):
    client, token = session
    post(client, token, "name,custom_field_erp_id\nErpA,E-1\nErpB,E-1\n")
    assert DataImport.objects.get().row_errors == [{
        "line": 3, "column": "name", "value": "ErpB",
        "message": "the file already has this client on line 2 (same custom_field_erp_id)",
    }]
    assert Client.objects.count() == 0


def test_names_differing_in_case_unicode_form_or_spaces_are_duplicates(session):
    acme = Client.objects.create(name="Acme GmbH", email="old@acme.example")
    Client.objects.create(name="Caf\u00e9")
    client, token = session
    body = post(client, token, 'name\nACME GMBH\n" acme gmbh "\nCafe\u0301\nFooCase\nfoocase\n').json()
    assert body["summary"]["errors"] == [
        'line 3, column "name", value "acme gmbh": the file already has this client on line 2',
        'line 6, column "name", value "foocase": the file already has this client on line 5',
        ("line 2, column \"name\", value \"ACME GMBH\": Client 'ACME GMBH' already exists (skipped): "
         "matches 'Acme GmbH' on name"),
        ("line 4, column \"name\", value \"Caf\u00e9\": Client 'Caf\u00e9' already exists (skipped): "
         "matches 'Caf\u00e9' on name"),
    ]
    assert Client.objects.count() == 2
    post(client, token, "name,email\nACME GMBH,new@acme.example\n", skip_duplicates="false")
    acme.refresh_from_db()
    assert (acme.name, acme.email) == ("Acme GmbH", "new@acme.example")
    assert Client.objects.count() == 2


def test_numbers_out_of_range_and_long_text(session):
    client, token = session
    post(client, token, "name,default_hourly_rate,prepaid_hours_monthly,prepaid_reset_day,phone\n"
                        f"Acme,1e40,100000,²,{'1' * 65}\n")
    assert DataImport.objects.get().row_errors == [
        {"line": 2, "column": "default_hourly_rate", "value": "1e40",
         "message": "too large (at most 7 digits before the decimal point)"},
        {"line": 2, "column": "prepaid_hours_monthly", "value": "100000",
         "message": "too large (at most 5 digits before the decimal point)"},
        {"line": 2, "column": "prepaid_reset_day", "value": "²", "message": "must be a whole number from 1 to 28"},
        {"line": 2, "column": "phone", "value": "1" * 65, "message": "longer than 64 characters"},
    ]


def test_decimal_comma_is_read(session):
    client, token = session
    post(client, token, "name;default_hourly_rate\nAcme;95,5\n")
    assert Client.objects.get().default_hourly_rate == Decimal("95.50")


def test_contact_number_out_of_range_is_a_header_error(session):
    client, token = session
    response = post(client, token, "name,contact_40000_first_name\nAcme,Jane\n")
    assert response.status_code == 400
    assert response.json() == {
        "success": False,
        "error": 'The column "contact_40000_first_name" names contact 40000; contacts are numbered 1 to 100.',
    }
    assert post(client, token, "name,contact_100_first_name\nAcme,Jane\n").status_code == 200
    assert list(Contact.objects.values_list("position", "first_name")) == [(100, "Jane")]


def test_row_with_more_cells_than_the_header_is_an_error(session):
    client, token = session
    post(client, token, "name,description,phone\nShift Co,Hello, world,+1 555\nFine Co,,\n")
    data_import = DataImport.objects.get()
    assert (data_import.status, data_import.failed_records) == ("failed", 1)
    assert data_import.row_errors == [
        {"line": 2, "column": "", "value": "Shift Co,Hello, world,+1 555", "message": "4 cell(s), the header has 3 columns"}
    ]
    assert Client.objects.count() == 0


def test_rate_with_a_thousands_comma_or_three_decimals_is_refused(session):
    client, token = session
    post(client, token, 'name,default_hourly_rate\nAcme,"1,000"\nGlobex,12.005\nInitech,12.500\n')
    assert DataImport.objects.get().row_errors == [
        {"line": 2, "column": "default_hourly_rate", "value": "1,000",
         "message": "ambiguous thousands separator: write 1000 or 1.000"},
        {"line": 3, "column": "default_hourly_rate", "value": "12.005", "message": "more than 2 decimal places"},
    ]
    assert Client.objects.count() == 0


def test_a_huge_value_is_shortened_in_the_error(session):
    client, token = session
    post(client, token, f"name,phone\nAcme,{'9' * 3_000_000}\n")
    assert DataImport.objects.get().row_errors == [
        {"line": 2, "column": "phone", "value": "9" * 100 + "\u2026", "message": "longer than 64 characters"}
    ]


def test_client_created_by_another_import_since_the_check_is_named(charlie):
    from imports.clients import (
        ClientCreatedMeanwhile,
        ClientCsvImport,
        ClientImportOptions,
    )
    from imports.services import csv_text_store, stored_file_path

    stored = csv_text_store(user=charlie, text="name\nAlpha\nBeta\n")
    run = ClientCsvImport(user=charlie, path=stored_file_path(stored), options=ClientImportOptions())
    assert [d.action for d in run.check().decisions] == ["create", "create"]
    Client.objects.create(name="Beta")  # the other import commits between check and write
    with pytest.raises(ClientCreatedMeanwhile) as raised:
        run.write()
    assert str(raised.value) == "client 'Beta' was created by another import meanwhile; import the file again"
    assert list(Client.objects.values_list("name", flat=True)) == ["Beta"]
