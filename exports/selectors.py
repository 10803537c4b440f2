"""Reads of exports: which entries an export may contain, which exports a user may see and
download. The rules "users see only their own entries" and "exports are private to their
creator" live here, once."""

from __future__ import annotations

from collections.abc import Collection
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from django.contrib.auth import get_user_model
from django.db.models import Q, QuerySet
from django.utils import timezone

from timetracker.models import Client, Mileage, PerDiem, Project, Tag, Task, TimeEntry

from .models import DataExport

User = get_user_model()

HISTORY_LIMIT = 50
FILTER_MIN_YEAR, FILTER_MAX_YEAR = 1900, 2200
SEARCH_MAX_LENGTH = 200
MAX_ID = 2**63 - 1  # larger ids cannot exist (bigint); asking the database would be an error

FILTER_KEYS = ("start_date", "end_date", "client", "project", "task", "tag", "billable", "search", "user")
CATALOG_MODELS = {"client": Client, "project": Project, "task": Task, "tag": Tag}
# `client_id` … `tag_id` read a number as an id first (the page's selects send ids); `client`
# … `tag` read any value as a name first, since a tag may well be called "2024".
CATALOG_ID_KEYS = {f"{name}_id": name for name in CATALOG_MODELS}
# Accepted spellings of the same filters.
FILTER_ALIASES = {
    "user_id": "user",
    "from": "start_date",
    "to": "end_date",
    "q": "search",
}


class ExportFilterError(ValueError):
    """A filter value that cannot be used; the message names the filter and the value."""


class ExportFilterForbidden(ExportFilterError):
    """A non-admin asked for other users' entries."""


class ExportUnavailable(Exception):
    """A download that cannot be served; `status` is the HTTP status to answer with."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


def user_zone(user) -> ZoneInfo:
    profile = getattr(user, "profile", None)
    return ZoneInfo(profile.timezone if profile and profile.timezone else "UTC")


# --------------------------------------------------------------------------------------
# Time entries


def time_entries_of_user(*, user) -> QuerySet[TimeEntry]:
    return TimeEntry.objects.filter(owner=user).order_by("start", "id")


def _parse_date(name: str, value) -> date:
    if isinstance(value, date):  # the v1 serializer's DateField; messages quote the text sent
        value = value.isoformat()
    try:
        day = date.fromisoformat(str(value).strip())
    except ValueError:
        raise ExportFilterError(f"{name}: {value!r} is not a date (YYYY-MM-DD)") from None
    # The years the importer accepts; 9999-12-31 would overflow the "day after the end" bound.
    if not FILTER_MIN_YEAR <= day.year <= FILTER_MAX_YEAR:
        raise ExportFilterError(f"{name}: {value!r} is outside the years {FILTER_MIN_YEAR}-{FILTER_MAX_YEAR}")
    return day


def bool_parse(name: str, value) -> bool:
    """true/false, yes/no, 1/0, on/off; anything else is an ExportFilterError naming `name`."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "yes", "1", "on"):
        return True
    if text in ("false", "no", "0", "off"):
        return False
    raise ExportFilterError(f"{name}: {value!r} is not true or false")


def _catalog_by_id(name: str, pk: int, model, cleaned: dict) -> bool:
    obj = model.objects.filter(pk=pk).first() if 0 < pk <= MAX_ID else None
    if obj is None:
        return False
    cleaned[f"{name}_id"] = pk
    cleaned[f"{name}_name"] = obj.name
    return True


def _catalog_filter(name: str, value, model, cleaned: dict, *, id_first: bool = False) -> None:
    """A catalog filter given as a name (case-insensitive) or an id. By default the name wins:
    a value is an id only when no record has it as its name. `id_first` (the `*_id` spellings)
    reads digits as an id, and anything else as a name."""
    text = str(value).strip()
    is_number = (isinstance(value, int) and not isinstance(value, bool)) or text.isdigit()
    if id_first and is_number:
        if not _catalog_by_id(name, int(text), model, cleaned):
            raise ExportFilterError(f"{name}_id: there is no {name} with id {int(text)}")
        return
    if model.objects.filter(name__iexact=text).exists():
        cleaned[f"{name}_name"] = text
        return
    if is_number and _catalog_by_id(name, int(text), model, cleaned):
        return
    if is_number:
        raise ExportFilterError(f"{name}: there is no {name} named {text!r} and none with id {int(text)}")
    raise ExportFilterError(f"{name}: there is no {name} named {text!r}")


def _blank(value) -> bool:
    return value is None or (isinstance(value, str) and value.strip() == "")


