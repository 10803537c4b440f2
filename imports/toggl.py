"""Toggl Track: API client, mapping to our catalog and time entries, account-export ZIP.

Endpoints used (Toggl Track API v9 and Reports API v3, basic auth `<token>:api_token`):
- `GET /api/v9/me` — checks the token; gives the user's timezone, which the Reports API uses
  to read `start_date`/`end_date`.
- `GET /api/v9/workspaces/{wid}/clients?status=both`, `/projects?active=both` (paged with
  `page`/`per_page`), `/tasks?active=both` (paged), `/tags`, `/users`.
- `POST /reports/api/v3/workspace/{wid}/search/time_entries` — the detailed report: the only
  way to reach years of history. One request covers at most a year (we ask window by window);
  the next page is requested with the `X-Next-ID` / `X-Next-Row-Number` response headers as
  `first_id` / `first_row_number`, until they are absent.
- `GET /api/v9/me/time_entries?since=<unix>` — recent changes including tombstones
  (`server_deleted_at`) and the running timer; it only reaches about three months back and
  covers all the user's workspaces (filtered on `workspace_id`).
All API times are UTC.
"""

import json
import logging
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import PurePosixPath
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from timetracker.lib.http_client import ApiAuthError, ApiError, ApiSession, json_body
from timetracker.models import Client, Project, Tag, Task
from timetracker.services import project_get_or_create, tag_get_or_create

from .models import DataImport
from .pulls import MAX_ENTRY_HOURS, SourceEntry, SourcePage, SourceUser

logger = logging.getLogger(__name__)

SOURCE_SYSTEM = "toggl"
AUTH_ERROR = "Toggl rejected the API token"
USERS_FORBIDDEN = (
    "Toggl refused to list the workspace's users (the token needs workspace admin rights to map users by "
    "e-mail); pull again without mapping users by e-mail."
)
REPORT_WINDOW_DAYS = 365
RECENT_DAYS = 90
CATALOG_PER_PAGE = 200
# Catalog rows written per transaction: SQLite locks the whole database while one is open.
CATALOG_WRITE_BATCH = 200
NO_PROJECT_NAME = "No project"

# Tests move this clock to the moment a recorded response was fetched.
clock = timezone.now


def user_agent() -> str:
    return f"TimeTracker/{settings.VERSION} ({settings.CONTACT_EMAIL})"


