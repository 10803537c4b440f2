"""The Toggl account-data ZIP export uploaded on the Toggl page."""

import io
import stat
import zipfile
from decimal import Decimal

from django.core.files.uploadedfile import SimpleUploadedFile

from conftest import SAMPLES_DIR
from imports import toggl
from imports.models import DataImport
from timetracker.models import Client, Project, Tag, Task


def upload(client, payload: bytes, name: str = "export.zip"):
    return client.post("/import-export/toggl/", {"export": _file(payload, name)})


def _file(payload: bytes, name: str) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, payload, content_type="application/zip")


def zip_of(members: dict[str, bytes], links: tuple[str, ...] = ()) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in members.items():
            archive.writestr(name, content)
        for name in links:
            info = zipfile.ZipInfo(name)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            archive.writestr(info, "/etc/passwd")
    return buffer.getvalue()


def test_solidtime_toggl_export_fixture(alice_client, alice):
    payload = (SAMPLES_DIR / "solidtime" / "toggl_data_import_test_1.zip").read_bytes()
    response = upload(alice_client, payload, "toggl_data_import_test_1.zip")
    assert response.status_code == 302
    data_import = DataImport.objects.get()
    assert (data_import.import_type, data_import.status, data_import.source_file_name) == (
        "toggl_export", "completed", "toggl_data_import_test_1.zip")
    assert data_import.summary == {
        "created": {"clients": 2, "projects": 3, "tasks": 2, "tags": 2},
        "kept": {"clients": 0, "projects": 0, "tasks": 0, "tags": 0},
        # alice is no admin: users are not matched against the accounts here.
        "users": {"in_export": 1, "matched_by_email": False},
    }
    assert list(Client.objects.values_list("name", "status")) == [
        ("Big Company", "active"), ("Other Company (Archived)", "archived")]
    projects = {p.name: p for p in Project.objects.select_related("client")}
    assert sorted(projects) == ["Project (Archived)", "Project for Big Company", "Project without Client"]
    big = projects["Project for Big Company"]
    assert (big.client.name, big.billable, str(big.hourly_rate), big.archived) == ("Big Company", True, "100.01", False)
    assert (projects["Project without Client"].client, projects["Project without Client"].billable) == (None, False)
    archived = projects["Project (Archived)"]
    assert (archived.client.name, archived.archived) == ("Other Company (Archived)", True)
    # tasks/402.json decides the project, whatever project_id its tasks carry.
    assert list(Task.objects.values_list("project__name", "name", "active")) == [
        ("Project for Big Company", "Task 1", True), ("Project for Big Company", "Task 2", False)]
    assert list(Tag.objects.values_list("name", flat=True)) == ["Backend", "Development"]

    assert upload(alice_client, payload).status_code == 302
    again = DataImport.objects.order_by("-pk").first()
    assert again.summary["created"] == {"clients": 0, "projects": 0, "tasks": 0, "tags": 0}
    # alice is no admin: what exists now is shared and stays as it is.
    assert again.summary["kept"] == {"clients": 2, "projects": 3, "tasks": 2, "tags": 2}
    assert (Client.objects.count(), Project.objects.count(), Task.objects.count(), Tag.objects.count()) == (2, 3, 2, 2)


def test_account_export_sample_matches_users_by_email_for_an_admin(charlie_client, alice):
    folder = SAMPLES_DIR / "toggl" / "account_export"
    alice.email = "peter.test@email.test"
    alice.save()
    payload = zip_of({p.name: p.read_bytes() for p in folder.iterdir()})
    assert upload(charlie_client, payload).status_code == 302
    data_import = DataImport.objects.get()
    assert data_import.summary["created"] == {"clients": 1, "projects": 2, "tasks": 0, "tags": 0}
    assert data_import.summary["users"] == {"in_export": 1, "matched_by_email": True, "matched": [
        {"name": "Peter Tester", "email": "peter.test@email.test", "user": "alice"}], "unmatched": []}


