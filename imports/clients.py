"""Clients and their contacts as CSV: the layout, the import (validate every row, then write
all of it in one transaction) and the export, which writes exactly the layout the import reads.

Layout: `name, description, contact_person, email, phone, address, default_hourly_rate,
status, prepaid_hours_monthly, prepaid_reset_day`, then `custom_field_<key>` per custom field
and `contact_<N>_<field>` per contact. Every entry point (page, session JSON, DRF v1, admin,
manage.py import_clients, Celery) goes through `clients_import_create` / `clients_import_run`
or `clients_import_preview`, and `clients_csv_rows` for the export.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC
from decimal import Decimal, InvalidOperation
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import (
    DatabaseError,
    IntegrityError,
    InterfaceError,
    OperationalError,
    transaction,
)
from django.db.models import QuerySet
from django.utils import timezone

from timetracker.lib.csv_dialects import (
    CsvDecodeError,
    detect_encoding,
    first_lines,
    iter_records,
    sniff_delimiter,
)
from timetracker.lib.formulas import formula_escape, formula_unescape
from timetracker.models import Client, Contact

from .models import DataImport
from .resources import FALSE_WORDS, TRUE_WORDS
from .services import (
    HEADER_ONLY_ERROR,
    MAX_STORED_ERRORS,
    ImportFileError,
    RowError,
    csv_read_error,
    data_import_create_once,
    data_import_enqueue,
    row_width_error,
    stored_file_path,
)

logger = logging.getLogger(__name__)

CLIENT_COLUMNS = [
    "name",
    "description",
    "contact_person",
    "email",
    "phone",
    "address",
    "default_hourly_rate",
    "status",
    "prepaid_hours_monthly",
    "prepaid_reset_day",
]
CONTACT_FIELDS = [
    "first_name",
    "last_name",
    "email",
    "phone",
    "mobile",
    "title",
    "department",
    "role",
    "is_primary",
    "address",
    "notes",
    "tags",
]
CUSTOM_FIELD_PREFIX = "custom_field_"
CONTACT_COLUMN = re.compile(r"contact_(\d+)_(" + "|".join(CONTACT_FIELDS) + r")", re.IGNORECASE)
# Multi-line free text keeps its inner layout; everything else is trimmed.
UNTRIMMED = {"description", "address", "notes"}
MAX_LENGTHS = {"name": 200, "contact_person": 200, "email": 254, "phone": 64}
CONTACT_MAX_LENGTHS = {
    "first_name": 100, "last_name": 100, "email": 254, "phone": 64, "mobile": 64, "title": 100, "department": 100, "role": 50,
    "tags": 500,
}
STATUSES = {choice.value for choice in Client.Status}
SAMPLE_ROWS = 10
MAX_CONTACTS = 100  # contact_<N>_…: N from 1 to this; Contact.position is a small integer
DETECTABLE_FIELDS = ("name", "email")

CLIENTS_TEMPLATE_FILE_NAME = "timetracker_clients_import_template.csv"
TEMPLATE_ROWS = [
    [*CLIENT_COLUMNS, "custom_field_erp_id", *[f"contact_1_{name}" for name in CONTACT_FIELDS]],
    ["Acme GmbH", "Web shop and hosting", "Jane Roe", "office@acme.example", "+49 30 123456", "Hauptstr. 1, Berlin",
     "95.00", "active", "10.00", "1", "ACME-001", "Jane", "Roe", "jane@acme.example", "+49 30 123457",
     "+49 170 1234567", "CTO", "IT", "contact", "true", "", "Prefers e-mail", "tech;billing"],
    ["Globex Ltd", "", "", "", "", "", "", "inactive", "", "", "GLX-7", "", "", "", "", "", "", "", "", "", "", "",
     ""],
]


def clients_template_csv() -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(TEMPLATE_ROWS)
    return buffer.getvalue()


# --------------------------------------------------------------------------------------
# Options and results
# --------------------------------------------------------------------------------------


@dataclass
class ClientImportOptions:
    skip_duplicates: bool = True
    # None: "name" plus every custom_field_<key> column of the file.
    duplicate_detection_fields: list[str] | None = None
    skip_invalid: bool = False
    dry_run: bool = False

    def as_dict(self) -> dict:
        return asdict(self)


def clients_import_options_bound(options: ClientImportOptions) -> dict:
    """The options that decide what a clients import writes, as a preview's upload token binds
    them (the default detection fields are an empty list)."""
    return {
        "skip_duplicates": bool(options.skip_duplicates),
        "duplicate_detection_fields": list(options.duplicate_detection_fields or []),
        "skip_invalid": bool(options.skip_invalid),
    }


def clients_import_options_changed(*, previewed: dict, confirmed: dict) -> list[str]:
    """Names of the options a confirmation sets differently from its preview."""
    return [name for name, value in confirmed.items() if name in previewed and previewed[name] != value]


def detection_fields_parse(text: str | None) -> list[str] | None:
    """`"name, custom_field_erp_id"` -> ["name", "custom_field_erp_id"]; blank -> None (the default)."""
    names = [part.strip() for part in (text or "").split(",") if part.strip()]
    return names or None


@dataclass
class ClientCsvPreview:
    delimiter: str
    encoding: str
    columns: list[str]
    ignored_columns: list[str]
    duplicate_detection_fields: list[str]
    skip_duplicates: bool
    total_rows: int = 0
    would_create: int = 0
    would_update: int = 0
    unchanged: int = 0
    skipped: int = 0
    errors: list[RowError] = field(default_factory=list)
    skipped_rows: list[RowError] = field(default_factory=list)
    sample_rows: list[dict] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    # False when confirming with these options would write nothing; the reason says why.
    will_import: bool = True
    not_imported_reason: str = ""

    def as_dict(self) -> dict:
        data = asdict(self)
        data["errors"] = [error.as_dict() for error in self.errors]
        data["skipped_rows"] = [note.as_dict() for note in self.skipped_rows]
        return data


# --------------------------------------------------------------------------------------
# Reading the file
# --------------------------------------------------------------------------------------


@dataclass
class ClientCsvLayout:
    path: Path
    encoding: str
    delimiter: str
    header_line: int
    header: list[str]
    client_positions: dict[str, int]  # client field -> position
    custom_positions: dict[str, int]  # custom field key -> position
    contact_positions: dict[int, dict[str, int]]  # contact number -> contact field -> position
    ignored_columns: list[str]

    def column(self, position: int) -> str:
        return self.header[position].strip()

    def records(self):
        for record in iter_records(self.path, encoding=self.encoding, delimiter=self.delimiter):
            if record.line > self.header_line and not record.is_blank:
                yield record


def _header_name(cell: str) -> str:
    return cell.strip().lstrip("\ufeff")


def clients_csv_layout_detect(path: Path) -> ClientCsvLayout:
    """The header of a clients CSV; ImportFileError when the file cannot be read, has no
    `name` column or no data row."""
    try:
        encoding = detect_encoding(path)
        lines = first_lines(path, encoding=encoding, limit=1)
    except CsvDecodeError as error:
        raise ImportFileError(str(error)) from None
    if not lines:
        raise ImportFileError("The file is empty.")
    number, text = lines[0]
    delimiter = sniff_delimiter(text)
    header = next(csv.reader([text], delimiter=delimiter), [])
    client_positions: dict[str, int] = {}
    custom_positions: dict[str, int] = {}
    contact_positions: dict[int, dict[str, int]] = {}
    ignored = []
    for position, cell in enumerate(header):
        name = _header_name(cell)
        lowered = name.lower()
        contact = CONTACT_COLUMN.fullmatch(lowered)
        if lowered in CLIENT_COLUMNS:
            target, key = client_positions, lowered
        elif lowered.startswith(CUSTOM_FIELD_PREFIX) and len(name) > len(CUSTOM_FIELD_PREFIX):
            target, key = custom_positions, unicodedata.normalize("NFC", name[len(CUSTOM_FIELD_PREFIX):])
        elif contact:
            # Length first: int() refuses strings of more than 4300 digits.
            contact_number = int(contact[1]) if len(contact[1].lstrip("0")) <= 3 else MAX_CONTACTS + 1
            if not 1 <= contact_number <= MAX_CONTACTS:
                raise ImportFileError(
                    f'The column "{name}" names contact {contact[1][:20]}; contacts are numbered 1 to {MAX_CONTACTS}.'
                )
            target, key = contact_positions.setdefault(contact_number, {}), contact[2]
        else:
            if name:
                ignored.append(name)
            continue
        if key in target:
            raise ImportFileError(f'The column "{name}" appears twice in the header.')
        target[key] = position
    if "name" not in client_positions:
        raise ImportFileError(
            f'No "name" column in the header row (the first line reads "{text[:120]}"). '
            f"Expected the clients layout: {', '.join(CLIENT_COLUMNS)}, custom_field_<key>, contact_<N>_<field>."
        )
    layout = ClientCsvLayout(
        path=path,
        encoding=encoding,
        delimiter=delimiter,
        header_line=number,
        header=header,
        client_positions=client_positions,
        custom_positions=custom_positions,
        contact_positions=dict(sorted(contact_positions.items())),
        ignored_columns=ignored,
    )
    try:
        has_rows = any(True for _ in layout.records())
    except CsvDecodeError as error:
        raise csv_read_error(layout, error) from None
    if not has_rows:
        raise ImportFileError(HEADER_ONLY_ERROR)
    return layout


def _text(raw: str, name: str) -> str:
    text = formula_unescape(raw)
    if not text.strip():
        return ""
    text = unicodedata.normalize("NFC", text)
    return text if name in UNTRIMMED else text.strip()


THOUSANDS_COMMA = re.compile(r"\d{1,3},\d{3}")


def _decimal(text: str, *, max_digits: int) -> Decimal:
    if THOUSANDS_COMMA.fullmatch(text):
        raise ValueError(
            f"ambiguous thousands separator: write {text.replace(',', '')} or {text.replace(',', '.')}"
        )
    spelled = text.replace(",", ".") if text.count(",") == 1 and "." not in text else text
    try:
        value = Decimal(spelled)
    except InvalidOperation:
        raise ValueError("not a number") from None
    if not value.is_finite():
        raise ValueError("not a number")
    if value < 0:
        raise ValueError("must not be negative")
    try:
        rounded = value.quantize(Decimal("0.01"))
    except InvalidOperation:  # more digits than the decimal context holds
        rounded = Decimal(10) ** max_digits
    else:
        if rounded != value:
            raise ValueError("more than 2 decimal places")
    value = rounded
    if len(value.as_tuple().digits) > max_digits:
        raise ValueError(f"too large (at most {max_digits - 2} digits before the decimal point)")
    return value


def _flag(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in TRUE_WORDS:
        return True
    if lowered in FALSE_WORDS:
        return False
    raise ValueError("not a yes/no value (use true/false, yes/no or 1/0)")


def _client_value(name: str, text: str):
    if name in ("default_hourly_rate", "prepaid_hours_monthly"):
        return _decimal(text, max_digits=9 if name == "default_hourly_rate" else 7)
    if name == "status":
        status = text.lower()
        if status not in STATUSES:
            raise ValueError("must be active, inactive or archived")
        return status
    if name == "prepaid_reset_day":
        if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= 28:
            raise ValueError("must be a whole number from 1 to 28")
        return int(text)
    if name == "email":
        _email(text)
    if name in MAX_LENGTHS and len(text) > MAX_LENGTHS[name]:
        raise ValueError(f"longer than {MAX_LENGTHS[name]} characters")
    return text


def _contact_value(name: str, text: str):
    if name == "is_primary":
        return _flag(text)
    if name == "email":
        _email(text)
    if name in CONTACT_MAX_LENGTHS and len(text) > CONTACT_MAX_LENGTHS[name]:
        raise ValueError(f"longer than {CONTACT_MAX_LENGTHS[name]} characters")
    return text


def _email(text: str) -> None:
    try:
        validate_email(text)
    except ValidationError:
        raise ValueError("not a valid e-mail address") from None


@dataclass
class ContactRow:
    number: int  # N of contact_<N>_…
    values: dict  # contact field -> value, only the non-empty cells

    @property
    def key(self) -> tuple[str, ...]:
        return contact_key(self.values.get("first_name", ""), self.values.get("last_name", ""), self.values.get("email", ""))


def contact_key(first_name: str, last_name: str, email: str) -> tuple[str, ...]:
    """What finds a client's existing contact on update: its name, or its e-mail when it has
    no name (the admin allows such contacts, so the export writes them)."""
    if first_name or last_name:
        return ("name", first_name, last_name)
    return ("email", email.casefold())


@dataclass
class ClientRow:
    line: int
    values: dict  # client field -> value, only the non-empty cells ("name" always)
    custom_fields: dict[str, str]  # only the non-empty cells
    contacts: list[ContactRow]

    @property
    def name(self) -> str:
        return self.values["name"]


def client_row_clean(layout: ClientCsvLayout, record) -> ClientRow | list[RowError]:
    cells = record.cells
    errors: list[RowError] = []
    raw: dict[str, str] = {}

    def cell(position: int) -> str:
        text = cells[position] if position < len(cells) else ""
        raw[layout.column(position)] = text
        return text

    def fail(position: int, message: str) -> None:
        column = layout.column(position)
        errors.append(RowError(record.line, column, raw.get(column, ""), message))

    if any(text.strip() for text in cells[len(layout.header):]):
        # Most often an unquoted comma in a value: every cell after it has moved one column on.
        return [row_width_error(record, header=layout.header, delimiter=layout.delimiter)]
    values = {}
    for name, position in layout.client_positions.items():
        text = _text(cell(position), name)
        if not text:
            continue
        try:
            values[name] = _client_value(name, text)
        except ValueError as error:
            fail(position, str(error))
    if "name" not in values and not any(e.column == layout.column(layout.client_positions["name"]) for e in errors):
        fail(layout.client_positions["name"], "Client name is required")

    custom_fields = {}
    for key, position in layout.custom_positions.items():
        text = _text(cell(position), key)
        if text:
            custom_fields[key] = text

    contacts = []
    primary_at: int | None = None
    for number, positions in layout.contact_positions.items():
        contact_values = {}
        for name, position in positions.items():
            text = _text(cell(position), name)
            if not text:
                continue
            try:
                contact_values[name] = _contact_value(name, text)
            except ValueError as error:
                fail(position, str(error))
        # An exported row carries `false` in the primary cell of every contact slot it does not use.
        if not contact_values or contact_values == {"is_primary": False}:
            continue
        if not any(contact_values.get(name) for name in ("first_name", "last_name", "email")):
            errors.append(RowError(
                record.line, layout.column(positions.get("first_name", next(iter(positions.values())))), "",
                f"contact {number} needs a first or last name, or an e-mail",
            ))
            continue
        if contact_values.get("is_primary"):
            if primary_at is not None:
                fail(positions["is_primary"], f"only one contact can be primary; contact {primary_at} already is")
            primary_at = number
        contact = ContactRow(number=number, values=contact_values)
        # Contacts are matched by name (or a nameless one by e-mail) on update, so two with
        # one key cannot be told apart.
        twin = next((other for other in contacts if other.key == contact.key), None)
        if twin is not None:
            if contact.key[0] == "email":
                fail(positions["email"], f"contact {twin.number} has the same e-mail and no name either")
            else:
                name_field = "first_name" if contact_values.get("first_name") else "last_name"
                fail(positions[name_field], f"contact {twin.number} has the same name")
        contacts.append(contact)
    if errors:
        return errors
    return ClientRow(line=record.line, values=values, custom_fields=custom_fields, contacts=contacts)


# --------------------------------------------------------------------------------------
# Deciding what each row does
# --------------------------------------------------------------------------------------


class ClientCreatedMeanwhile(Exception):
    """A client the check decided to create exists by the time it is written."""

    def __init__(self, name: str):
        super().__init__(f"client '{name}' was created by another import meanwhile; import the file again")


@dataclass
class Decision:
    action: str  # "create", "update", "unchanged", "skip"
    row: ClientRow
    client: Client | None = None


@dataclass
class ClientImportOutcome:
    layout: ClientCsvLayout
    detection_fields: list[str]
    total_rows: int = 0
    errors: list[RowError] = field(default_factory=list)
    invalid_rows: int = 0
    skipped_rows: list[RowError] = field(default_factory=list)
    decisions: list[Decision] = field(default_factory=list)

    def count(self, action: str) -> int:
        return sum(1 for decision in self.decisions if decision.action == action)


def _detection_fields(layout: ClientCsvLayout, chosen: list[str] | None) -> list[str]:
    """Chosen names, as `name`, `email`, `custom_field_<key>` or a bare custom field key."""
    if chosen is None:
        return ["name", *[CUSTOM_FIELD_PREFIX + key for key in layout.custom_positions]]
    resolved = []
    for name in chosen:
        if name.lower() in DETECTABLE_FIELDS:
            resolved.append(name.lower())
        elif name.lower().startswith(CUSTOM_FIELD_PREFIX) and name[len(CUSTOM_FIELD_PREFIX):] in layout.custom_positions:
            resolved.append(CUSTOM_FIELD_PREFIX + name[len(CUSTOM_FIELD_PREFIX):])
        elif name in layout.custom_positions:
            resolved.append(CUSTOM_FIELD_PREFIX + name)
        else:
            known = ", ".join([*DETECTABLE_FIELDS, *[CUSTOM_FIELD_PREFIX + key for key in layout.custom_positions]])
            raise ImportFileError(f'Unknown duplicate detection field "{name}"; use one of: {known}.')
    return resolved


def _field_value(row: ClientRow, detection_field: str) -> str:
    if detection_field.startswith(CUSTOM_FIELD_PREFIX):
        return row.custom_fields.get(detection_field[len(CUSTOM_FIELD_PREFIX):], "")
    return str(row.values.get(detection_field, ""))


def name_key(name: str) -> str:
    """A client name as duplicate detection compares it: NFC, trimmed, case-folded."""
    return unicodedata.normalize("NFC", unicodedata.normalize("NFC", name).strip().casefold())


def _match_value(detection_field: str, value: str) -> str:
    return name_key(value) if detection_field == "name" else value


def custom_field_text(value) -> str:
    """A stored custom field value as its CSV cell: text as is, anything else (set through
    the admin or the API) as JSON. The import stores cells as text, so a re-import compares
    and matches on this form."""
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _stored_value(client: Client, detection_field: str) -> str:
    if detection_field.startswith(CUSTOM_FIELD_PREFIX):
        return custom_field_text((client.custom_fields or {}).get(detection_field[len(CUSTOM_FIELD_PREFIX):]))
    return getattr(client, detection_field) or ""


def _client_changes(client: Client, row: ClientRow) -> bool:
    for name, value in row.values.items():
        if name != "name" and getattr(client, name) != value:
            return True
    stored = client.custom_fields or {}
    if any(custom_field_text(stored.get(key)) != value for key, value in row.custom_fields.items()):
        return True
    contacts = {contact_key(c.first_name, c.last_name, c.email): c for c in client.contacts.all()}
    for contact_row in row.contacts:
        contact = contacts.get(contact_row.key)
        if contact is None or any(getattr(contact, k) != v for k, v in contact_row.values.items()):
            return True
    return False


class ClientCsvImport:
    """One pass over one stored clients CSV: `check()` validates every row and decides what
    each does; `write()` applies the decisions in one transaction."""

    def __init__(self, *, user, path: Path, options: ClientImportOptions):
        self.user = user
        self.options = options
        self.layout = clients_csv_layout_detect(path)
        self.outcome = ClientImportOutcome(
            layout=self.layout, detection_fields=_detection_fields(self.layout, options.duplicate_detection_fields)
        )

    def check(self) -> ClientImportOutcome:
        outcome = self.outcome
        try:
            rows = []
            for record in self.layout.records():
                outcome.total_rows += 1
                cleaned = client_row_clean(self.layout, record)
                if isinstance(cleaned, list):
                    self._invalid(cleaned)
                else:
                    rows.append(cleaned)
        except CsvDecodeError as error:
            raise ImportFileError(str(error)) from None
        existing = list(Client.objects.prefetch_related("contacts"))
        by_name = {name_key(client.name): client for client in existing}
        # detection field -> stored value -> clients having it, so matching does not scan every client per row
        index: dict[str, dict[str, list[Client]]] = {name: {} for name in outcome.detection_fields}
        for client in existing:
            for detection_field, values in index.items():
                value = _match_value(detection_field, _stored_value(client, detection_field))
                if value:
                    values.setdefault(value, []).append(client)
        seen: dict[tuple[str, str], int] = {}  # (detection field, value) -> line of the file
        for row in rows:
            errors = self._decide(row, index, by_name, seen)
            if errors:
                self._invalid(errors)
        return outcome

    def _invalid(self, errors: list[RowError]) -> None:
        self.outcome.invalid_rows += 1
        room = MAX_STORED_ERRORS - len(self.outcome.errors)
        self.outcome.errors.extend(errors[:max(0, room)])

    def _decide(self, row: ClientRow, index, by_name, seen) -> list[RowError]:
        name_column = self.layout.column(self.layout.client_positions["name"])

        def error(message: str) -> list[RowError]:
            return [RowError(row.line, name_column, row.name, message)]

        # Within the file, a row is the same client as an earlier one on its name or on any
        # detection field, as it would be against the database.
        keys = [("name", name_key(row.name))] + [
            (f, _match_value(f, _field_value(row, f))) for f in self.outcome.detection_fields if f != "name"
        ]
        for detection_field, value in keys:
            if value and (detection_field, value) in seen:
                same = "" if detection_field == "name" else f" (same {detection_field})"
                return error(f"the file already has this client on line {seen[detection_field, value]}{same}")
        for detection_field, value in keys:
            if value:
                seen[detection_field, value] = row.line
        matches: dict[int, tuple[Client, str]] = {}
        for detection_field in self.outcome.detection_fields:
            value = _match_value(detection_field, _field_value(row, detection_field))
            if not value:
                continue
            for client in index[detection_field].get(value, []):
                matches.setdefault(client.pk, (client, detection_field))
        if matches and self.options.skip_duplicates:
            matched, detection_field = next(iter(matches.values()))
            self.outcome.skipped_rows.append(RowError(
                row.line, self._column_of(detection_field), _field_value(row, detection_field),
                f"Client '{row.name}' already exists (skipped): matches '{matched.name}' on {detection_field}",
            ))
            self.outcome.decisions.append(Decision("skip", row))
            return []
        if len(matches) > 1:
            names = ", ".join(sorted(f"'{client.name}'" for client, _ in matches.values()))
            return error(f"matches more than one existing client ({names}); choose other duplicate detection fields")
        target, matched_on = next(iter(matches.values())) if matches else (None, None)
        holder = by_name.get(name_key(row.name))
        if holder is not None and holder is not target:
            return error(
                f"a client named '{holder.name}' already exists; add \"name\" to the duplicate detection fields to "
                "update it"
            )
        if target is None:
            self.outcome.decisions.append(Decision("create", row))
            return []
        earlier = next((d.row.line for d in self.outcome.decisions if d.client is target), None)
        if earlier is not None:
            return error(f"matches the same existing client ('{target.name}') as line {earlier}")
        if name_key(target.name) != name_key(row.name):
            # OR matching on a custom field or e-mail must never rename a client silently.
            return error(
                f"matches client '{target.name}' on {matched_on}; to rename a client edit it, "
                "or choose other duplicate fields"
            )
        action = "update" if _client_changes(target, row) else "unchanged"
        if action == "update" and not self.user.is_staff:
            # Clients are shared by the whole installation: changing one is an admin's job.
            return error(
                f"client '{target.name}' already exists and only an admin can update it; "
                "leave \"skip duplicates\" on or ask an admin"
            )
        self.outcome.decisions.append(Decision(action, row, target))
        return []

    def _column_of(self, detection_field: str) -> str:
        if detection_field.startswith(CUSTOM_FIELD_PREFIX):
            return self.layout.column(self.layout.custom_positions[detection_field[len(CUSTOM_FIELD_PREFIX):]])
        return self.layout.column(self.layout.client_positions[detection_field])

    @transaction.atomic
    def write(self) -> None:
        for decision in self.outcome.decisions:
            if decision.action == "create":
                client = Client(source_system="csv")
                self._apply(client, decision.row, new=True)
            elif decision.action == "update":
                self._apply(decision.client, decision.row, new=False)

    def _apply(self, client: Client, row: ClientRow, *, new: bool) -> None:
        # Only the cells the file fills change: a missing status column (or an empty cell)
        # never re-activates a client.
        for name, value in row.values.items():
            # An update matched the name by its normalised form (or refused the row): the
            # stored spelling stays.
            if new or name != "name":
                setattr(client, name, value)
        # A new dict, not an in-place update, so the JSON column is really written.
        # Values whose text is unchanged keep their stored JSON type (true stays true, not "true").
        stored = client.custom_fields or {}
        changed = {key: value for key, value in row.custom_fields.items() if custom_field_text(stored.get(key)) != value}
        client.custom_fields = {**stored, **changed}
        try:
            with transaction.atomic():
                client.save()
        except IntegrityError:
            if new and Client.objects.filter(name=client.name).exists():
                raise ClientCreatedMeanwhile(client.name) from None
            raise
        contacts = {} if new else {contact_key(c.first_name, c.last_name, c.email): c for c in client.contacts.all()}
        next_position = max((c.position for c in contacts.values()), default=0) + 1
        primary = None
        for contact_row in row.contacts:
            contact = contacts.get(contact_row.key)
            if contact is None:
                position = contact_row.number if new else next_position
                next_position += 1
                contact = Contact(client=client, position=position)
            values = dict(contact_row.values)
            is_primary = values.pop("is_primary", None)
            for name, value in values.items():
                setattr(contact, name, value)
            if is_primary is False:
                contact.is_primary = False
            contact.save()
            if is_primary:
                primary = contact
        if primary is None and row.contacts and not client.contacts.filter(is_primary=True).exists():
            # Exactly one primary contact per client: the first listed when the file names none.
            primary = client.contacts.order_by("position", "id").first()
        if primary is not None:
            client.contacts.exclude(pk=primary.pk).filter(is_primary=True).update(is_primary=False)
            Contact.objects.filter(pk=primary.pk).update(is_primary=True)

    def not_imported_reason(self) -> str:
        """Why an import with these options writes nothing ("" when it writes), in the words of
        the import's failure message after "Nothing was imported: "."""
        outcome = self.outcome
        if outcome.invalid_rows and not self.options.skip_invalid:
            return f"{outcome.invalid_rows} of {outcome.total_rows} rows are invalid."
        return ""

    def preview(self) -> ClientCsvPreview:
        outcome = self.outcome
        preview = ClientCsvPreview(
            delimiter=self.layout.delimiter,
            encoding=self.layout.encoding,
            columns=[_header_name(cell) for cell in self.layout.header],
            ignored_columns=self.layout.ignored_columns,
            duplicate_detection_fields=outcome.detection_fields,
            skip_duplicates=self.options.skip_duplicates,
            total_rows=outcome.total_rows,
            would_create=outcome.count("create"),
            would_update=outcome.count("update"),
            unchanged=outcome.count("unchanged"),
            skipped=outcome.count("skip"),
            errors=outcome.errors,
            skipped_rows=outcome.skipped_rows,
            not_imported_reason=self.not_imported_reason(),
        )
        preview.will_import = not preview.not_imported_reason
        for decision in outcome.decisions[:SAMPLE_ROWS]:
            preview.sample_rows.append({
                "line": decision.row.line,
                "action": decision.action,
                "name": decision.row.name,
                "status": decision.row.values.get("status", ""),
                "email": decision.row.values.get("email", ""),
                "custom_fields": decision.row.custom_fields,
                "contacts": len(decision.row.contacts),
            })
        return preview