class TogglClient:
    def __init__(self, *, token: str):
        self.api = ApiSession(
            base_url=settings.TOGGL_API_URL,
            service_name="Toggl",
            auth_error_message=AUTH_ERROR,
            timeout=settings.HTTP_TIMEOUT_SECONDS,
            auth=(token, "api_token"),
            headers={"User-Agent": user_agent(), "Accept": "application/json"},
            min_interval=settings.TOGGL_MIN_REQUEST_INTERVAL,
            quota_on_402=True,
        )

    def _get(self, path: str, **params):
        return json_body(self.api.get(path, params=params or None), service_name="Toggl")

    def me(self) -> dict:
        return self._get("/api/v9/me")

    def _paged(self, path: str, what: str, **params) -> list[dict]:
        """All pages of a catalog listing (`page`/`per_page`), until a short page. Stops with an
        error on a page already received (a server that ignores `page`) or after
        `PULL_MAX_PAGES` pages, as entry pages do."""
        max_pages = getattr(settings, "PULL_MAX_PAGES", 100_000)
        items, page, per_page = [], 1, CATALOG_PER_PAGE
        received: set[tuple] = set()
        while True:
            body = self._get(path, page=page, per_page=per_page, **params)
            batch = body.get("data", []) if isinstance(body, dict) else (body or [])
            if page > max_pages:
                raise ApiError(f"Toggl kept sending pages of {what} (more than {max_pages}); "
                               "stopped so that the pull ends.")
            ids = tuple(str(item.get("id")) if isinstance(item, dict) else repr(item) for item in batch)
            if ids and ids in received:
                raise ApiError(f"Toggl sent the same page of {what} again (page {page}); "
                               "stopped so that the pull ends.")
            received.add(ids)
            items.extend(batch)
            if len(batch) < per_page:
                return items
            page += 1

    def clients(self, workspace_id: str) -> list[dict]:
        return self._get(f"/api/v9/workspaces/{workspace_id}/clients", status="both") or []

    def projects(self, workspace_id: str) -> list[dict]:
        return self._paged(f"/api/v9/workspaces/{workspace_id}/projects", "projects", active="both")

    def tasks(self, workspace_id: str) -> list[dict]:
        return self._paged(f"/api/v9/workspaces/{workspace_id}/tasks", "tasks", active="both")

    def tags(self, workspace_id: str) -> list[dict]:
        return self._get(f"/api/v9/workspaces/{workspace_id}/tags") or []

    def users(self, workspace_id: str) -> list[dict]:
        return self._get(f"/api/v9/workspaces/{workspace_id}/users") or []

    def detailed_page(
        self, workspace_id: str, *, start_date: date, end_date: date, first_id: int | None,
        first_row_number: int | None,
    ) -> tuple[list[dict], int | None, int | None]:
        body = {
            "start_date": start_date.isoformat(),
            "end_date": end_date.isoformat(),
            "page_size": settings.TOGGL_REPORT_PAGE_SIZE,
            "order_by": "date",
            "order_dir": "asc",
        }
        if first_id is not None:
            body.update(first_id=first_id, first_row_number=first_row_number)
        response = self.api.post(f"/reports/api/v3/workspace/{workspace_id}/search/time_entries", json=body)
        rows = json_body(response, service_name="Toggl") or []
        next_id = response.headers.get("X-Next-ID")
        next_row = response.headers.get("X-Next-Row-Number")
        return rows, (int(next_id) if next_id else None), (int(next_row) if next_row else None)

    def time_entries_since(self, since: datetime) -> list[dict]:
        return self._get("/api/v9/me/time_entries", since=int(since.timestamp())) or []


def parse_api_time(value: str | None) -> datetime | None:
    """Toggl writes UTC as `…Z` or `…+00:00`; both parse to an aware datetime."""
    if not value:
        return None
    parsed = datetime.fromisoformat(value)  # Python ≥ 3.11 reads the "Z" suffix
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)  # API times are UTC


@dataclass
class TogglCatalog:
    """Toggl ids (as strings) → our primary keys, for the mapping of time entries."""

    projects: dict[str, int] = field(default_factory=dict)
    tasks: dict[str, int] = field(default_factory=dict)
    tags: dict[str, int] = field(default_factory=dict)
    created: dict[str, int] = field(
        default_factory=lambda: {"clients": 0, "projects": 0, "tasks": 0, "tags": 0}
    )
    # Existing records matched but left as they were: only staff update existing ones.
    kept: dict[str, int] = field(
        default_factory=lambda: {"clients": 0, "projects": 0, "tasks": 0, "tags": 0}
    )


class TogglCatalogError(ValueError):
    pass


def _catalog_check(*, clients: list[dict], projects: list[dict], tasks: list[dict], tags: list[dict]) -> None:
    """Refuse, before anything is written, what the database would refuse half-way."""
    for kind, items, model in (("client", clients, Client), ("project", projects, Project),
                               ("task", tasks, Task), ("tag", tags, Tag)):
        longest = model._meta.get_field("name").max_length
        for item in items:
            if not isinstance(item, dict) or item.get("id") in (None, "") or not str(item["id"]).isdigit():
                raise TogglCatalogError(f"A Toggl {kind} without a numeric id; nothing was imported.")
            name = item.get("name")
            if not isinstance(name, str) or not name.strip() or len(name) > longest:
                raise TogglCatalogError(
                    f"Toggl {kind} {item['id']} has no name or one longer than {longest} characters; "
                    "nothing was imported.")
    for item in projects:
        rate = item.get("rate")
        if rate is None:
            continue
        try:
            readable = not isinstance(rate, bool) and 0 <= Decimal(str(rate)) < MAX_RATE
        except ArithmeticError:
            readable = False
        if not readable:
            raise TogglCatalogError(f'Toggl project {item["id"]} has the rate "{rate}"; nothing was imported.')


