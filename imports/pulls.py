"""The shared sync service behind the Toggl and Harvest pulls.

A pull walks the source page by page. Each page is written in one transaction together with
the import's counters and its checkpoint (the source's cursor after that page), so a worker
killed at any moment leaves either the whole page and its cursor or neither: the redelivered
task continues from the checkpoint and counts nothing twice. Entries are upserted by
(owner, source system, source id), so replaying a page is harmless anyway.

Owners: the source names each entry's user; the entry goes to the user it maps to (or the
importer). A copy of that account's entry held by another of the pull's owners (the importer,
or a user it maps to, e.g. after the entry was reassigned at the source, or pulled earlier
without mapping) moves to that owner and counts as updated; a further such copy would count
the hours twice and is deleted. Copies held by anyone else are left alone.

Deletions: every copy of an entry the source still returns (whichever of the pull's owners
has it: the importer, or users mapped by e-mail) is "touched" during the pull (its `updated_at`
is set to the database's clock, like the pull's start mark, so workers on machines with
skewed clocks agree); at the end, entries of that source, account (Toggl workspace or Harvest
account, `TimeEntry.source_account`), owners and date range (`sweep_scope()`: Harvest's by the
stored `spent_date`) that were not touched since the pull began were deleted at the source
and are removed here. Toggl also reports deletions explicitly (`server_deleted_at`), which
remove the copy at once.
"""

import base64
import hashlib
import json
import logging
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Protocol

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.db.models import Q
from django.db.models.functions import Now
from django.utils import timezone

from timetracker.lib.flags import parse_flag
from timetracker.lib.http_client import ApiError, ApiQuotaExceeded, RetryPolicy
from timetracker.models import TimeEntry

from .models import DataImport

logger = logging.getLogger(__name__)
User = get_user_model()

# Credentials reach the task only sealed with a key derived from SECRET_KEY; a sealed value
# older than this is refused (a quota pause lasts at most an hour).
CREDENTIALS_TTL_SECONDS = 2 * 24 * 3600
RUNNING_TIMER_NOTE = "running timer, import after it stops"
MAX_ENTRY_HOURS = 1000  # far above any real entry; keeps the arithmetic and the database in range
MAX_ROW_ERRORS = 1000  # kept in the record; the count is always exact
clock = timezone.now  # tests move it instead of waiting
# Quota waits in a row with no page read in between before a pull gives up (see pull_execute).
MAX_IDLE_QUOTA_WAITS = 3


def pull_stale_after() -> timedelta:
    """How long a pull may show no sign of life (its heartbeat, written at the start and
    with every page) before it counts as interrupted: a server restart or an in-process
    task that died. Longer than one request with every timeout retried, plus backoffs and
    rate-limit waits."""
    attempts = RetryPolicy.max_transient_retries + 1
    return timedelta(seconds=settings.HTTP_TIMEOUT_SECONDS * attempts + 10 * 60)


class PullCredentialsError(Exception):
    pass