def test_a_non_admin_export_report_names_no_other_account(bob_client, alice):
    alice.email = "DEMO@example.com"
    alice.save()
    users = b'[{"name": "Demo", "email": "demo@example.com"}, {"name": "Nobody", "email": "no@where.test"}]'
    payload = zip_of({"clients.json": b"[]", "projects.json": b"[]", "workspace_users.json": users})
    assert upload(bob_client, payload).status_code == 302
    data_import = DataImport.objects.get()
    assert data_import.summary["users"] == {"in_export": 2, "matched_by_email": False}
    page = bob_client.get("/import-export/toggl/").content.decode()
    assert "alice" not in page and "without an account here" not in page


def assert_refused(client, payload: bytes, message: str, status: int = 400):
    response = client.post("/import-export/toggl/", {"export": _file(payload, "x.zip")})
    assert response.status_code == status
    assert message in response.content.decode()
    assert (Client.objects.count(), Project.objects.count()) == (0, 0)


def test_unsafe_or_broken_zips_are_refused_and_write_nothing(alice_client, monkeypatch):
    ok = {"clients.json": b"[]", "projects.json": b"[]"}
    assert_refused(alice_client, b"not a zip", "Invalid ZIP file: this is not a Toggl account export.")
    assert_refused(alice_client, zip_of({**ok, "../evil.json": b"[]"}), "Unsafe path in ZIP: &quot;../evil.json&quot;")
    assert_refused(alice_client, zip_of({**ok, "/etc/evil.json": b"[]"}), "Unsafe path in ZIP: &quot;/etc/evil.json&quot;")
    assert_refused(alice_client, zip_of({**ok, "tasks/..\\..\\x.json": b"[]"}), "Unsafe path in ZIP")
    assert_refused(alice_client, zip_of(ok, links=("tasks/link.json",)),
                   "Links are not allowed in the ZIP: &quot;tasks/link.json&quot;")
    assert_refused(alice_client, zip_of({"clients.json": b"[]"}), "File &quot;projects.json&quot; missing in ZIP")
    assert_refused(alice_client, zip_of({**ok, "tasks/4x2.json": b"[]"}),
                   "Invalid identifier in import data: &quot;tasks/4x2.json&quot;")
    assert_refused(alice_client, zip_of({**ok, "projects.json": b'[{"id": "../../1", "name": "x"}]'}),
                   "Invalid identifier in import data")
    assert_refused(alice_client, zip_of({**ok, "clients.json": b"{oops"}), "File &quot;clients.json&quot; is not valid JSON.")
    monkeypatch.setattr(toggl, "MAX_EXPORT_MEMBER_BYTES", 10)
    assert_refused(alice_client, zip_of({**ok, "tags.json": b"[" + b" " * 20 + b"]"}),
                   "&quot;tags.json&quot; is too large (22 bytes uncompressed).")
    assert DataImport.objects.filter(status="failed").count() == 10


def test_upload_over_the_size_cap_gets_413(alice_client, settings):
    settings.MAX_UPLOAD_SIZE = 100
    assert_refused(alice_client, b"x" * 101, "The file is larger than 100 bytes.", status=413)


def test_json_files_of_the_wrong_shape_are_refused_and_leave_nothing_processing(alice_client):
    ok = {"clients.json": b"[]", "projects.json": b"[]"}
    shape = "is not in Toggl&#x27;s export format (expected a list of objects)."
    assert_refused(alice_client, zip_of({**ok, "projects.json": b"[1,2,3]"}), f"&quot;projects.json&quot; {shape}")
    assert_refused(alice_client, zip_of({**ok, "clients.json": b'{"a":1}'}), f"&quot;clients.json&quot; {shape}")
    assert_refused(alice_client, zip_of({**ok, "tags.json": b'"x"'}), f"&quot;tags.json&quot; {shape}")
    assert_refused(alice_client, zip_of({**ok, "workspace_users.json": b"[null]"}),
                   f"&quot;workspace_users.json&quot; {shape}")
    assert_refused(alice_client, zip_of({**ok, "tasks/12.json": b"[[]]"}), f"&quot;tasks/12.json&quot; {shape}")
    assert not DataImport.objects.filter(status="processing").exists()
    assert DataImport.objects.filter(status="failed").count() == 5