MAX_RATE = Decimal(10_000_000)  # Project.hourly_rate: 9 digits, 2 decimals


class _CatalogWriter:
    """Upserts catalog rows one by one into a `TogglCatalog` (see `toggl_catalog_upsert`)."""

    def __init__(self, *, may_update: bool, task_project_override: dict[str, str] | None):
        self.catalog = TogglCatalog()
        self.may_update = may_update
        self.task_project_override = task_project_override or {}
        self.client_pks: dict[str, int] = {}

    def _find(self, model, *, kind: str, source_id: str, lookup: dict):
        """A catalog row by its Toggl id, else by its natural key, else a new one. Returns
        (row, writable): a row that existed is only written when `may_update` (staff);
        clients, projects, tasks and tags are shared by every user."""
        found = model.objects.filter(source_system=SOURCE_SYSTEM, source_id=source_id).first()
        created = False
        if found is None:
            found, created = model.objects.get_or_create(**lookup)
        writable = created or self.may_update
        if writable and not found.source_id:
            found.source_system, found.source_id = SOURCE_SYSTEM, source_id
        self.catalog.created[kind] += created
        self.catalog.kept[kind] += not writable
        return found, writable

    def client(self, item: dict) -> None:
        archived = bool(item.get("archived"))
        client, writable = self._find(Client, kind="clients", source_id=str(item["id"]), lookup={"name": item["name"]})
        if writable:
            client.status = Client.Status.ARCHIVED if archived else (
                Client.Status.ACTIVE if client.status == Client.Status.ARCHIVED else client.status
            )
            client.save()
        self.client_pks[str(item["id"])] = client.pk

    def project(self, item: dict) -> None:
        client_source = item.get("client_id") or item.get("cid")
        client_pk = self.client_pks.get(str(client_source)) if client_source else None
        project, writable = self._find(
            Project, kind="projects", source_id=str(item["id"]), lookup={"name": item["name"], "client_id": client_pk}
        )
        if writable:
            project.archived = item.get("active") is False or item.get("status") == "archived"
            project.billable = bool(item.get("billable"))
            if item.get("rate") is not None:
                project.hourly_rate = Decimal(str(item["rate"]))
            project.save()
        self.catalog.projects[str(item["id"])] = project.pk

    def task(self, item: dict) -> None:
        project_source = self.task_project_override.get(str(item["id"])) or str(item.get("project_id"))
        project_pk = self.catalog.projects.get(project_source)
        if project_pk is None:
            return  # a task of a project the token cannot see
        task, writable = self._find(
            Task, kind="tasks", source_id=str(item["id"]), lookup={"project_id": project_pk, "name": item["name"]}
        )
        if writable:
            task.active = item.get("active") is not False
            task.save()
        self.catalog.tasks[str(item["id"])] = task.pk

    def tag(self, item: dict) -> None:
        tag, writable = self._find(Tag, kind="tags", source_id=str(item["id"]), lookup={"name": item["name"]})
        if writable:
            tag.save()
        self.catalog.tags[str(item["id"])] = tag.pk