# --------------------------------------------------------------------------------------
# Services
# --------------------------------------------------------------------------------------


def clients_import_preview(*, user, stored_file: str, options: ClientImportOptions) -> ClientCsvPreview:
    """Validate every row of a stored clients CSV and say what importing it would do. Writes
    nothing. Raises ImportFileError."""
    run = ClientCsvImport(user=user, path=stored_file_path(stored_file), options=options)
    run.check()
    return run.preview()


def clients_upload_check(*, stored_file: str, options: ClientImportOptions) -> None:
    """Refuse an unreadable file, one without a `name` column, or unknown duplicate detection
    fields now (a 400) instead of queueing an import that can only fail; removes a refused file."""
    path = stored_file_path(stored_file)
    try:
        _detection_fields(clients_csv_layout_detect(path), options.duplicate_detection_fields)
    except ImportFileError:
        path.unlink(missing_ok=True)
        raise


def clients_import_create(
    *, user, stored_file: str, source_file_name: str, options: ClientImportOptions, enqueue: bool = True
) -> DataImport:
    """A pending `csv_clients` DataImport, its task enqueued once the transaction commits
    (run at once when tasks run in-process). `enqueue=False` leaves running it to the caller."""
    stored_file_path(stored_file)
    data_import = data_import_create_once(
        owner=user,
        import_type=DataImport.Type.CSV_CLIENTS,
        source_file_name=(source_file_name or "")[:255],
        stored_file=stored_file,
        options=options.as_dict(),
    )
    if not enqueue:
        return data_import
    from .tasks import clients_import_task

    return data_import_enqueue(data_import, task=clients_import_task)


