"""Harvest API v2: client and mapping of time entries.

Every request carries `Authorization: Bearer <token>`, `Harvest-Account-Id` and a
`User-Agent` naming the product and a contact address (Harvest answers 400 without it).
`GET /v2/time_entries?from=…&to=…&per_page=…` is paged by following `links.next` verbatim
until it is null; `next_page`/`page` are null on middle pages of cursor pagination, so they
are never used. Requests are paced to Harvest's 100 per 15 seconds.

Duration: always `hours` × 3600 seconds, rounded half-up to the second from the decimal value
Harvest sends, so totals equal Harvest's (0.75 h → 2700 s, 2.11 h → 7596 s). `hours` is the
tracked time; `started_time`/`ended_time` are what the user typed or the timer showed and may
disagree with it (2.11 h shown as 3:00pm–5:00pm), so they only place the entry on the clock.

Start: `spent_date` + `started_time` ("8:00am" or "13:15", depending on the account's
setting) in the account's timezone; without a clock time (Harvest's "duration" timesheets)
00:00 of `spent_date` in that timezone. End: start + duration, so an `ended_time` at or
before `started_time` falls on the next day, correctly across DST.
"""

import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Q

from timetracker.lib.http_client import ApiAuthError, ApiError, ApiSession, json_body
from timetracker.models import Client, Project, Task

from .pulls import MAX_ENTRY_HOURS, SourceEntry, SourcePage, SourceUser
from .toggl import parse_api_time, user_agent

SOURCE_SYSTEM = "harvest"
AUTH_ERROR = "Harvest rejected the token or account id"
USERS_FORBIDDEN = (
    "Harvest refused to list the account's users (the token needs administrator rights, or a manager's "
    "permission to see people, to map users by e-mail); pull again without mapping users by e-mail."
)
CLOCK_RE = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*([ap]m)?\s*$", re.IGNORECASE)


class HarvestClient:
    def __init__(self, *, token: str, account_id: str):
        self.api = ApiSession(
            base_url=settings.HARVEST_API_URL,
            service_name="Harvest",
            auth_error_message=AUTH_ERROR,
            timeout=settings.HTTP_TIMEOUT_SECONDS,
            headers={
                "Authorization": f"Bearer {token}",
                "Harvest-Account-Id": str(account_id),
                "User-Agent": user_agent(),
                "Accept": "application/json",
            },
            window_limit=(settings.HARVEST_REQUESTS_PER_15_SECONDS, 15.0),
        )

    def me(self) -> dict:
        return json_body(self.api.get("/v2/users/me"), service_name="Harvest")

    def follow(self, first_path: str, params: dict, key: str, *, next_url: str | None = None,
               seen_before: int = 0, pages_before: int = 0) -> Iterator[tuple[list[dict], str | None, int | None]]:
        """Yields (items, next url, total_entries) page by page, following `links.next`.
        Stops with an error after more pages than Harvest announced (`total_pages`, or
        `total_entries` / `per_page`) or, without either, `PULL_MAX_PAGES`."""
        url, request_params = (next_url, None) if next_url else (first_path, params)
        visited: set[str] = set()
        collected, pages = seen_before, pages_before
        while True:
            body = json_body(self.api.get(url, params=request_params), service_name="Harvest")
            if not isinstance(body, dict):
                raise ApiError("Harvest answered a page that is not a JSON object; stopped.")
            items = body.get(key) or []
            collected += len(items)
            pages += 1
            total = body.get("total_entries")
            limit = _announced_pages(body)
            if pages > limit:
                raise ApiError(f"Harvest kept sending next pages (more than {limit}); stopped so that the pull ends.")
            following = (body.get("links") or {}).get("next")
            if following and following in visited | {url}:
                raise ApiError("Harvest repeated the same next-page link; stopped so that nothing is counted twice.")
            if total is not None and collected > total:
                raise ApiError(f"Harvest returned more entries ({collected}) than it announced ({total}); stopped.")
            visited.add(url)
            yield items, following, total
            if not following:
                return
            url, request_params = following, None

    def users(self) -> list[dict]:
        users = []
        for items, _, _ in self.follow("/v2/users", {"per_page": 2000}, "users"):
            users.extend(items)
        return users