HOSTILE_EXPORT = {
    "clients.json": b'[{"id": 12345, "name": "TClient", "archived": true}]',
    "projects.json": b'[{"id": 12346, "name": "TProj", "client_id": 12345, "active": false, "billable": true, '
                     b'"rate": 999}]',
    "tasks/12346.json": b'[{"id": 12347, "name": "TTask", "active": false}]',
    "tags.json": b'[{"id": 12348, "name": "TTag"}, {"id": 12349, "name": "NewTag"}]',
}


def shared_catalog():
    client = Client.objects.create(name="TClient", status="active")
    project = Project.objects.create(name="TProj", client=client, billable=False, hourly_rate="80.00")
    Task.objects.create(project=project, name="TTask", active=True)
    Tag.objects.create(name="TTag")


def test_a_non_admin_export_creates_new_records_but_changes_no_existing_one(alice_client):
    shared_catalog()
    assert upload(alice_client, zip_of(HOSTILE_EXPORT)).status_code == 302
    data_import = DataImport.objects.get()
    assert data_import.status_message == (
        "Toggl account export: 0 clients, 0 projects, 0 tasks, 1 tags created; "
        "4 already here kept unchanged (only administrators update them)")
    assert (data_import.summary["created"], data_import.summary["kept"]) == (
        {"clients": 0, "projects": 0, "tasks": 0, "tags": 1}, {"clients": 1, "projects": 1, "tasks": 1, "tags": 1})
    assert list(Client.objects.values_list("name", "status", "source_system", "source_id")) == [
        ("TClient", "active", "", "")]
    assert list(Project.objects.values_list("name", "archived", "billable", "hourly_rate", "source_id")) == [
        ("TProj", False, False, Decimal("80.00"), "")]
    assert list(Task.objects.values_list("name", "active", "source_id")) == [("TTask", True, "")]
    assert list(Tag.objects.values_list("name", "source_system", "source_id")) == [
        ("NewTag", "toggl", "12349"), ("TTag", "", "")]


def test_an_admin_export_updates_existing_records(charlie_client):
    shared_catalog()
    assert upload(charlie_client, zip_of(HOSTILE_EXPORT)).status_code == 302
    data_import = DataImport.objects.get()
    assert data_import.summary["kept"] == {"clients": 0, "projects": 0, "tasks": 0, "tags": 0}
    assert list(Client.objects.values_list("name", "status", "source_id")) == [("TClient", "archived", "12345")]
    assert list(Project.objects.values_list("name", "archived", "billable", "hourly_rate", "source_id")) == [
        ("TProj", True, True, Decimal("999.00"), "12346")]
    assert list(Task.objects.values_list("name", "active", "source_id")) == [("TTask", False, "12347")]


def test_catalog_rows_the_database_would_refuse_are_refused_before_any_write(alice_client):
    ok = {"clients.json": b'[{"id": 1, "name": "Fine"}]', "projects.json": b"[]"}
    assert_refused(alice_client, zip_of({**ok, "projects.json": b'[{"id": 2, "name": "' + b"x" * 201 + b'"}]'}),
                   "Toggl project 2 has no name or one longer than 200 characters; nothing was imported.")
    assert_refused(alice_client, zip_of({**ok, "projects.json": b'[{"id": 2, "name": "P", "rate": 1e12}]'}),
                   "Toggl project 2 has the rate &quot;1000000000000.0&quot;; nothing was imported.")
    assert_refused(alice_client, zip_of({**ok, "tags.json": b'[{"name": "no id"}]'}),
                   "A Toggl tag without a numeric id; nothing was imported.")