def _finish(data_import: DataImport, *, status: str, message: str, **fields_) -> DataImport:
    data_import.status = status
    data_import.status_message = message[:500]
    data_import.finished_at = timezone.now()
    for name, value in fields_.items():
        setattr(data_import, name, value)
    data_import.save()
    try:
        stored_file_path(data_import.stored_file).unlink(missing_ok=True)
    except ImportFileError:
        pass
    return data_import


def clients_import_run(*, data_import_id: int) -> DataImport:
    """The task body: check every row, then write all clients and contacts in one
    transaction, or nothing when a row is invalid and skipping invalid rows was not chosen.
    Skipped duplicates are listed in `row_errors` with their own message; they are not failures."""
    try:
        return _clients_import_run(data_import_id=data_import_id)
    except (OperationalError, InterfaceError):
        raise  # the connection, not the data: the task retries (nothing was written)
    except Exception as error:
        # Never leave an import "processing" for ever: the page would poll it without end.
        logger.exception("Client import %s failed", data_import_id)
        data_import = DataImport.objects.get(pk=data_import_id)
        if data_import.is_finished:
            return data_import
        return _finish(
            data_import,
            status=DataImport.Status.FAILED,
            message=f"Nothing was imported: the import failed unexpectedly ({type(error).__name__}: {error}).",
        )