def toggl_catalog_upsert(
    *, clients: list[dict], projects: list[dict], tasks: list[dict], tags: list[dict], may_update: bool,
    task_project_override: dict[str, str] | None = None,
) -> TogglCatalog:
    """Create clients, projects (active and archived), tasks and tags from Toggl; update the
    existing ones (archived, billable, rate, active) only when `may_update` (the importer is
    staff). A non-admin creates what is new and leaves what exists as it is.

    Everything is checked first (`TogglCatalogError`), then written in short transactions of
    `CATALOG_WRITE_BATCH` rows, so that a large workspace never holds the database's write lock
    for long; a rerun finds what an interrupted run wrote."""
    _catalog_check(clients=clients, projects=projects, tasks=tasks, tags=tags)
    writer = _CatalogWriter(may_update=may_update, task_project_override=task_project_override)
    writes = [
        *((writer.client, item) for item in clients), *((writer.project, item) for item in projects),
        *((writer.task, item) for item in tasks), *((writer.tag, item) for item in tags),
    ]
    for first in range(0, len(writes), CATALOG_WRITE_BATCH):
        with transaction.atomic():
            for write, item in writes[first:first + CATALOG_WRITE_BATCH]:
                write(item)
    return writer.catalog


class TogglSource:
    """A Toggl workspace over a date range, as a `PullSource` for `pull_run`."""

    source_system = SOURCE_SYSTEM
    label = "Toggl"

    def __init__(self, *, token: str, workspace_id: str, start: date, end: date, may_update_catalog: bool = False):
        self.client = TogglClient(token=token)
        # Staff only: update existing (shared) clients, projects, tasks and tags from Toggl.
        self.may_update_catalog = may_update_catalog
        self.workspace_id = str(workspace_id)
        self.source_account = self.workspace_id.strip()
        self.start, self.end = start, end
        self.catalog = TogglCatalog()
        self.tz = ZoneInfo("UTC")
        self._placeholders: dict[str, int] = {}

    def prepare(self) -> None:
        me = self.client.me()
        try:
            self.tz = ZoneInfo(me.get("timezone") or "UTC")
        except (ZoneInfoNotFoundError, ValueError):
            self.tz = ZoneInfo("UTC")
        ws = self.workspace_id
        # Everything is fetched before the first write (no write lock held while waiting on Toggl).
        clients, projects = self.client.clients(ws), self.client.projects(ws)
        tasks, tags = self.client.tasks(ws), self.client.tags(ws)
        try:
            self.catalog = toggl_catalog_upsert(
                clients=clients, projects=projects, tasks=tasks, tags=tags, may_update=self.may_update_catalog,
            )
        except TogglCatalogError as exc:
            raise ApiError(str(exc)) from None

    def users(self) -> list[SourceUser]:
        try:
            users = self.client.users(self.workspace_id)
        except ApiAuthError as exc:
            # /me and the catalog accepted this token: a 403 here is a missing admin right.
            if exc.status == 403:
                raise ApiError(USERS_FORBIDDEN) from None
            raise
        return [
            SourceUser(source_id=str(u["id"]), name=u.get("fullname") or u.get("name") or "", email=u.get("email") or "")
            for u in users
        ]

    def range_bounds(self) -> tuple[datetime, datetime]:
        """The report range read in the Toggl user's timezone, as the Reports API does."""
        return (
            datetime.combine(self.start, time.min, tzinfo=self.tz),
            datetime.combine(self.end + timedelta(days=1), time.min, tzinfo=self.tz),
        )

    def sweep_scope(self) -> Q:
        start, end = self.range_bounds()
        return Q(start__gte=start, start__lt=end)

    def windows(self) -> list[tuple[date, date]]:
        windows, start = [], self.start
        while start <= self.end:
            end = min(self.end, start + timedelta(days=REPORT_WINDOW_DAYS - 1))
            windows.append((start, end))
            start = end + timedelta(days=1)
        return windows

    def pages(self, cursor: dict) -> Iterator[SourcePage]:
        windows = self.windows()
        phase = cursor.get("phase", "report")
        if phase == "report":
            window = cursor.get("window", 0)
            first_id, first_row = cursor.get("first_id"), cursor.get("first_row_number")
            seen: set[tuple[int, int]] = set()
            while window < len(windows):
                start, end = windows[window]
                rows, next_id, next_row = self.client.detailed_page(
                    self.workspace_id, start_date=start, end_date=end, first_id=first_id, first_row_number=first_row
                )
                if next_id is not None and (next_id, next_row) in seen:
                    raise ApiError("Toggl repeated a report page cursor; stopped so that nothing is counted twice.")
                if next_id is not None:
                    seen.add((next_id, next_row))
                    next_cursor = {"phase": "report", "window": window, "first_id": next_id,
                                   "first_row_number": next_row}
                else:
                    window += 1
                    next_cursor = {"phase": "report", "window": window}
                    if window >= len(windows):
                        next_cursor = {"phase": "recent"}
                first_id, first_row = next_cursor.get("first_id"), next_cursor.get("first_row_number")
                entries = [self._report_entry(row, te) for row in rows for te in row.get("time_entries") or []]
                yield SourcePage(entries=entries, cursor=next_cursor)
            phase = "recent"
        if phase == "recent":
            entries = list(self._recent_entries())
            yield SourcePage(entries=entries, cursor={"phase": "done"}, revisit=True)

    def _recent_entries(self) -> Iterator[SourceEntry]:
        """Tombstones, running timers and not-yet-reported changes of the last months."""
        now = clock()
        range_start, range_end = self.range_bounds()
        horizon = now - timedelta(days=RECENT_DAYS)
        if range_end < horizon:
            return
        for item in self.client.time_entries_since(max(range_start, horizon)):
            # `/me/time_entries` lists every workspace of the user: only this one's belong here.
            if str(item.get("workspace_id") or item.get("wid") or "") != self.workspace_id:
                continue
            entry = self._entry(
                entry_id=item["id"], user_id=item.get("user_id") or item.get("uid"),
                project_id=item.get("project_id") or item.get("pid"), task_id=item.get("task_id") or item.get("tid"),
                billable=item.get("billable"), description=item.get("description"), tags=item.get("tags"),
                tag_ids=item.get("tag_ids"), start=item.get("start"), stop=item.get("stop"),
                duration=item.get("duration"), deleted=bool(item.get("server_deleted_at")),
            )
            in_range = entry.start is not None and range_start <= entry.start < range_end
            if entry.deleted or entry.running or in_range:
                yield entry

    def _report_entry(self, row: dict, te: dict) -> SourceEntry:
        return self._entry(
            entry_id=te["id"], user_id=row.get("user_id"), project_id=row.get("project_id"),
            task_id=row.get("task_id"), billable=row.get("billable"), description=row.get("description"),
            tags=None, tag_ids=row.get("tag_ids"), start=te.get("start"), stop=te.get("stop"),
            duration=te.get("seconds"),
        )

    def _project_pk(self, project_id) -> int:
        if project_id and str(project_id) in self.catalog.projects:
            return self.catalog.projects[str(project_id)]
        key = str(project_id or "")
        if key not in self._placeholders:
            name = f"Toggl project {project_id}" if project_id else NO_PROJECT_NAME
            self._placeholders[key] = project_get_or_create(name=name, client=None, billable=False).pk
        return self._placeholders[key]

    def _entry(
        self, *, entry_id, user_id, project_id, task_id, billable, description, tags, tag_ids, start, stop,
        duration, deleted: bool = False,
    ) -> SourceEntry:
        for name, value in (("start", start), ("stop", stop)):
            if deleted:  # a tombstone needs no times
                break
            try:
                parse_api_time(value)
            except (ValueError, TypeError):
                return SourceEntry(
                    source_id=str(entry_id), source_user_id=str(user_id or ""), deleted=deleted,
                    error=f'Toggl entry {entry_id}: {name} "{value}" is not a date and time; not imported',
                )
        try:
            start_at, stop_at = parse_api_time(start), parse_api_time(stop)
        except (ValueError, TypeError):
            start_at = stop_at = None
        # Any negative duration means running, whatever its size (v8 wrote −start epoch).
        running = stop_at is None or (duration is not None and duration < 0)
        entry = SourceEntry(
            source_id=str(entry_id), source_user_id=str(user_id or ""), start=start_at,
            notes=description or "", billable=bool(billable), running=running, deleted=deleted,
        )
        if deleted or running:
            return entry
        if stop_at - start_at > timedelta(hours=MAX_ENTRY_HOURS):
            # e.g. a stop in the year 9999: its duration overflows the database's integer.
            entry.error = (f'Toggl entry {entry_id}: stop "{stop}" is more than {MAX_ENTRY_HOURS} hours after '
                           "its start; not imported")
            return entry
        entry.end = stop_at
        entry.duration_seconds = max(0, int((stop_at - start_at).total_seconds()))
        entry.project_id = self._project_pk(project_id)
        entry.task_id = self.catalog.tasks.get(str(task_id)) if task_id else None
        if tags:  # names (v9 lists); `null` and `[]` both mean none
            entry.tag_ids = [tag_get_or_create(name=name).pk for name in tags]
        else:
            entry.tag_ids = [self.catalog.tags[str(t)] for t in tag_ids or [] if str(t) in self.catalog.tags]
        return entry


