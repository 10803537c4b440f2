"""django-import-export resources: one per CSV layout we read, plus the TimeEntry resource
that the admin and our own export layout use.

A format resource declares which file columns it knows (`Field.column_name`), what each one
means (`Field.attribute`, a key of the canonical row) and how a cell is read (`Field.widget`).
`imports.services` recognises a file by matching its header against these declarations and
cleans every cell through the widgets; it keeps the validate-then-write control itself.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC

from import_export import fields, resources, widgets

from timetracker.lib import timeparse
from timetracker.lib.formulas import formula_escape, formula_unescape
from timetracker.lib.tag_cells import join_tag_names, split_tag_names
from timetracker.models import TimeEntry

TRUE_WORDS = {"true", "yes", "y", "1", "t", "x", "ja", "oui", "sí", "si", "sim", "はい", "是", "да", "billable"}
FALSE_WORDS = {"false", "no", "n", "0", "f", "nein", "non", "não", "nao", "いいえ", "否", "нет", "non-billable"}


@dataclass
class CellContext:
    """What a cell means depends on the whole file: the date order and decimal separator."""

    date_order: str | None = None
    decimal_comma: bool = False
    # Our own export layout (the template with `id` or `user_email`) is written from stored
    # values: its names, notes and tags are read exactly as written (not trimmed, not
    # normalised), so re-importing it changes nothing. The plain template stays forgiving.
    our_export: bool = False


def _context(kwargs) -> CellContext:
    return kwargs.get("context") or CellContext()


class TextWidget(widgets.Widget):
    """Trimmed text. With `unescape`, a `'` we put in front of a formula character on export
    is taken off again (our own layout only). With `exact_in_our_export`, a cell of our own
    export layout is kept exactly as written."""

    def __init__(self, *, unescape: bool = False, strip: bool = True, exact_in_our_export: bool = False):
        super().__init__()
        self.unescape = unescape
        self.strip = strip
        self.exact_in_our_export = exact_in_our_export

    def clean(self, value, row=None, **kwargs):
        text = "" if value is None else str(value)
        if self.unescape:
            text = formula_unescape(text)
        if self.exact_in_our_export and _context(kwargs).our_export:
            return text  # notes of " " are a note of one space there
        if not text.strip():
            return ""
        # One spelling per name: "Müller" typed on a Mac (decomposed) is the same client.
        text = unicodedata.normalize("NFC", text)
        # Leading tabs/CRs in notes are data (case 13); only names are trimmed.
        return text.strip() if self.strip else text

    def render(self, value, obj=None, **kwargs):
        return formula_escape("" if value is None else str(value))


class TagsWidget(widgets.Widget):
    def __init__(self, *, separator: str, unescape: bool = False):
        super().__init__()
        self.separator = separator
        self.unescape = unescape

    def clean(self, value, row=None, **kwargs):
        names = []
        cell = str(value or "")
        # Our own layout escapes `;` and `\` inside a name (timetracker.lib.tag_cells).
        parts = split_tag_names(cell) if self.unescape else cell.split(self.separator)
        exact = self.unescape and _context(kwargs).our_export
        for part in parts:
            if exact:  # a tag named " spaced " is that tag, not "spaced"
                name = formula_unescape(part)
            else:
                name = unicodedata.normalize("NFC", formula_unescape(part.strip()) if self.unescape else part.strip())
            if name and name not in names:
                names.append(name)
        if any(len(name) > 100 for name in names):
            raise ValueError("a tag name is longer than 100 characters")
        return tuple(names)


class BillableWidget(widgets.Widget):
    def clean(self, value, row=None, **kwargs):
        text = str(value or "").strip().lower()
        if not text:
            return None
        if text in TRUE_WORDS:
            return True
        if text in FALSE_WORDS:
            return False
        raise ValueError("not a yes/no value (use true/false, yes/no or 1/0)")


class DateCellWidget(widgets.Widget):
    def clean(self, value, row=None, **kwargs):
        text = str(value or "").strip()
        return timeparse.parse_date(text, _context(kwargs).date_order) if text else None


class TimeCellWidget(widgets.Widget):
    def clean(self, value, row=None, **kwargs):
        text = str(value or "").strip()
        return timeparse.parse_time(text) if text else None


class DateTimeCellWidget(widgets.Widget):
    def clean(self, value, row=None, **kwargs):
        text = str(value or "").strip()
        return timeparse.parse_datetime(text, _context(kwargs).date_order) if text else None


class DurationWidget(widgets.Widget):
    def clean(self, value, row=None, **kwargs):
        text = str(value or "").strip()
        return timeparse.parse_duration(text, decimal_comma=_context(kwargs).decimal_comma) if text else None


class EntryIdWidget(widgets.Widget):
    def clean(self, value, row=None, **kwargs):
        text = str(value or "").strip()
        if not text:
            return None
        if not text.isdigit():
            raise ValueError("not a time entry id")
        return int(text)


def _field(attribute: str, column: str, widget: widgets.Widget) -> fields.Field:
    return fields.Field(attribute=attribute, column_name=column, widget=widget)


class CsvFormatResource(resources.Resource):
    """Base of the CSV layouts. Subclasses declare fields and these class attributes."""

    format_name = ""
    label = ""
    required: tuple[str, ...] = ()  # column names that must be present
    signature: tuple[str, ...] = ()  # at least one must be present (tells similar layouts apart)
    aliases: dict[str, str] = {}  # other spellings of a column -> our column name
    known_unused: tuple[str, ...] = ()  # columns we recognise but do not import (regexes)
    dates_in_time_columns = False  # template: the start/end cells carry their own dates
    formula_unescape = False
    source_has_ids = False

    def column_fields(self) -> dict[str, fields.Field]:
        return {field.column_name.lower(): field for field in self.get_fields()}

    def match_header(self, header: list[str]) -> dict[int, fields.Field] | None:
        """Map header positions to fields, or None when this layout does not fit."""
        by_name = self.column_fields()
        names = [cell.strip().lstrip("\ufeff").lower() for cell in header]
        mapping = {}
        for position, name in enumerate(names):
            name = self.aliases.get(name, name)
            if name in by_name and by_name[name] not in mapping.values():
                mapping[position] = by_name[name]
        found = {field.column_name.lower() for field in mapping.values()}
        if not all(column.lower() in found for column in self.required):
            return None
        if self.signature and not any(s.lower() in names for s in self.signature):
            return None
        return mapping

    def is_known_unused(self, column: str) -> bool:
        return any(re.fullmatch(pattern, column.strip(), re.IGNORECASE) for pattern in self.known_unused)


class TemplateCsvResource(CsvFormatResource):
    """Our template, and our own export layout (which adds `id` and `user_email`)."""

    format_name = "template"
    label = "TimeTracker template"
    required = ("project_name", "start_time")
    dates_in_time_columns = True
    formula_unescape = True
    source_has_ids = True

    entry_id = _field("entry_id", "id", EntryIdWidget())
    user_email = _field("user_email", "user_email", TextWidget(unescape=True))
    project_name = _field("project", "project_name", TextWidget(unescape=True, exact_in_our_export=True))
    client_name = _field("client", "client_name", TextWidget(unescape=True, exact_in_our_export=True))
    task_name = _field("task", "task_name", TextWidget(unescape=True, exact_in_our_export=True))
    start_time = _field("start", "start_time", DateTimeCellWidget())
    end_time = _field("end", "end_time", DateTimeCellWidget())
    duration_hours = _field("duration", "duration_hours", DurationWidget())
    notes = _field("notes", "notes", TextWidget(unescape=True, strip=False, exact_in_our_export=True))
    tags = _field("tags", "tags", TagsWidget(separator=";", unescape=True))
    billable = _field("billable", "billable", BillableWidget())


class TogglDetailedResource(CsvFormatResource):
    """Toggl Track "Detailed report" CSV and Settings -> "Export time entries" CSV."""

    format_name = "toggl"
    label = "Toggl Track detailed report"
    required = ("Project", "Start date", "Start time", "End date", "End time")
    known_unused = (r"Amount \(.*\)", r"User", r"Email", r"Duration \(decimal\)")

    person = _field("person", "User", TextWidget())
    client = _field("client", "Client", TextWidget())
    project = _field("project", "Project", TextWidget())
    task = _field("task", "Task", TextWidget())
    description = _field("notes", "Description", TextWidget(strip=False))
    billable = _field("billable", "Billable", BillableWidget())
    start_date = _field("start_date", "Start date", DateCellWidget())
    start_time = _field("start_time", "Start time", TimeCellWidget())
    end_date = _field("end_date", "End date", DateCellWidget())
    end_time = _field("end_time", "End time", TimeCellWidget())
    duration = _field("duration", "Duration", DurationWidget())
    tags = _field("tags", "Tags", TagsWidget(separator=","))


class ClockifyDetailedResource(TogglDetailedResource):
    """Clockify "Detailed report" CSV (US or European settings, 12- or 24-hour clock)."""

    format_name = "clockify"
    label = "Clockify detailed report"
    signature = ("Duration (h)", "Duration (decimal)", "Group", "Activity", "Type", "Invoiced")
    aliases = {"activity": "task"}
    known_unused = (
        r"Duration \(decimal\)",
        r"Billable Rate \(.*\)",
        r"Billable Amount \(.*\)",
        r"Group",
        r"Type",
        r"Invoiced",
        r"Invoice ID",
        r"Date of creation",
        r"User",
        r"Email",
    )

    duration = _field("duration", "Duration (h)", DurationWidget())


class HarvestDetailedResource(CsvFormatResource):
    """Harvest detailed time report / "Export all time" CSV: a date and hours, no clock times."""

    format_name = "harvest"
    label = "Harvest detailed time report"
    required = ("Date", "Project", "Hours")
    known_unused = (
        r"Project Code",
        r"Hours Rounded",
        r"Invoiced\?",
        r"Approved\?",
        r"Roles",
        r"Employee\?",
        r"Billable Rate",
        r"Billable Amount",
        r"Cost Rate",
        r"Cost Amount",
        r"Currency",
        r"External Reference URL",
        r"First Name",
        r"Last Name",
    )

    date = _field("start_date", "Date", DateCellWidget())
    client = _field("client", "Client", TextWidget())
    project = _field("project", "Project", TextWidget())
    task = _field("task", "Task", TextWidget())
    notes = _field("notes", "Notes", TextWidget(strip=False))
    hours = _field("duration", "Hours", DurationWidget())
    billable = _field("billable", "Billable?", BillableWidget())
    started = _field("start_time", "Started At", TimeCellWidget())
    ended = _field("end_time", "Ended At", TimeCellWidget())
    first_name = _field("person", "First Name", TextWidget())


class SolidtimeGenericResource(CsvFormatResource):
    """solidtime's generic time-entry CSV (UTC ISO times)."""

    format_name = "solidtime"
    label = "solidtime generic CSV"
    required = ("project", "start", "end", "description")
    known_unused = (r"user_name", r"user_email")
    dates_in_time_columns = True

    description = _field("notes", "description", TextWidget(strip=False))
    billable = _field("billable", "billable", BillableWidget())
    client = _field("client", "client", TextWidget())
    project = _field("project", "project", TextWidget())
    tags = _field("tags", "tags", TagsWidget(separator=","))
    start = _field("start", "start", DateTimeCellWidget())
    end = _field("end", "end", DateTimeCellWidget())
    task = _field("task", "task", TextWidget())