def parse_clock(value: str) -> time:
    """"8:00am", "12:00pm", "12:00am", "1:15pm" or "13:15" → a time of day."""
    match = CLOCK_RE.match(value or "")
    if not match:
        raise ValueError(f'unreadable Harvest time "{value}"')
    hour, minute, meridiem = int(match[1]), int(match[2]), (match[3] or "").lower()
    if meridiem:
        if not 1 <= hour <= 12:
            raise ValueError(f'unreadable Harvest time "{value}"')
        hour = hour % 12 + (12 if meridiem == "pm" else 0)
    if hour > 23 or minute > 59:
        raise ValueError(f'unreadable Harvest time "{value}"')
    return time(hour, minute)


def hours_to_seconds(hours) -> int:
    if isinstance(hours, bool):
        raise ValueError(f'hours "{hours}" is not a number of hours')
    try:
        value = Decimal(str(hours or 0))
    except ArithmeticError:
        raise ValueError(f'hours "{hours}" is not a number of hours') from None
    if not value.is_finite() or not 0 <= value <= MAX_ENTRY_HOURS:
        raise ValueError(f'hours "{hours}" is not a number of hours between 0 and {MAX_ENTRY_HOURS}')
    return int((value * 3600).quantize(Decimal(1), ROUND_HALF_UP))


def harvest_entry_times(item: dict, tz: ZoneInfo) -> tuple[datetime, datetime, int]:
    """(start, end, duration seconds) of a finished Harvest entry; see the module docstring.
    A missing or unreadable field raises ValueError with a message for the report."""
    if not item.get("spent_date"):
        raise ValueError("spent_date is missing")
    try:
        spent = date.fromisoformat(str(item["spent_date"]))
    except ValueError:
        raise ValueError(f'spent_date "{item["spent_date"]}" is not a date') from None
    started = item.get("started_time")
    if started is not None and not isinstance(started, str):
        raise ValueError(f'unreadable Harvest time "{started}"')

    def at(day: date, clock: time) -> datetime:
        # In UTC at once: Python subtracts and adds aware datetimes of the same zone on the
        # wall clock, which is wrong across a DST change.
        return datetime.combine(day, clock, tzinfo=tz).astimezone(UTC)

    start = at(spent, parse_clock(started) if started else time.min)
    seconds = hours_to_seconds(item.get("hours"))
    return start, start + timedelta(seconds=seconds), seconds