# --- Account-data ZIP export (Settings → Data export) -------------------------------------

MAX_EXPORT_MEMBERS = 5000
MAX_EXPORT_MEMBER_BYTES = 20 * 1024 * 1024
MAX_EXPORT_TOTAL_BYTES = 100 * 1024 * 1024
REQUIRED_EXPORT_FILES = ("clients.json", "projects.json")
# The files read (besides tasks/<project id>.json); each must be a list of objects.
LIST_EXPORT_FILES = (*REQUIRED_EXPORT_FILES, "tags.json", "workspace_users.json")


class TogglExportError(Exception):
    pass


def _safe_member_name(info: zipfile.ZipInfo) -> str:
    name = info.filename
    path = PurePosixPath(name.replace("\\", "/"))
    drive_letter = bool(path.parts) and ":" in path.parts[0]
    if name.startswith(("/", "\\")) or path.is_absolute() or drive_letter or ".." in path.parts:
        raise TogglExportError(f'Unsafe path in ZIP: "{name}"')
    mode = info.external_attr >> 16
    if (mode & 0o170000) == 0o120000:
        raise TogglExportError(f'Links are not allowed in the ZIP: "{name}"')
    return str(path)


def toggl_export_read(upload) -> dict[str, list]:
    """Validate the ZIP (names, links, sizes) and return its JSON files by member name."""
    try:
        archive = zipfile.ZipFile(upload)
    except (zipfile.BadZipFile, OSError):
        raise TogglExportError("Invalid ZIP file: this is not a Toggl account export.") from None
    with archive:
        infos = archive.infolist()
        if len(infos) > MAX_EXPORT_MEMBERS:
            raise TogglExportError(f"The ZIP has {len(infos)} files; at most {MAX_EXPORT_MEMBERS} are accepted.")
        total = 0
        files: dict[str, list] = {}
        for info in infos:
            name = _safe_member_name(info)
            if info.is_dir():
                continue
            if info.file_size > MAX_EXPORT_MEMBER_BYTES:
                raise TogglExportError(f'"{name}" is too large ({info.file_size} bytes uncompressed).')
            total += info.file_size
            if total > MAX_EXPORT_TOTAL_BYTES:
                raise TogglExportError("The ZIP is too large once uncompressed.")
            if not name.endswith(".json"):
                continue
            with archive.open(info) as member:
                raw = member.read(MAX_EXPORT_MEMBER_BYTES + 1)
            if len(raw) > MAX_EXPORT_MEMBER_BYTES:
                raise TogglExportError(f'"{name}" is too large.')
            try:
                files[name] = json.loads(raw.decode("utf-8-sig"))
            except (UnicodeDecodeError, ValueError):
                raise TogglExportError(f'File "{name}" is not valid JSON.') from None
    for required in REQUIRED_EXPORT_FILES:
        if required not in files:
            raise TogglExportError(f'File "{required}" missing in ZIP')
    for name, content in files.items():
        parts = PurePosixPath(name).parts
        read = name in LIST_EXPORT_FILES or (len(parts) == 2 and parts[0] == "tasks")
        if not read or (content is None and name not in REQUIRED_EXPORT_FILES):
            continue
        if not isinstance(content, list) or not all(isinstance(item, dict) for item in content):
            raise TogglExportError(f'"{name}" is not in Toggl\'s export format (expected a list of objects).')
    return files