def _fernet() -> Fernet:
    digest = hashlib.sha256(f"pull-credentials:{settings.SECRET_KEY}".encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def pull_credentials_seal(credentials: dict[str, str]) -> str:
    """Encrypt what the task needs (token, account id) for the trip through the broker."""
    return _fernet().encrypt(json.dumps(credentials).encode()).decode()


def pull_credentials_open(sealed: str) -> dict[str, str]:
    try:
        return json.loads(_fernet().decrypt(sealed.encode(), ttl=CREDENTIALS_TTL_SECONDS))
    except InvalidToken:
        raise PullCredentialsError(
            "The import's credentials could not be read (expired or altered); start the import again."
        ) from None


@dataclass
class SourceUser:
    source_id: str
    name: str = ""
    email: str = ""


@dataclass
class SourceEntry:
    """One time entry as the source has it, with catalog objects already resolved locally."""

    source_id: str
    source_user_id: str = ""
    start: datetime | None = None
    end: datetime | None = None
    duration_seconds: int = 0
    notes: str = ""
    billable: bool = False
    project_id: int | None = None
    task_id: int | None = None
    tag_ids: list[int] = field(default_factory=list)
    running: bool = False
    deleted: bool = False
    source_date: date | None = None  # the day the source files it under (Harvest's spent_date)
    # Set when the source's entry cannot be read (a missing or unreadable field): the entry
    # is reported as a row error with this message and not imported; the pull goes on.
    error: str = ""


@dataclass
class SourcePage:
    entries: list[SourceEntry]
    cursor: dict  # where to continue after this page; stored in the checkpoint
    total_hint: int | None = None
    # A second look at entries this pull may already have counted (Toggl's recent changes
    # after its report): existing entries are brought up to date but not counted again.
    revisit: bool = False


class PullSource(Protocol):
    source_system: str
    label: str
    source_account: str  # the Toggl workspace or Harvest account; scopes the deletion sweep

    def prepare(self) -> None: ...
    def users(self) -> list[SourceUser]: ...
    def pages(self, cursor: dict) -> Iterator[SourcePage]: ...
    def sweep_scope(self) -> Q: ...  # the entries of the pulled range, for the clean-up sweep


@dataclass
class PullOutcome:
    status: str
    resume_at: datetime | None = None


def pull_import_create(*, owner, import_type: str, options: dict, source_file_name: str = "") -> DataImport:
    """The history record of a pull. `options` never holds credentials."""
    forbidden = {"token", "api_token", "password"} & set(options)
    if forbidden:
        raise ValueError("Credentials must not be stored in the import options.")
    return DataImport.objects.create(
        owner=owner, import_type=import_type, options=options, source_file_name=source_file_name
    )


def _owner_map(*, data_import: DataImport, source: PullSource) -> tuple[dict[str, int], list[dict]]:
    """source user id → local user id, for admins who asked to map by e-mail."""
    if not (data_import.options.get("map_users_by_email") and data_import.owner.is_staff):
        return {}, []
    mapping, unmatched = {}, []
    for source_user in source.users():
        local = None
        if source_user.email:
            local = User.objects.filter(email__iexact=source_user.email.strip(), is_active=True).order_by("pk").first()
        if local:
            mapping[source_user.source_id] = local.pk
        else:
            unmatched.append({"source_user_id": source_user.source_id, "name": source_user.name,
                              "email": source_user.email})
    return mapping, unmatched


def _entry_differs(existing: TimeEntry, entry: SourceEntry) -> bool:
    current_tags = sorted(t.pk for t in existing.tags.all())
    return (
        existing.project_id != entry.project_id
        or existing.task_id != entry.task_id
        or existing.start != entry.start
        or existing.end != entry.end
        or existing.duration_seconds != entry.duration_seconds
        or existing.notes != entry.notes
        or existing.billable != entry.billable
        or current_tags != sorted(set(entry.tag_ids))
    )


def _new_time_entry(owner_id: int, source_system: str, entry: SourceEntry, source_account: str = "") -> TimeEntry:
    return TimeEntry(
        owner_id=owner_id, source_system=source_system, source_id=entry.source_id, source_account=source_account,
        project_id=entry.project_id,
        task_id=entry.task_id, start=entry.start, end=entry.end, duration_seconds=entry.duration_seconds,
        notes=entry.notes, billable=entry.billable, source_date=entry.source_date,
    )


def _write_page(
    *, data_import: DataImport, source_system: str, entries: list[SourceEntry], owner_map: dict[str, int],
    summary: dict, revisit: bool = False, source_account: str = "", sweep_owner_ids: set[int] = frozenset(),
) -> dict[str, int]:
    """Upsert one page; returns the counts it adds. Runs inside the page's transaction.
    `sweep_owner_ids`: the owners whose entries the final sweep may remove."""
    counts = {"processed": 0, "created": 0, "updated": 0, "unchanged": 0, "skipped": 0, "deleted": 0, "failed": 0}
    importer_id = data_import.owner_id

    def owner_of(entry: SourceEntry) -> int:
        return owner_map.get(entry.source_user_id, importer_id)

    owners = {owner_of(e) for e in entries}
    ids = [e.source_id for e in entries]
    existing = {
        (te.owner_id, te.source_id): te
        for te in TimeEntry.objects.filter(source_system=source_system, source_id__in=ids, owner_id__in=owners)
        .prefetch_related("tags")
    }
    # This account's copies held by the pull's owners (the importer and the users it maps to),
    # whoever holds them: a copy of an entry the source now gives to another of them moves.
    held: dict[str, list[TimeEntry]] = {}
    for te in (TimeEntry.objects.filter(source_system=source_system, source_account=source_account,
                                        source_id__in=ids, owner_id__in=sweep_owner_ids)
               .exclude(source_account="").order_by("pk").prefetch_related("tags")):
        held.setdefault(te.source_id, []).append(te)
    touched = []
    moved: set[int] = set()
    new_entries: dict[tuple[int, str], tuple[TimeEntry, list[int]]] = {}
    for entry in entries:
        key = (owner_of(entry), entry.source_id)
        current = existing.get(key)
        if not entry.error and not entry.running:
            # The source names the owner: the first other copy moves to them unless they hold
            # one already; any further copy would count the entry's hours twice.
            others = [te for te in held.pop(entry.source_id, []) if current is None or te.pk != current.pk]
            if current is None and others:
                current = existing[key] = others.pop(0)
                if not entry.deleted:
                    current.owner_id = key[0]
                    moved.add(current.pk)
            for duplicate in others:
                duplicate.delete()
                counts["deleted"] += 1
        if entry.error:
            if current is not None:
                touched.append(current.pk)  # still at the source: the sweep must keep our copy
            if not revisit:
                counts["processed"] += 1
                counts["failed"] += 1
                if len(data_import.row_errors) < MAX_ROW_ERRORS:
                    data_import.row_errors.append({
                        "line": None, "source_id": entry.source_id, "column": None, "value": None,
                        "message": entry.error,
                    })
            continue
        if revisit and current is not None and not entry.deleted and not entry.running:
            if current.pk in moved or _entry_differs(current, entry):
                for name in ("project_id", "task_id", "start", "end", "duration_seconds", "notes", "billable"):
                    setattr(current, name, getattr(entry, name))
                current.save()
                current.tags.set(set(entry.tag_ids))
            touched.append(current.pk)
            continue
        counts["processed"] += 1
        if entry.deleted:
            if current is not None:
                current.delete()
                existing.pop(key)
                counts["deleted"] += 1
            elif new_entries.pop(key, None) is not None:  # created earlier in this very page
                counts["created"] -= 1
                counts["skipped"] += 1
            else:
                counts["skipped"] += 1
            continue
        if entry.running:
            if current is not None:
                # Restarted at the source: still there, so the sweep keeps our copy (not updated).
                touched.append(current.pk)
            counts["skipped"] += 1
            summary.setdefault("running_timers", []).append({
                "source_id": entry.source_id,
                "start": entry.start.isoformat() if entry.start else None,
                "notes": entry.notes,
                "note": RUNNING_TIMER_NOTE,
            })
            continue
        if entry.start is None or entry.end is None or entry.end < entry.start:
            counts["failed"] += 1
            if len(data_import.row_errors) < MAX_ROW_ERRORS:
                data_import.row_errors.append({
                    "line": None, "source_id": entry.source_id, "column": "end",
                    "value": entry.end.isoformat() if entry.end else None,
                    "message": f"{source_system} entry {entry.source_id} ends before it starts; not imported",
                })
            continue
        if key in new_entries:  # the same entry twice in one page: the later copy wins
            new_entries[key] = (_new_time_entry(key[0], source_system, entry, source_account), entry.tag_ids)
            continue
        if current is None:
            new_entries[key] = (_new_time_entry(key[0], source_system, entry, source_account), entry.tag_ids)
            counts["created"] += 1
        elif current.pk in moved or _entry_differs(current, entry):
            for name in ("project_id", "task_id", "start", "end", "duration_seconds", "notes", "billable",
                         "source_date"):
                setattr(current, name, getattr(entry, name))
            current.save()
            current.tags.set(set(entry.tag_ids))
            touched.append(current.pk)
            counts["updated"] += 1
        else:
            if current.source_date != entry.source_date:  # imported before the date was kept
                current.source_date = entry.source_date
                current.save(update_fields=["source_date"])
            touched.append(current.pk)
            counts["unchanged"] += 1
    if new_entries:
        # One INSERT for the page's new entries and one for their tag links.
        created = TimeEntry.objects.bulk_create([te for te, _ in new_entries.values()])
        links = TimeEntry.tags.through
        links.objects.bulk_create([
            links(timeentry_id=te.pk, tag_id=tag_id)
            for te, (_, tag_ids) in zip(created, new_entries.values(), strict=True) for tag_id in set(tag_ids)
        ])
        touched.extend(te.pk for te in created)
    if touched:
        # Marks the entries as still present at the source (see the module docstring), and
        # records the account they belong to (entries imported before it was recorded adopt it).
        TimeEntry.objects.filter(pk__in=touched).update(updated_at=Now(), source_account=source_account)
    live_ids = {entry.source_id for entry in entries if entry.source_id and not entry.deleted}
    if live_ids and sweep_owner_ids:
        # Other owners' copies of entries the source still has (e.g. a user's own pull of the
        # account an admin now pulls mapping users by e-mail) are live too: the sweep keeps them.
        TimeEntry.objects.filter(
            source_system=source_system, source_account=source_account, source_id__in=live_ids,
            owner_id__in=sweep_owner_ids,
        ).exclude(pk__in=touched).update(updated_at=Now())
    return counts


def _add_counts(data_import: DataImport, counts: dict[str, int]) -> None:
    data_import.processed_records += counts["processed"]
    data_import.created_records += counts["created"]
    data_import.updated_records += counts["updated"]
    data_import.unchanged_records += counts["unchanged"]
    data_import.skipped_records += counts["skipped"]
    data_import.deleted_records += counts["deleted"]
    data_import.failed_records += counts["failed"]
    data_import.successful_records = (
        data_import.created_records + data_import.updated_records + data_import.unchanged_records
    )


def pull_run(
    *, data_import: DataImport, source: PullSource, progress: Callable[[DataImport], None] | None = None
) -> PullOutcome:
    """Run (or continue) a pull until it completes, fails, or must wait for the API quota."""
    with transaction.atomic():
        # Locked: `pull_start` may be marking this import superseded at this very moment.
        list(DataImport.objects.select_for_update().filter(pk=data_import.pk).values_list("pk"))
        data_import.refresh_from_db()
        if data_import.is_finished:
            return PullOutcome(status=data_import.status)
        checkpoint = dict(data_import.checkpoint or {})
        if "mark" not in checkpoint:
            db_now = DataImport.objects.filter(pk=data_import.pk).values(db_now=Now())[0]["db_now"]
            checkpoint["mark"] = db_now.isoformat()
            checkpoint["cursor"] = {}
            checkpoint["pages"] = 0
        checkpoint["heartbeat"] = clock().isoformat()
        checkpoint.pop("resume_at", None)
        data_import.checkpoint = checkpoint
        data_import.status = DataImport.Status.PROCESSING
        data_import.status_message = f"Pulling from {source.label}…"
        data_import.started_at = data_import.started_at or timezone.now()
        data_import.save()
    mark = datetime.fromisoformat(checkpoint["mark"])
    try:
        source.prepare()
        owner_map, unmatched = _owner_map(data_import=data_import, source=source)
        if unmatched:
            data_import.summary = {**data_import.summary, "unmatched_users": unmatched}
            data_import.save(update_fields=["summary"])
        # Whose entries the final sweep may remove; every page marks their copies it still has.
        sweep_owner_ids = {data_import.owner_id, *owner_map.values()}
        expected_cursor = checkpoint["cursor"]
        max_pages = getattr(settings, "PULL_MAX_PAGES", 100_000)
        pages_done = checkpoint.get("pages", 0)
        for page in source.pages(checkpoint["cursor"]):
            pages_done += 1
            if pages_done > max_pages:
                raise ApiError(f"{source.label} kept sending next pages (more than {max_pages}); "
                               "stopped so that the pull ends.")
            with transaction.atomic():
                locked = DataImport.objects.select_for_update().get(pk=data_import.pk)
                if locked.checkpoint.get("cursor") != expected_cursor or locked.is_finished:
                    # Another delivery of this task got here first (e.g. an ETA message the
                    # broker handed out twice): it owns the pull from now on.
                    logger.info("Import %s continued elsewhere; this run stops", data_import.pk)
                    return PullOutcome(status=locked.status)
                summary = dict(locked.summary)
                counts = _write_page(
                    data_import=locked, source_system=source.source_system, entries=page.entries,
                    owner_map=owner_map, summary=summary, revisit=page.revisit,
                    source_account=source.source_account, sweep_owner_ids=sweep_owner_ids,
                )
                _add_counts(locked, counts)
                locked.summary = summary
                if page.total_hint is not None:  # Harvest announces its total; Toggl does not
                    locked.total_records = max(page.total_hint, locked.processed_records)
                locked.checkpoint = {**locked.checkpoint, "cursor": page.cursor,
                                     "pages": locked.checkpoint.get("pages", 0) + 1,
                                     "heartbeat": clock().isoformat()}
                locked.status_message = (
                    f"Pulling from {source.label}: {locked.processed_records} entries read"
                )
                locked.save()
            data_import, expected_cursor = locked, page.cursor
            if progress:
                progress(data_import)
        with transaction.atomic():
            locked = DataImport.objects.select_for_update().get(pk=data_import.pk)
            if locked.checkpoint.get("cursor") != expected_cursor or locked.is_finished:
                logger.info("Import %s continued elsewhere or was superseded; this run stops", data_import.pk)
                return PullOutcome(status=locked.status)
            stale = TimeEntry.objects.filter(
                source.sweep_scope(),
                source_system=source.source_system, owner_id__in=sweep_owner_ids, updated_at__lt=mark,
                # Only this account's / workspace's entries: another account's (and entries
                # imported before the account was recorded, "") are never swept.
                source_account=source.source_account,
            ).exclude(source_id="").exclude(source_account="")
            swept = stale.count()
            stale.delete()
            locked.deleted_records += swept
            locked.total_records = locked.processed_records
            summary = dict(locked.summary)
            summary.update(
                source=source.label,
                removed_since_last_pull=swept,
                running_timers=summary.get("running_timers", []),
                unmatched_users=summary.get("unmatched_users", []),
            )
            locked.summary = summary
            has_notes = bool(summary["running_timers"] or summary["unmatched_users"])
            locked.status = (
                DataImport.Status.COMPLETED_WITH_ERRORS if locked.failed_records else DataImport.Status.COMPLETED
            )
            locked.status_message = (
                f"Imported from {source.label}: {locked.created_records} created, {locked.updated_records} updated, "
                f"{locked.unchanged_records} unchanged, {locked.deleted_records} deleted, "
                f"{locked.skipped_records} skipped"
                + (f", {locked.failed_records} not imported" if locked.failed_records else "")
                + (" (see the report)" if has_notes or locked.failed_records else "")
            )
            locked.finished_at = timezone.now()
            locked.save()
        if progress:
            progress(locked)
        return PullOutcome(status=locked.status)
    except ApiQuotaExceeded as exc:
        resume_at = clock() + timedelta(seconds=exc.resets_in)
        minutes = max(1, round(exc.resets_in / 60))
        with transaction.atomic():
            locked = DataImport.objects.select_for_update().get(pk=data_import.pk)
            if locked.is_finished:  # superseded meanwhile
                return PullOutcome(status=locked.status)
            # Toggl also answers 402 for what the plan does not include: waits that read no page
            # in between are counted, and past the limit the pull fails instead of waiting forever.
            pages = locked.checkpoint.get("pages", 0)
            idle_waits = locked.checkpoint.get("idle_quota_waits", 0) + 1 \
                if locked.checkpoint.get("pages_at_quota_wait") == pages else 1
            if idle_waits > MAX_IDLE_QUOTA_WAITS:
                return pull_fail(data_import=locked, message=(
                    f"Toggl answered 402 again after {MAX_IDLE_QUOTA_WAITS} waits for its quota without a page "
                    "read in between; the Toggl plan may not include this API. Try again later."))
            # `resume_at` tells `pull_is_alive` when this wait is over.
            locked.checkpoint = {**locked.checkpoint, "resume_at": resume_at.isoformat(),
                                 "pages_at_quota_wait": pages, "idle_quota_waits": idle_waits}
            locked.status = DataImport.Status.WAITING
            locked.status_message = (
                f"waiting for Toggl quota until {resume_at:%Y-%m-%d %H:%M:%S} UTC "
                f"(Toggl hourly API limit reached, resuming in {minutes} min)"
            )
            locked.save(update_fields=["checkpoint", "status", "status_message"])
        logger.info("Import %s waits for the %s quota until %s", data_import.pk, source.label, resume_at)
        return PullOutcome(status=DataImport.Status.WAITING, resume_at=resume_at)
    except ApiError as exc:
        return pull_fail(data_import=data_import, message=str(exc))
    except Exception as exc:
        # Never leave the import "processing" forever. Only the exception's type and where it
        # happened are logged: its message may quote a header value (a credential).
        logger.error("Import %s stopped on an unexpected error %s:\n%s", data_import.pk, type(exc).__name__,
                     "".join(traceback.format_tb(exc.__traceback__)))
        return pull_fail(data_import=data_import, message="The import stopped on an unexpected error; "
                                                         "pages already written are kept. Try again later.")


def pull_fail(*, data_import: DataImport, message: str) -> PullOutcome:
    DataImport.objects.filter(pk=data_import.pk).update(
        status=DataImport.Status.FAILED, status_message=message[:500], finished_at=timezone.now()
    )
    logger.info("Import %s failed: %s", data_import.pk, message)
    return PullOutcome(status=DataImport.Status.FAILED)


# --- Starting and running pulls (every entry point goes through these) --------------------


class PullInputError(ValueError):
    def __init__(self, field_name: str, message: str):
        super().__init__(message)
        self.field = field_name
        self.message = message


PULL_MIN_YEAR, PULL_MAX_YEAR = 1900, 2200  # as the CSV import and exports accept
PULL_MAX_SPAN_YEARS = 20
# Toggl workspace and Harvest account ids are 64-bit integers (at most 19 digits); longer ones
# would overflow the import's name and `TimeEntry.source_account`.
SOURCE_ACCOUNT_MAX_DIGITS = 20


def _account_option(params: dict, field_name: str, kind: str) -> str:
    value = str(params.get(field_name) or "").strip()
    if not (value.isascii() and value.isdigit()):
        raise PullInputError(field_name, f'{field_name}: "{value[:40]}" is not a {kind}.')
    if len(value) > SOURCE_ACCOUNT_MAX_DIGITS:
        raise PullInputError(
            field_name, f"{field_name}: {len(value)} digits is too long for a {kind} "
                        f"(at most {SOURCE_ACCOUNT_MAX_DIGITS}).")
    return value


def _date_option(value, field_name: str):
    from datetime import date

    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value or "").strip())
    except ValueError:
        raise PullInputError(field_name, f'{field_name}: "{value}" is not a date (YYYY-MM-DD).') from None