def _announced_pages(body: dict) -> int:
    """How many pages a listing may have: what Harvest announced (one more for an entry
    added while paging), else the hard maximum."""
    hard = getattr(settings, "PULL_MAX_PAGES", 100_000)
    announced = []
    for value in (body.get("total_pages"),):
        if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            announced.append(value)
    total, per_page = body.get("total_entries"), body.get("per_page")
    if isinstance(total, int) and isinstance(per_page, int) and per_page > 0 and total >= 0:
        announced.append(-(-total // per_page))
    return min(hard, max(announced) + 1) if announced else hard


class HarvestSource:
    """A Harvest account over a date range, as a `PullSource` for `pull_run`."""

    source_system = SOURCE_SYSTEM
    label = "Harvest"

    def __init__(self, *, token: str, account_id: str, start: date, end: date, timezone_name: str):
        self.client = HarvestClient(token=token, account_id=account_id)
        self.source_account = str(account_id).strip()
        self.start, self.end = start, end
        self.tz = ZoneInfo(timezone_name)
        self._projects: dict[tuple, int] = {}
        self._tasks: dict[tuple, int] = {}

    def prepare(self) -> None:
        self.client.me()  # fails at once on a bad token or account id

    def users(self) -> list[SourceUser]:
        try:
            users = self.client.users()
        except ApiAuthError as exc:
            # /v2/users/me accepted this token and account: a 403 here is a missing right.
            if exc.status == 403:
                raise ApiError(USERS_FORBIDDEN) from None
            raise
        return [
            SourceUser(source_id=str(u["id"]), name=f"{u.get('first_name', '')} {u.get('last_name', '')}".strip(),
                       email=u.get("email") or "")
            for u in users
        ]

    def sweep_scope(self) -> Q:
        """Harvest's range is by `spent_date`: the entries filed under a day of it, whatever
        timezone read their clock times. An entry stored before its date was kept is only in
        scope when its start lies in the range in every timezone (UTC−12 to UTC+14)."""
        legacy_start = datetime.combine(self.start, time.min, tzinfo=UTC) + timedelta(hours=12)
        legacy_end = datetime.combine(self.end + timedelta(days=1), time.min, tzinfo=UTC) - timedelta(hours=14)
        return Q(source_date__gte=self.start, source_date__lte=self.end) | Q(
            source_date__isnull=True, start__gte=legacy_start, start__lt=legacy_end
        )

    def pages(self, cursor: dict) -> Iterator[SourcePage]:
        if cursor.get("done"):
            return
        params = {"from": self.start.isoformat(), "to": self.end.isoformat(),
                  "per_page": settings.HARVEST_PER_PAGE}
        seen, done_pages = cursor.get("seen", 0), cursor.get("pages", 0)
        pages = self.client.follow("/v2/time_entries", params, "time_entries", next_url=cursor.get("next_url"),
                                   seen_before=seen, pages_before=done_pages)
        for items, following, total in pages:
            seen, done_pages = seen + len(items), done_pages + 1
            next_cursor = ({"next_url": following, "seen": seen, "pages": done_pages} if following
                           else {"done": True, "seen": seen, "pages": done_pages})
            yield SourcePage(entries=[self._entry(item) for item in items], cursor=next_cursor, total_hint=total)

    def _project_pk(self, item: dict) -> int:
        client_data, project_data = item.get("client") or {}, item.get("project") or {}
        key = (client_data.get("id"), project_data.get("id"))
        if key not in self._projects:
            client = None
            if client_data.get("name"):
                client = Client.objects.filter(source_system=SOURCE_SYSTEM, source_id=str(client_data["id"])).first()
                if client is None:
                    client, _ = Client.objects.get_or_create(name=client_data["name"])
                    if not client.source_id:
                        client.source_system, client.source_id = SOURCE_SYSTEM, str(client_data["id"])
                        client.save(update_fields=["source_system", "source_id"])
            project = Project.objects.filter(source_system=SOURCE_SYSTEM, source_id=str(project_data.get("id"))).first()
            if project is None:
                project, _ = Project.objects.get_or_create(
                    name=project_data.get("name") or "No project", client=client
                )
                if not project.source_id and project_data.get("id"):
                    project.source_system, project.source_id = SOURCE_SYSTEM, str(project_data["id"])
                    project.save(update_fields=["source_system", "source_id"])
            self._projects[key] = project.pk
        return self._projects[key]

    def _task_pk(self, project_pk: int, item: dict) -> int | None:
        task_data = item.get("task") or {}
        if not task_data.get("name"):
            return None
        key = (project_pk, task_data["name"])
        if key not in self._tasks:
            task, created = Task.objects.get_or_create(project_id=project_pk, name=task_data["name"])
            if created:
                task.source_system, task.source_id = SOURCE_SYSTEM, str(task_data.get("id", ""))
                task.save(update_fields=["source_system", "source_id"])
            self._tasks[key] = task.pk
        return self._tasks[key]

    def _entry(self, item: dict) -> SourceEntry:
        if not isinstance(item, dict) or item.get("id") in (None, ""):
            return SourceEntry(source_id="", error="Harvest entry without an id; not imported")
        entry = SourceEntry(
            source_id=str(item["id"]),
            source_user_id=str((item.get("user") or {}).get("id", "")),
            notes=item.get("notes") or "",
            billable=bool(item.get("billable")),
        )
        if item.get("is_running"):
            # `hours` of a running entry includes the running part: never a finished entry.
            entry.running = True
            entry.start = parse_api_time(item.get("timer_started_at"))
            return entry
        try:
            entry.start, entry.end, entry.duration_seconds = harvest_entry_times(item, self.tz)
            entry.source_date = date.fromisoformat(str(item["spent_date"]))
        except (ValueError, OverflowError) as exc:
            reason = str(exc) if isinstance(exc, ValueError) else "its times are out of range"
            entry.error = f"Harvest entry {entry.source_id}: {reason}; not imported"
            return entry
        entry.project_id = self._project_pk(item)
        entry.task_id = self._task_pk(entry.project_id, item)
        return entry