def time_entry_filters_clean(*, user, data: dict) -> dict:
    """Validate the filters of a filtered export and return them in stored form:
    `start_date`/`end_date` (ISO dates, both days included, in the requester's timezone),
    `<catalog>_id` and/or `<catalog>_name` for client/project/task/tag (see _catalog_filter),
    `billable`, `search`, and `user` (a username, or "all"; only admins may name someone else)."""
    if not isinstance(data, dict):
        raise ExportFilterError("filters must be an object")
    cleaned: dict = {}
    for name in CATALOG_MODELS:
        if not _blank(data.get(name)) and not _blank(data.get(f"{name}_id")):
            raise ExportFilterError(f"{name}: give {name} or {name}_id, not both")
    for raw_key, value in data.items():
        key = FILTER_ALIASES.get(raw_key, raw_key)
        if key not in FILTER_KEYS and key not in CATALOG_ID_KEYS:
            raise ExportFilterError(f"Unknown filter {raw_key!r}. Known filters: {', '.join(FILTER_KEYS)}")
        if _blank(value):
            continue
        if isinstance(value, (list, dict)):
            raise ExportFilterError(f"{raw_key}: expected one value, got {type(value).__name__}")
        if isinstance(value, str) and "\x00" in value:
            raise ExportFilterError(f"{raw_key}: the value contains a NUL character")
        if key in ("start_date", "end_date"):
            cleaned[key] = _parse_date(key, value).isoformat()
        elif key in CATALOG_MODELS:
            _catalog_filter(key, value, CATALOG_MODELS[key], cleaned)
        elif key in CATALOG_ID_KEYS:
            name = CATALOG_ID_KEYS[key]
            _catalog_filter(name, value, CATALOG_MODELS[name], cleaned, id_first=True)
        elif key == "billable":
            cleaned[key] = bool_parse(key, value)
        elif key == "search":
            cleaned[key] = str(value).strip()
            if len(cleaned[key]) > SEARCH_MAX_LENGTH:
                raise ExportFilterError(f"search: at most {SEARCH_MAX_LENGTH} characters, got {len(cleaned[key])}")
        elif key == "user":
            cleaned[key] = _clean_user_filter(user=user, value=value)
    if "start_date" in cleaned and "end_date" in cleaned and cleaned["end_date"] < cleaned["start_date"]:
        raise ExportFilterError(f"end_date {cleaned['end_date']} is before start_date {cleaned['start_date']}")
    cleaned.setdefault("user", user.get_username())
    cleaned["timezone"] = str(user_zone(user))
    return cleaned


def _clean_user_filter(*, user, value) -> str:
    text = str(value).strip()
    if text.lower() == "all":
        if not user.is_staff:
            raise ExportFilterForbidden("Only admins can export all users' entries.")
        return "all"
    if isinstance(value, int) or text.isdigit():
        target = User.objects.filter(pk=int(text)).first() if 0 < int(text) <= MAX_ID else None
    else:
        target = User.objects.filter(username=text).first()
    if target is not None and target.pk == user.pk:
        return user.get_username()
    if not user.is_staff:
        raise ExportFilterForbidden("Only admins can export other users' entries.")
    if target is None:
        raise ExportFilterError(f"user: there is no user {text!r}")
    return target.get_username()


def time_entries_for_export(*, user, filters: dict) -> QuerySet[TimeEntry]:
    """The entries a filtered export of `user` contains, ordered by start. A non-admin gets
    their own entries whatever the stored filters say."""
    queryset = TimeEntry.objects.all()
    wanted = filters.get("user") or user.get_username()
    if not user.is_staff or wanted == user.get_username():
        queryset = queryset.filter(owner=user)
    elif wanted != "all":
        queryset = queryset.filter(owner__username=wanted)

    zone = ZoneInfo(filters.get("timezone") or str(user_zone(user)))
    if filters.get("start_date"):
        start = date.fromisoformat(filters["start_date"])
        queryset = queryset.filter(start__gte=datetime.combine(start, time.min, tzinfo=zone))
    if filters.get("end_date"):
        # The end day is included: everything that starts before the next local midnight.
        after = date.fromisoformat(filters["end_date"]) + timedelta(days=1)
        queryset = queryset.filter(start__lt=datetime.combine(after, time.min, tzinfo=zone))

    lookups = {
        "client": ("project__client_id", "project__client__name__iexact"),
        "project": ("project_id", "project__name__iexact"),
        "task": ("task_id", "task__name__iexact"),
    }
    for name, (id_lookup, name_lookup) in lookups.items():
        if filters.get(f"{name}_id") is not None:
            queryset = queryset.filter(**{id_lookup: filters[f"{name}_id"]})
        elif filters.get(f"{name}_name"):
            queryset = queryset.filter(**{name_lookup: filters[f"{name}_name"]})
    # Tags through a subquery: a join would repeat an entry tagged both "Web" and "web".
    if filters.get("tag_id") is not None:
        tagged = TimeEntry.tags.through.objects.filter(tag_id=filters["tag_id"])
        queryset = queryset.filter(id__in=tagged.values("timeentry_id"))
    elif filters.get("tag_name"):
        tagged = TimeEntry.tags.through.objects.filter(tag__name__iexact=filters["tag_name"])
        queryset = queryset.filter(id__in=tagged.values("timeentry_id"))
    if filters.get("billable") is not None:
        queryset = queryset.filter(billable=filters["billable"])
    if filters.get("search"):
        term = filters["search"]
        queryset = queryset.filter(
            Q(notes__icontains=term)
            | Q(project__name__icontains=term)
            | Q(project__client__name__icontains=term)
            | Q(task__name__icontains=term)
        )
    return queryset.order_by("start", "id")