def _export_users_matched(*, owner, people: list[dict]) -> dict:
    """The export's users matched to ours by e-mail, for admins. Anyone else learns nothing
    about other accounts: their report only counts the users in the file."""
    if not owner.is_staff:
        return {"in_export": len(people), "matched_by_email": False}
    matched, unmatched = [], []
    User = get_user_model()
    for person in people:
        email = (person.get("email") or "").strip()
        local = User.objects.filter(email__iexact=email).first() if email else None
        record = {"name": person.get("name") or "", "email": email}
        (matched if local else unmatched).append({**record, "user": local.username} if local else record)
    return {"in_export": len(people), "matched_by_email": True, "matched": matched, "unmatched": unmatched}


def toggl_export_import(*, owner, upload, file_name: str) -> DataImport:
    """Import clients, projects, tasks and tags of a Toggl account export; match its users by
    e-mail (reported, not created). The history shows the result either way."""
    data_import = DataImport.objects.create(
        owner=owner, import_type=DataImport.Type.TOGGL_EXPORT, source_file_name=file_name[:255],
        status=DataImport.Status.PROCESSING, started_at=timezone.now(),
    )
    try:
        files = toggl_export_read(upload)
        tasks, task_project = [], {}
        for name, content in files.items():
            parts = PurePosixPath(name).parts
            if len(parts) == 2 and parts[0] == "tasks":
                project_source = parts[1].removesuffix(".json")
                if not project_source.isdigit():
                    raise TogglExportError(f'Invalid identifier in import data: "{name}"')
                for task in content or []:
                    tasks.append(task)
                    # The file a task is listed in decides its project.
                    task_project[str(task["id"])] = project_source
        for item in files["projects.json"]:
            if not str(item.get("id", "")).isdigit():
                raise TogglExportError("Invalid identifier in import data")
        catalog = toggl_catalog_upsert(
            clients=files["clients.json"], projects=files["projects.json"], tasks=tasks,
            tags=files.get("tags.json") or [], task_project_override=task_project, may_update=owner.is_staff,
        )
    except Exception as exc:  # never leave the record "processing"
        if not isinstance(exc, (TogglExportError, KeyError, TypeError, AttributeError, ValueError)):
            logger.error("Toggl export import %s failed on %s", data_import.pk, type(exc).__name__)
        readable = isinstance(exc, (TogglExportError, TogglCatalogError))
        message = str(exc) if readable else "The export's JSON files are not in Toggl's format."
        DataImport.objects.filter(pk=data_import.pk).update(
            status=DataImport.Status.FAILED, status_message=message, finished_at=timezone.now()
        )
        data_import.refresh_from_db()
        return data_import
    counts = catalog.created
    total = sum(len(files.get(f) or []) for f in ("clients.json", "projects.json", "tags.json")) + len(tasks)
    data_import.summary = {
        "created": counts,
        "kept": catalog.kept,
        "users": _export_users_matched(owner=owner, people=files.get("workspace_users.json") or []),
    }
    data_import.total_records = data_import.processed_records = data_import.successful_records = total
    data_import.created_records = sum(counts.values())
    data_import.unchanged_records = total - data_import.created_records
    data_import.status = DataImport.Status.COMPLETED
    data_import.status_message = (
        f"Toggl account export: {counts['clients']} clients, {counts['projects']} projects, "
        f"{counts['tasks']} tasks, {counts['tags']} tags created"
    )
    if kept := sum(catalog.kept.values()):
        data_import.status_message += f"; {kept} already here kept unchanged (only administrators update them)"
    data_import.finished_at = timezone.now()
    data_import.save()
    return data_import