# Checked in this order: Clockify before Toggl (Clockify's header is Toggl's plus extras).
CSV_FORMATS: tuple[type[CsvFormatResource], ...] = (
    TemplateCsvResource,
    SolidtimeGenericResource,
    ClockifyDetailedResource,
    TogglDetailedResource,
    HarvestDetailedResource,
)

TEMPLATE_COLUMNS = [
    "project_name",
    "client_name",
    "task_name",
    "start_time",
    "end_time",
    "duration_hours",
    "notes",
    "tags",
    "billable",
]
EXPORT_COLUMNS = ["id", "user_email", *TEMPLATE_COLUMNS]


def csv_format_for_header(header: list[str]) -> tuple[CsvFormatResource, dict[int, fields.Field]] | None:
    for resource_class in CSV_FORMATS:
        resource = resource_class()
        mapping = resource.match_header(header)
        if mapping is not None:
            return resource, mapping
    return None


class IsoDateTimeWidget(widgets.Widget):
    """UTC ISO 8601, microseconds kept when the entry has them (a re-import compares at the
    precision written)."""

    def render(self, value, obj=None, **kwargs):
        return value.astimezone(UTC).isoformat() if value else ""


class TagNamesWidget(widgets.Widget):
    def render(self, value, obj=None, **kwargs):
        names = sorted(tag.name for tag in value.all()) if value is not None else []
        return join_tag_names(formula_escape(name) for name in names)