UNSENDABLE_TOKEN_MESSAGE = (
    "The token contains characters that cannot be sent (line breaks or non-ASCII); paste it again."
)


def _sendable(value: str) -> bool:
    """Printable ASCII only: what an HTTP header can carry without being refused (and the
    refusal's message quoting the credential)."""
    return all(" " <= char <= "~" for char in value)


def pull_options_clean(*, user, source: str, params: dict) -> tuple[dict, dict]:
    """Check what a form, API call or command asked for. Returns (options, credentials):
    options go into the import record, credentials only into the sealed task argument."""
    from zoneinfo import available_timezones

    if not params:
        raise PullInputError("body", "No data provided")
    # The original's names (`api_token`, `start_date`, `end_date`) are accepted as well.
    params = {
        **params,
        "token": params.get("token") or params.get("api_token"),
        "start": params.get("start") or params.get("start_date"),
        "end": params.get("end") or params.get("end_date"),
    }
    required = ["token", "workspace_id" if source == "toggl" else "account_id", "start", "end"]
    missing = [name for name in required if not str(params.get(name) or "").strip()]
    if missing:
        raise PullInputError(missing[0], f"Missing required fields: {', '.join(missing)}")
    token = str(params["token"]).strip()
    if not _sendable(token):
        raise PullInputError("token", UNSENDABLE_TOKEN_MESSAGE)
    start, end = _date_option(params.get("start"), "start"), _date_option(params.get("end"), "end")
    for name, value in (("start", start), ("end", end)):
        if not PULL_MIN_YEAR <= value.year <= PULL_MAX_YEAR:
            raise PullInputError(name, f"{name}: {value} is outside the years {PULL_MIN_YEAR}–{PULL_MAX_YEAR}.")
    if end < start:
        raise PullInputError("end", f"end: {end} is before start {start}.")
    if (end - start).days + 1 > PULL_MAX_SPAN_YEARS * 366:
        raise PullInputError(
            "end", f"end: the range {start} to {end} is longer than {PULL_MAX_SPAN_YEARS} years; pull it in parts."
        )
    try:
        map_users = parse_flag(params.get("map_users_by_email"))
    except ValueError as error:
        raise PullInputError("map_users_by_email", f"map_users_by_email: {error}") from None
    if map_users and not user.is_staff:
        raise PullInputError("map_users_by_email", "Only administrators can map entries to other users by e-mail.")
    options = {"start": start.isoformat(), "end": end.isoformat(), "map_users_by_email": map_users}
    credentials = {"token": token}
    if source == "toggl":
        options["workspace_id"] = _account_option(params, "workspace_id", "Toggl workspace id")
    else:
        account = _account_option(params, "account_id", "Harvest account id")
        tz_name = str(params.get("timezone") or "").strip() or user.profile.timezone
        if tz_name not in available_timezones():
            raise PullInputError("timezone", f'timezone: "{tz_name}" is not a known timezone.')
        options.update(account_id=account, timezone=tz_name)
        credentials["account_id"] = account
    return options, credentials


