"""Our own export layout (`id,user_email,…`) read back: an entry whose project has no client
stays without a client; only the plain template defaults the client to the project."""

from datetime import UTC, datetime
from io import StringIO

from django.core.management import call_command

from conftest import make_user
from imports.models import DataImport
from timetracker.models import Client, Project, Tag, TimeEntry


def export_entries(user, path) -> str:
    call_command("export_entries", "--user", user.username, "--format", "csv", "--output", str(path), stderr=StringIO())
    return path.read_text(encoding="utf-8-sig")


def import_csv(path, user) -> DataImport:
    call_command("import_csv", str(path), "--user", user.username, stdout=StringIO(), stderr=StringIO())
    return DataImport.objects.filter(owner=user).latest("pk")


def entries(user) -> list[tuple]:
    return [
        (e.project.name, e.project.client_id, e.start, e.end, e.notes)
        for e in TimeEntry.objects.filter(owner=user).select_related("project").order_by("start")
    ]


def test_reimporting_an_export_of_an_entry_without_client_changes_nothing(alice, tmp_path):
    internal = Project.objects.create(name="Internal")
    entry = TimeEntry.objects.create(
        owner=alice, project=internal, start=datetime(2024, 3, 4, 8, tzinfo=UTC),
        end=datetime(2024, 3, 4, 9, tzinfo=UTC), duration_seconds=3600, notes="Planning",
    )
    text = export_entries(alice, tmp_path / "mine.csv")
    assert text.splitlines()[1] == (
        f"{entry.pk},alice@example.com,Internal,,,2024-03-04T09:00:00+01:00,2024-03-04T10:00:00+01:00,1.00,Planning,,true"
    )

    data_import = import_csv(tmp_path / "mine.csv", alice)

    assert (data_import.created_records, data_import.updated_records, data_import.unchanged_records) == (0, 0, 1)
    assert entries(alice) == [("Internal", None, datetime(2024, 3, 4, 8, tzinfo=UTC), datetime(2024, 3, 4, 9, tzinfo=UTC), "Planning")]
    assert list(Project.objects.values_list("name", "client")) == [("Internal", None)]
    assert Client.objects.count() == 0


def test_importing_an_export_into_an_empty_account_recreates_the_project_without_client(alice, tmp_path):
    TimeEntry.objects.create(
        owner=alice, project=Project.objects.create(name="Internal"), start=datetime(2024, 3, 4, 8, tzinfo=UTC),
        end=datetime(2024, 3, 4, 9, tzinfo=UTC), duration_seconds=3600, notes="Planning",
    )
    export_entries(alice, tmp_path / "mine.csv")
    erin = make_user("erin")

    data_import = import_csv(tmp_path / "mine.csv", erin)

    assert (data_import.status, data_import.created_records) == ("completed", 1)
    assert entries(erin) == [("Internal", None, datetime(2024, 3, 4, 8, tzinfo=UTC), datetime(2024, 3, 4, 9, tzinfo=UTC), "Planning")]
    assert Client.objects.count() == 0


def test_the_plain_template_still_names_the_client_after_the_project(alice, tmp_path):
    path = tmp_path / "template.csv"
    path.write_text("project_name,client_name,start_time,end_time\nInternal,,2024-03-04 09:00:00,2024-03-04 10:00:00\n")

    import_csv(path, alice)

    assert list(Project.objects.values_list("name", "client__name")) == [("Internal", "Internal")]


def test_whitespace_only_notes_and_spaced_tag_names_round_trip_unchanged(alice, tmp_path):
    entry = TimeEntry.objects.create(
        owner=alice, project=Project.objects.create(name="Internal"), start=datetime(2024, 3, 4, 8, tzinfo=UTC),
        end=datetime(2024, 3, 4, 9, tzinfo=UTC), duration_seconds=3600, notes=" ",
    )
    entry.tags.set([Tag.objects.create(name=" spaced ")])
    text = export_entries(alice, tmp_path / "mine.csv")
    assert text.splitlines()[1] == (
        f"{entry.pk},alice@example.com,Internal,,,2024-03-04T09:00:00+01:00,2024-03-04T10:00:00+01:00,1.00, , spaced ,true"
    )

    data_import = import_csv(tmp_path / "mine.csv", alice)

    assert (data_import.created_records, data_import.updated_records, data_import.unchanged_records) == (0, 0, 1)
    entry.refresh_from_db()
    assert (entry.notes, [t.name for t in entry.tags.all()]) == (" ", [" spaced "])
    assert list(Tag.objects.values_list("name", flat=True)) == [" spaced "]

    # Into an empty account the entry comes back the same, on the same tag.
    erin = make_user("erin")
    data_import = import_csv(tmp_path / "mine.csv", erin)
    assert (data_import.status, data_import.created_records) == ("completed", 1)
    copy = TimeEntry.objects.get(owner=erin)
    assert (copy.notes, [t.name for t in copy.tags.all()]) == (" ", [" spaced "])
    assert Tag.objects.count() == 1


def test_the_plain_template_still_trims_tag_names_and_blank_notes(alice, tmp_path):
    path = tmp_path / "template.csv"
    path.write_text("project_name,start_time,end_time,notes,tags\nInternal,2024-03-04 09:00:00,2024-03-04 10:00:00, , spaced ; x\n")

    import_csv(path, alice)

    entry = TimeEntry.objects.get()
    assert (entry.notes, sorted(t.name for t in entry.tags.all())) == ("", ["spaced", "x"])
    assert sorted(Tag.objects.values_list("name", flat=True)) == ["spaced", "x"]


def test_names_with_outer_spaces_round_trip_onto_the_same_project_client_and_task(alice, tmp_path):
    project = Project.objects.create(name=" Website ", client=Client.objects.create(name="Acme "))
    TimeEntry.objects.create(
        owner=alice, project=project, task=project.tasks.create(name=" Design"),
        start=datetime(2024, 3, 4, 8, tzinfo=UTC), end=datetime(2024, 3, 4, 9, tzinfo=UTC), duration_seconds=3600,
    )  # fmt: skip
    export_entries(alice, tmp_path / "mine.csv")

    data_import = import_csv(tmp_path / "mine.csv", alice)

    assert (data_import.created_records, data_import.updated_records, data_import.unchanged_records) == (0, 0, 1)
    assert list(Project.objects.values_list("name", "client__name")) == [(" Website ", "Acme ")]
    assert list(TimeEntry.objects.values_list("task__name", flat=True)) == [" Design"]
