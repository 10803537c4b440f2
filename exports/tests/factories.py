"""Small builders for export tests: entries with real catalog rows."""

from datetime import datetime
from zoneinfo import ZoneInfo

from timetracker.models import Client, Project, Tag, Task, TimeEntry
from timetracker.services import client_get_or_create, project_get_or_create, tag_get_or_create, task_get_or_create

UTC = ZoneInfo("UTC")


def at(text: str, zone: str = "UTC") -> datetime:
    """at("2024-03-04 09:00") -> aware datetime in `zone`."""
    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(zone))


def entry(
    owner,
    *,
    start: datetime,
    end: datetime | None,
    project: str = "Website",
    client: str | None = "Acme",
    task: str | None = None,
    notes: str = "",
    tags: tuple[str, ...] = (),
    billable: bool = True,
    **extra,
) -> TimeEntry:
    client_row = client_get_or_create(name=client) if client else None
    project_row = project_get_or_create(name=project, client=client_row)
    task_row = task_get_or_create(project=project_row, name=task) if task else None
    # Whole seconds, rounded, as the app stores them (the importer derives them the same way).
    duration = int((end - start).total_seconds() + 0.5) if end else 0
    created = TimeEntry.objects.create(
        owner=owner,
        project=project_row,
        task=task_row,
        start=start,
        end=end,
        duration_seconds=duration,
        notes=notes,
        billable=billable,
        **extra,
    )
    if tags:
        created.tags.set([tag_get_or_create(name=name) for name in tags])
    return created


__all__ = ["Client", "Project", "Tag", "Task", "TimeEntry", "at", "entry"]
