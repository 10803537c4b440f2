"""Reads for the client portal. A portal contact sees only their own client's records, and
that rule lives here: every report query starts from the client, never from a raw id."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from django.db.models import Q, QuerySet, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from timetracker.models import CENTS, Client, Project, TimeEntry, UserProfile


def hours_from_seconds(seconds: int) -> Decimal:
    return (Decimal(seconds) / Decimal(3600)).quantize(CENTS, ROUND_HALF_UP)


def portal_client_id_for_user(user) -> int | None:
    """The client id a user is a portal contact of (active client or not), else None."""
    return UserProfile.objects.filter(user=user).values_list("portal_client_id", flat=True).first()


def portal_client_for_user(user) -> Client | None:
    """The client whose portal this user may open: set on their profile and still active."""
    if not user.is_authenticated or not user.is_active:
        return None
    return Client.objects.filter(portal_users__user=user, status=Client.Status.ACTIVE).first()


@dataclass(frozen=True)
class PortalPeriod:
    """The last `days` calendar days up to and including today, in the viewer's time zone."""

    days: int
    first_day: dt.date
    last_day: dt.date
    tz: ZoneInfo

    @property
    def start(self) -> dt.datetime:
        return dt.datetime.combine(self.first_day, dt.time.min, tzinfo=self.tz)

    @property
    def end(self) -> dt.datetime:
        return dt.datetime.combine(self.last_day + dt.timedelta(days=1), dt.time.min, tzinfo=self.tz)


def portal_period(*, days: int, tz_name: str, now: dt.datetime | None = None) -> PortalPeriod:
    tz = ZoneInfo(tz_name)
    today = (now or timezone.now()).astimezone(tz).date()
    return PortalPeriod(days=days, first_day=today - dt.timedelta(days=days - 1), last_day=today, tz=tz)


def portal_time_entries(*, client: Client, period: PortalPeriod) -> QuerySet[TimeEntry]:
    """Finished time entries on the client's projects that started within the period."""
    return (
        TimeEntry.objects.filter(project__client=client, start__gte=period.start, start__lt=period.end)
        .exclude(end__isnull=True)
        .select_related("project", "task", "owner")
    )


@dataclass(frozen=True)
class ProjectHours:
    name: str
    seconds: int
    billable_seconds: int

    @property
    def hours(self) -> Decimal:
        return hours_from_seconds(self.seconds)

    @property
    def billable_hours(self) -> Decimal:
        return hours_from_seconds(self.billable_seconds)


@dataclass(frozen=True)
class DayHours:
    date: dt.date
    seconds: int

    @property
    def hours(self) -> Decimal:
        return hours_from_seconds(self.seconds)


@dataclass(frozen=True)
class PortalReport:
    client: Client
    period: PortalPeriod
    projects: list[ProjectHours]
    days: list[DayHours]
    total_seconds: int
    billable_seconds: int

    @property
    def total_hours(self) -> Decimal:
        return hours_from_seconds(self.total_seconds)

    @property
    def billable_hours(self) -> Decimal:
        return hours_from_seconds(self.billable_seconds)


def portal_report(*, client: Client, period: PortalPeriod) -> PortalReport:
    """Hours per project (every open project of the client, and archived ones with hours in
    the period) and per day, summed in seconds and rounded once, so totals match the rows' source."""
    entries = portal_time_entries(client=client, period=period)
    billable = Sum("duration_seconds", filter=Q(billable=True), default=0)
    per_project = {
        row["project_id"]: row
        for row in entries.order_by().values("project_id").annotate(seconds=Sum("duration_seconds"), billable=billable)
    }
    projects = [
        ProjectHours(
            name=project.name,
            seconds=per_project.get(project.pk, {}).get("seconds", 0),
            billable_seconds=per_project.get(project.pk, {}).get("billable", 0),
        )
        for project in Project.objects.filter(client=client).filter(Q(archived=False) | Q(pk__in=per_project))
    ]
    days = [
        DayHours(date=row["day"], seconds=row["seconds"])
        for row in entries.order_by()
        .annotate(day=TruncDate("start", tzinfo=period.tz))
        .values("day")
        .annotate(seconds=Sum("duration_seconds"))
        .order_by("day")
    ]
    return PortalReport(
        client=client,
        period=period,
        projects=projects,
        days=days,
        total_seconds=sum(p.seconds for p in projects),
        billable_seconds=sum(p.billable_seconds for p in projects),
    )