def pull_source_name(options: dict) -> str:
    """What the history shows as the source, as the original did."""
    if "workspace_id" in options:
        return f"Toggl Workspace {options['workspace_id']}"
    return f"Harvest Account {options['account_id']}"


def pull_is_alive(data_import: DataImport) -> bool:
    """Whether an unfinished pull may still make progress on its own: waiting for a quota
    reset still ahead, or showing a heartbeat younger than `pull_stale_after()`."""
    checkpoint = data_import.checkpoint or {}
    now = clock()
    if data_import.status == DataImport.Status.WAITING and checkpoint.get("resume_at"):
        return now < datetime.fromisoformat(checkpoint["resume_at"])
    beat = checkpoint.get("heartbeat")
    last = datetime.fromisoformat(beat) if beat else (data_import.started_at or data_import.created_at)
    return now - last < pull_stale_after()


def _pulls_unfinished(*, options: dict):
    """Unfinished pulls of the same workspace/account, whoever started them: two live at once
    would write overlapping entries (an admin's pull maps them to the same users). One that
    is no longer alive (in-process tasks cannot wait for a quota; a restart kills them) does
    not block a new start, which supersedes it."""
    return DataImport.objects.filter(
        import_type__in=[DataImport.Type.TOGGL, DataImport.Type.HARVEST], source_file_name=pull_source_name(options),
    ).exclude(status__in=DataImport.FINISHED_STATUSES)