def _clients_import_run(*, data_import_id: int) -> DataImport:
    data_import = DataImport.objects.get(pk=data_import_id)
    if data_import.is_finished:
        return data_import
    data_import.status = DataImport.Status.PROCESSING
    data_import.started_at = timezone.now()
    data_import.save(update_fields=["status", "started_at"])
    options = ClientImportOptions(**data_import.options)
    try:
        run = ClientCsvImport(user=data_import.owner, path=stored_file_path(data_import.stored_file), options=options)
        outcome = run.check()
    except ImportFileError as error:
        return _finish(data_import, status=DataImport.Status.FAILED, message=str(error))
    preview = run.preview()
    fields_ = {
        "total_records": outcome.total_rows,
        "failed_records": outcome.invalid_rows,
        "row_errors": [e.as_dict() for e in outcome.errors] + [n.as_dict() for n in outcome.skipped_rows],
        "summary": {
            "encoding": preview.encoding,
            "delimiter": preview.delimiter,
            "columns": preview.columns,
            "ignored_columns": preview.ignored_columns,
            "duplicate_detection_fields": outcome.detection_fields,
            "skip_duplicates": options.skip_duplicates,
            "invalid_rows": outcome.invalid_rows,
        },
    }
    if run.not_imported_reason():
        return _finish(
            data_import,
            status=DataImport.Status.FAILED,
            message=f"Nothing was imported: {run.not_imported_reason()}",
            **fields_,
        )
    if not options.dry_run:
        try:
            run.write()
        except (OperationalError, InterfaceError):
            raise
        except ClientCreatedMeanwhile as error:
            return _finish(
                data_import, status=DataImport.Status.FAILED, message=f"Nothing was imported: {error}.", **fields_
            )
        except DatabaseError as error:
            logger.exception("Client import %s failed", data_import_id)
            return _finish(
                data_import,
                status=DataImport.Status.FAILED,
                message=f"Nothing was imported: the database refused a row ({str(error).strip()[:200]}).",
                **fields_,
            )
    created, updated, unchanged, skipped = (
        outcome.count("create"), outcome.count("update"), outcome.count("unchanged"), outcome.count("skip")
    )
    verb = "Checked (dry run)" if options.dry_run else "Imported"
    message = f"{verb}: {created} created, {updated} updated, {unchanged} unchanged, {skipped} duplicates skipped"
    if outcome.invalid_rows:
        message += f", {outcome.invalid_rows} invalid rows skipped"
    return _finish(
        data_import,
        status=DataImport.Status.COMPLETED_WITH_ERRORS if outcome.invalid_rows else DataImport.Status.COMPLETED,
        message=message + ".",
        processed_records=outcome.total_rows,
        created_records=created,
        updated_records=updated,
        unchanged_records=unchanged,
        skipped_records=skipped,
        successful_records=created + updated + unchanged,
        **fields_,
    )


