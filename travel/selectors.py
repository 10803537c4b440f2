"""Reads for mileage and per diem. Visibility is decided here once: a user sees their own
records, an admin (is_staff) sees everyone's."""

from dataclasses import dataclass, field, replace
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import (
    Case,
    Count,
    DecimalField,
    F,
    Max,
    Min,
    Q,
    QuerySet,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.shortcuts import get_object_or_404

from exports.models import DataExport
from timetracker.models import Client, ExpenseStatus, Mileage, PerDiem, Project

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class TravelFilters:
    """What a list page, an export and the API filter on. `ids` is set only by the admin's
    "export selected" actions."""

    search: str = ""
    status: str = ""
    project: Project | None = None
    client: Client | None = None
    start_date: date | None = None
    end_date: date | None = None
    ids: tuple[int, ...] | None = field(default=None)

    def as_json(self) -> dict:
        """The shape kept in DataExport.filters, so a background export filters the same way."""
        stored = {
            "search": self.search,
            "status": self.status,
            "project_id": self.project.pk if self.project else None,
            "client_id": self.client.pk if self.client else None,
            "start_date": self.start_date.isoformat() if self.start_date else None,
            "end_date": self.end_date.isoformat() if self.end_date else None,
        }
        if self.ids is not None:
            stored["ids"] = list(self.ids)
        return stored

    @classmethod
    def from_json(cls, stored: dict) -> "TravelFilters":
        def day(key):
            return date.fromisoformat(stored[key]) if stored.get(key) else None

        def catalog(model, key):
            # A project or client deleted since the export was asked for still filters (to
            # nothing) rather than silently widening the export.
            pk = stored.get(key)
            if not pk:
                return None
            return model.objects.filter(pk=pk).first() or model(pk=pk, name=f"#{pk} (deleted)")

        return cls(
            search=stored.get("search") or "",
            status=stored.get("status") or "",
            project=catalog(Project, "project_id"),
            client=catalog(Client, "client_id"),
            start_date=day("start_date"),
            end_date=day("end_date"),
            ids=tuple(stored["ids"]) if stored.get("ids") is not None else None,
        )

    def describe(self) -> list[str]:
        """Human-readable filters for report headers, e.g. ["Status: approved", "Client: Acme"]."""
        parts = []
        if self.search:
            parts.append(f"Search: “{self.search}”")
        if self.status:
            parts.append(f"Status: {ExpenseStatus(self.status).label}")
        if self.project:
            parts.append(f"Project: {self.project.name}")
        if self.client:
            parts.append(f"Client: {self.client.name}")
        if self.ids is not None:
            parts.append(f"Selected records: {len(self.ids)}")
        return parts

    def with_ids(self, ids) -> "TravelFilters":
        return replace(self, ids=tuple(sorted(ids)))


def _common_filters(queryset: QuerySet, *, user, filters: TravelFilters) -> QuerySet:
    if not user.is_staff:
        queryset = queryset.filter(owner=user)
    if filters.status:
        queryset = queryset.filter(status=filters.status)
    if filters.project:
        queryset = queryset.filter(project=filters.project)
    if filters.client:
        queryset = queryset.filter(client=filters.client)
    if filters.ids is not None:
        queryset = queryset.filter(pk__in=filters.ids)
    return queryset.select_related("owner", "project", "client")


def mileage_list(*, user, filters: TravelFilters = TravelFilters()) -> QuerySet[Mileage]:
    """Newest trip first. Search covers purpose, from, to and notes; the date range is
    inclusive on the trip date."""
    queryset = _common_filters(Mileage.objects.all(), user=user, filters=filters)
    if filters.search:
        term = filters.search
        queryset = queryset.filter(
            Q(purpose__icontains=term)
            | Q(from_location__icontains=term)
            | Q(to_location__icontains=term)
            | Q(notes__icontains=term)
        )
    if filters.start_date:
        queryset = queryset.filter(date__gte=filters.start_date)
    if filters.end_date:
        queryset = queryset.filter(date__lte=filters.end_date)
    return queryset.order_by("-date", "-id")


def per_diem_list(*, user, filters: TravelFilters = TravelFilters()) -> QuerySet[PerDiem]:
    """Newest trip first. A trip is in the date range when it lies wholly inside it (starts
    on or after the start, ends on or before the end), as in the original product."""
    queryset = _common_filters(PerDiem.objects.all(), user=user, filters=filters)
    if filters.search:
        term = filters.search
        queryset = queryset.filter(
            Q(purpose__icontains=term) | Q(country__icontains=term) | Q(city__icontains=term) | Q(notes__icontains=term)
        )
    if filters.start_date:
        queryset = queryset.filter(start_date__gte=filters.start_date)
    if filters.end_date:
        queryset = queryset.filter(end_date__lte=filters.end_date)
    return queryset.order_by("-start_date", "-id")


def _money_sum(expression, **extra):
    return Coalesce(Sum(expression, **extra), Value(ZERO), output_field=DecimalField(max_digits=14, decimal_places=2))


def _to_cents(totals: dict, keys: tuple[str, ...]) -> dict:
    """SQLite sums decimals as floats (310.000000000002); every engine answers "310.00"."""
    for key in keys:
        totals[key] = Decimal(str(totals[key])).quantize(ZERO, rounding=ROUND_HALF_UP)
    return totals


def mileage_totals(*, queryset: QuerySet[Mileage]) -> dict:
    """Count, amount and distance per unit (round trips counted twice) in one query."""
    trip_distance = Case(When(round_trip=True, then=F("distance") * 2), default=F("distance"))
    totals = queryset.order_by().aggregate(
        count=Count("id"),
        amount=_money_sum("amount"),
        distance_km=_money_sum(trip_distance, filter=Q(unit=Mileage.Unit.KM)),
        distance_mi=_money_sum(trip_distance, filter=Q(unit=Mileage.Unit.MI)),
    )
    return _to_cents(totals, ("amount", "distance_km", "distance_mi"))


def per_diem_totals(*, queryset: QuerySet[PerDiem]) -> dict:
    totals = queryset.order_by().aggregate(
        count=Count("id"),
        amount=_money_sum("amount"),
        full_days=Coalesce(Sum("full_days"), 0),
        partial_days=Coalesce(Sum("partial_days"), 0),
    )
    return _to_cents(totals, ("amount",))


def mileage_date_span(*, queryset: QuerySet[Mileage]) -> tuple[date | None, date | None]:
    span = queryset.order_by().aggregate(first=Min("date"), last=Max("date"))
    return span["first"], span["last"]


def per_diem_date_span(*, queryset: QuerySet[PerDiem]) -> tuple[date | None, date | None]:
    span = queryset.order_by().aggregate(first=Min("start_date"), last=Max("end_date"))
    return span["first"], span["last"]


def mileage_get_for_owner(*, user, pk: int) -> Mileage:
    """Only the owner edits or deletes a record; for anyone else it does not exist (404)."""
    return get_object_or_404(Mileage, pk=pk, owner=user)


def per_diem_get_for_owner(*, user, pk: int) -> PerDiem:
    return get_object_or_404(PerDiem, pk=pk, owner=user)


TRAVEL_EXPORT_TYPES = (DataExport.Type.MILEAGE, DataExport.Type.PER_DIEM)


def travel_exports_visible_to(*, user) -> QuerySet[DataExport]:
    """Background PDF exports of mileage and per diem: the user's own, or all for admins."""
    queryset = DataExport.objects.filter(export_type__in=TRAVEL_EXPORT_TYPES)
    if not user.is_staff:
        queryset = queryset.filter(owner=user)
    return queryset


def travel_exports_recent(*, user, export_type: str, limit: int = 5) -> list[DataExport]:
    """The user's own latest background exports of one kind, for the list page."""
    return list(DataExport.objects.filter(owner=user, export_type=export_type).order_by("-created_at", "-id")[:limit])