def _pull_start_lock(*, options: dict) -> None:
    """Makes two starts of a pull of one workspace/account take turns until the transaction
    ends, so both cannot find nothing running and both start. SQLite needs nothing: its
    transactions take the write lock when they begin (transaction_mode IMMEDIATE)."""
    if connection.vendor == "postgresql":
        key = int.from_bytes(hashlib.sha256(f"pull {pull_source_name(options)}".encode()).digest()[:8], "big", signed=True)
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [key])


def _still_running_message(*, user, running: DataImport, options: dict) -> str:
    """Names the other user's pull to admins only."""
    source = pull_source_name(options)
    if running.owner_id == user.pk:
        return f"Import #{running.pk} from {source} is still running; wait until it finishes."
    if user.is_staff:
        return f"Import #{running.pk} by {running.owner.username} from {source} is still running; wait until it finishes."
    return f"Another user's import from {source} is still running; wait until it finishes."


def pull_import_begin(*, user, source: str, params: dict) -> tuple[DataImport, dict[str, str]]:
    """Check the input, refuse a second pull of the same workspace/account while one is alive,
    whoever started it (marking interrupted ones superseded) and create the import record. Returns the record and
    the credentials for `pull_execute`. Raises `PullInputError`. Every entry point starts here."""
    options, credentials = pull_options_clean(user=user, source=source, params=params)
    with transaction.atomic():
        _pull_start_lock(options=options)
        interrupted = list(_pulls_unfinished(options=options).select_for_update().order_by("pk"))
        running = next((pull for pull in reversed(interrupted) if pull_is_alive(pull)), None)
        if running is not None:
            raise PullInputError("body", _still_running_message(user=user, running=running, options=options))
        data_import = pull_import_create(
            owner=user, import_type=DataImport.Type.TOGGL if source == "toggl" else DataImport.Type.HARVEST,
            options=options, source_file_name=pull_source_name(options),
        )
        # The new pull brings everything again (entries are upserted by source id, so nothing
        # is created twice); a late delivery of the old task finds it finished and stops.
        for old in interrupted:
            pull_fail(data_import=old, message=f"Interrupted (no progress); superseded by import #{data_import.pk}.")
    return data_import, credentials