class BillableWordWidget(widgets.Widget):
    def render(self, value, obj=None, **kwargs):
        return "true" if value else "false"


class TimeEntryResource(resources.ModelResource):
    """Our export layout (`id,user_email,project_name,…`) for the admin's export, and the
    admin's import, which it hands to the import service instead of saving rows itself."""

    id = fields.Field(attribute="id", column_name="id", readonly=True)
    user_email = _field("owner__email", "user_email", TextWidget())
    project_name = _field("project__name", "project_name", TextWidget())
    client_name = _field("project__client__name", "client_name", TextWidget())
    task_name = _field("task__name", "task_name", TextWidget())
    start_time = _field("start", "start_time", IsoDateTimeWidget())
    end_time = _field("end", "end_time", IsoDateTimeWidget())
    duration_hours = _field("duration_hours", "duration_hours", widgets.Widget())
    notes = _field("notes", "notes", TextWidget(strip=False))
    tags = _field("tags", "tags", TagNamesWidget())
    billable = _field("billable", "billable", BillableWordWidget())

    class Meta:
        model = TimeEntry
        fields = tuple(EXPORT_COLUMNS)
        export_order = tuple(EXPORT_COLUMNS)
        import_id_fields = ("id",)

    def get_queryset(self):
        return TimeEntry.objects.select_related("owner", "project__client", "task").prefetch_related("tags")

    def import_data(self, dataset, dry_run=False, raise_errors=False, use_transactions=None, collect_failed_rows=False,
                    rollback_on_validation_errors=False, **kwargs):
        from .admin import time_entries_admin_import

        return time_entries_admin_import(resource=self, dataset=dataset, dry_run=dry_run, **kwargs)