# --------------------------------------------------------------------------------------
# Export
# --------------------------------------------------------------------------------------


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return formula_escape(str(value))


def clients_csv_rows(clients: QuerySet[Client]) -> Iterator[list[str]]:
    """The header, then one row per client, in the layout the import reads: a custom field
    column for every key any exported client has, and as many contact slots as the client
    with the most contacts."""
    clients = list(clients.prefetch_related("contacts"))
    keys = sorted({key for client in clients for key in (client.custom_fields or {})})
    slots = max((len(client.contacts.all()) for client in clients), default=0)
    yield [
        *CLIENT_COLUMNS,
        *[CUSTOM_FIELD_PREFIX + key for key in keys],
        *[f"contact_{number}_{name}" for number in range(1, slots + 1) for name in CONTACT_FIELDS],
    ]
    for client in clients:
        row = [_cell(getattr(client, name)) for name in CLIENT_COLUMNS]
        custom = client.custom_fields or {}
        row += [formula_escape(custom_field_text(custom.get(key))) for key in keys]
        contacts = sorted(client.contacts.all(), key=lambda c: (c.position, c.id))
        for number in range(slots):
            contact = contacts[number] if number < len(contacts) else None
            row += [_cell(getattr(contact, name)) if contact else "" for name in CONTACT_FIELDS]
        yield row


def clients_csv_text(rows: Iterable[list[str]]) -> str:
    """CSV for Excel: UTF-8 with a BOM and CRLF; the import reads it back unchanged."""
    buffer = io.StringIO()
    buffer.write("\ufeff")
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue()


def clients_export_file_name() -> str:
    return f"clients_export_{timezone.now().astimezone(UTC):%Y%m%d_%H%M%S}.csv"