def pull_start(*, user, source: str, params: dict) -> DataImport:
    """Create the import record and queue the pull task (after the transaction commits)."""
    from .pull_tasks import harvest_pull, toggl_pull

    data_import, credentials = pull_import_begin(user=user, source=source, params=params)
    task = toggl_pull if source == "toggl" else harvest_pull
    sealed = pull_credentials_seal(credentials)
    transaction.on_commit(lambda: task.delay(data_import.pk, sealed))
    return data_import


def pull_source_build(*, data_import: DataImport, credentials: dict) -> PullSource:
    from datetime import date

    from .harvest import HarvestSource
    from .toggl import TogglSource

    options = data_import.options
    start, end = date.fromisoformat(options["start"]), date.fromisoformat(options["end"])
    if data_import.import_type == DataImport.Type.TOGGL:
        return TogglSource(token=credentials["token"], workspace_id=options["workspace_id"], start=start, end=end,
                           may_update_catalog=data_import.owner.is_staff)
    return HarvestSource(
        token=credentials["token"], account_id=credentials["account_id"], start=start, end=end,
        timezone_name=options["timezone"],
    )


def pull_execute(
    *, import_id: int, sealed_credentials: str, progress: Callable[[DataImport], None] | None = None
) -> PullOutcome:
    """What the task (and the command) runs: open the credentials, build the source, pull."""
    data_import = DataImport.objects.select_related("owner").get(pk=import_id)
    if data_import.is_finished:
        return PullOutcome(status=data_import.status)
    try:
        credentials = pull_credentials_open(sealed_credentials)
    except PullCredentialsError as exc:
        return pull_fail(data_import=data_import, message=str(exc))
    try:
        source = pull_source_build(data_import=data_import, credentials=credentials)
        return pull_run(data_import=data_import, source=source, progress=progress)
    except Exception as exc:
        # Whatever escaped `pull_run` (e.g. while pausing for a quota): never left "processing".
        # Only the type and frames are logged; a message may quote a credential.
        logger.error("Import %s stopped on an unexpected error %s:\n%s", import_id, type(exc).__name__,
                     "".join(traceback.format_tb(exc.__traceback__)))
        return pull_fail(data_import=data_import, message="The import stopped on an unexpected error; "
                                                         "pages already written are kept. Try again later.")