def gdpr_catalog_querysets(*, user, omitted: Collection[str] = ()) -> dict[str, QuerySet]:
    """The shared catalog rows a user's data refers to: clients, projects, tasks, tags. Rows
    referred to only by an `omitted` dataset ("time_entries", "mileage", "per_diem") are left
    out: their names would tell what the export may not show."""
    entries = TimeEntry.objects.filter(owner=user)
    mileage = Mileage.objects.filter(owner=user)
    per_diem = PerDiem.objects.filter(owner=user)
    if "time_entries" in omitted:
        entries = entries.none()
    if "mileage" in omitted:
        mileage = mileage.none()
    if "per_diem" in omitted:
        per_diem = per_diem.none()
    project_ids = (
        Q(id__in=entries.values("project_id"))
        | Q(id__in=mileage.filter(project__isnull=False).values("project_id"))
        | Q(id__in=per_diem.filter(project__isnull=False).values("project_id"))
    )
    projects = Project.objects.filter(project_ids).order_by("name", "id")
    clients = Client.objects.filter(
        Q(id__in=Project.objects.filter(project_ids, client__isnull=False).values("client_id"))
        | Q(id__in=mileage.filter(client__isnull=False).values("client_id"))
        | Q(id__in=per_diem.filter(client__isnull=False).values("client_id"))
    ).order_by("name", "id")
    tasks = Task.objects.filter(id__in=entries.filter(task__isnull=False).values("task_id")).order_by("name", "id")
    tags = Tag.objects.filter(
        id__in=TimeEntry.tags.through.objects.filter(timeentry__in=entries).values("tag_id")
    ).order_by("name", "id")
    return {"clients": clients, "projects": projects, "tasks": tasks, "tags": tags}


# --------------------------------------------------------------------------------------
# Exports


def data_exports_visible(*, user) -> QuerySet[DataExport]:
    """A user's own exports; an admin sees everyone's (history and status, not downloads of
    other users' GDPR exports)."""
    queryset = DataExport.objects.select_related("owner")
    if not user.is_staff:
        queryset = queryset.filter(owner=user)
    return queryset.order_by("-created_at", "-id")


def data_export_history(*, user, limit: int = HISTORY_LIMIT) -> list[DataExport]:
    return list(data_exports_visible(user=user)[:limit])


def data_export_get(*, user, export_id: int) -> DataExport:
    """Raises DataExport.DoesNotExist for an export the user may not see (answer 404)."""
    if not 0 < export_id <= MAX_ID:
        raise DataExport.DoesNotExist
    return data_exports_visible(user=user).get(pk=export_id)


def data_export_can_download(*, user, export: DataExport) -> bool:
    if export.owner_id == user.pk:
        return True
    return user.is_staff and export.export_type != DataExport.Type.GDPR


def expiry_message(*, export: DataExport, viewer) -> str:
    day = timezone.localtime(export.expires_at, user_zone(viewer)).date().isoformat()
    return f"This export expired on {day}; create a new one"


def data_export_file_for_download(*, user, export: DataExport) -> Path:
    """The file to send, or ExportUnavailable with the status and message to answer."""
    from .services import data_export_path

    if not data_export_can_download(user=user, export=export):
        raise ExportUnavailable(403, "Admins cannot download other users' GDPR exports.")
    if export.status == DataExport.Status.EXPIRED or export.is_expired:
        raise ExportUnavailable(410, expiry_message(export=export, viewer=user))
    if export.status == DataExport.Status.FAILED:
        raise ExportUnavailable(400, f"This export failed: {export.error_message}")
    if export.status != DataExport.Status.COMPLETED:
        raise ExportUnavailable(400, "Export is not ready yet")
    path = data_export_path(export)
    if path is None or not path.is_file():
        raise ExportUnavailable(404, "Export file not found")
    return path
