"""Writes for mileage and per diem, and their CSV and PDF exports."""

import csv
import hashlib
import io
import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, BinaryIO
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone

from exports.models import DataExport
from timetracker.lib.spreadsheet import neutralise_formula
from timetracker.models import Mileage, PerDiem

from .pdf import pdf_font_files, pdf_markup, pdf_render
from .reports import TravelReport, person_name
from .selectors import TravelFilters

log = logging.getLogger(__name__)

MILEAGE_FIELDS = (
    "date", "project", "client", "purpose", "from_location", "to_location", "distance", "unit",
    "round_trip", "rate_per_unit", "status", "notes",
)
PER_DIEM_FIELDS = (
    "start_date", "end_date", "country", "city", "purpose", "project", "client", "full_days", "partial_days",
    "daily_rate", "partial_day_rate", "breakfasts_provided", "lunches_provided", "dinners_provided",
    "breakfast_deduction", "lunch_deduction", "dinner_deduction", "status", "notes",
)
CSV_BOM = "\ufeff"
# Background export files live under PRIVATE_STORAGE_DIR/travel/<export id>/.
EXPORT_SUBDIR = "travel"


# ---------------------------------------------------------------------------------------
# Records


def _assign(record, fields: Mapping[str, Any], allowed: tuple[str, ...]) -> None:
    unknown = sorted(set(fields) - set(allowed))
    if unknown:
        raise ValueError(f"Unknown field(s): {', '.join(unknown)}")
    for name, value in fields.items():
        setattr(record, name, value)


@transaction.atomic
def mileage_create(*, owner, fields: Mapping[str, Any]) -> Mileage:
    """Create a trip for `owner`. The amount is computed by the model; ValidationError names
    the field at fault."""
    mileage = Mileage(owner=owner)
    _assign(mileage, fields, MILEAGE_FIELDS)
    return _mileage_save(mileage)


@transaction.atomic
def mileage_update(*, mileage: Mileage, fields: Mapping[str, Any]) -> Mileage:
    _assign(mileage, fields, MILEAGE_FIELDS)
    return _mileage_save(mileage)


def _mileage_save(mileage: Mileage) -> Mileage:
    # Mileage.clean() holds the invariants (project and client agree), as for the admin.
    mileage.full_clean(exclude=["amount"])
    mileage.save()
    return mileage


def mileage_delete(*, mileage: Mileage) -> None:
    mileage.delete()


@transaction.atomic
def per_diem_create(*, owner, fields: Mapping[str, Any]) -> PerDiem:
    """Create a per-diem claim for `owner`; the amount is computed by the model."""
    per_diem = PerDiem(owner=owner)
    _assign(per_diem, fields, PER_DIEM_FIELDS)
    return _per_diem_save(per_diem)


@transaction.atomic
def per_diem_update(*, per_diem: PerDiem, fields: Mapping[str, Any]) -> PerDiem:
    _assign(per_diem, fields, PER_DIEM_FIELDS)
    return _per_diem_save(per_diem)


def _per_diem_save(per_diem: PerDiem) -> PerDiem:
    # PerDiem.clean() holds the invariants (days fit the trip, project and client agree).
    per_diem.full_clean(exclude=["amount"])
    per_diem.save()
    return per_diem


def per_diem_delete(*, per_diem: PerDiem) -> None:
    per_diem.delete()


# ---------------------------------------------------------------------------------------
# Exports


def export_file_name(*, report: TravelReport, filters: TravelFilters, queryset, extension: str) -> str:
    """`mileage_export_2024-03-01_to_2024-03-31.csv`: the filter's dates, or else the first
    and last date of the rows exported ("all" only when there is neither)."""
    first, last = filters.start_date, filters.end_date
    if first is None or last is None:
        data_first, data_last = report.date_span(queryset=queryset)
        first = first or data_first
        last = last or data_last
    return f"{report.name}_export_{_day(first)}_to_{_day(last)}.{extension}"


def _day(value: date | None) -> str:
    return value.isoformat() if value else "all"


class _LineBuffer:
    """csv.writer target that hands back each formatted line instead of storing it."""

    def write(self, line: str) -> str:
        return line


def csv_stream(*, report: TravelReport, queryset) -> Iterator[bytes]:
    """The export as UTF-8 CSV (with BOM, for Excel) and CRLF line ends, one row at a time
    so memory does not grow with the number of rows. Text cells that a spreadsheet would run
    as a formula get a leading `'`."""
    writer = csv.writer(_LineBuffer(), lineterminator="\r\n")
    yield (CSV_BOM + writer.writerow([neutralise_formula(cell) for cell in report.csv_header])).encode()
    for record in queryset.iterator(chunk_size=1000):
        yield writer.writerow([neutralise_formula(cell) for cell in report.csv_row(record)]).encode()


def _period_label(filters: TravelFilters) -> str:
    if filters.start_date and filters.end_date:
        return f"Period: {filters.start_date.isoformat()} to {filters.end_date.isoformat()}"
    if filters.start_date:
        return f"From: {filters.start_date.isoformat()}"
    if filters.end_date:
        return f"Until: {filters.end_date.isoformat()}"
    return "Period: All dates"


def _user_now(user) -> str:
    profile = getattr(user, "profile", None)
    zone_name = profile.timezone if profile else "UTC"
    return f"{timezone.now().astimezone(ZoneInfo(zone_name)):%Y-%m-%d %H:%M} {zone_name}"


def pdf_write(*, report: TravelReport, user, filters: TravelFilters, queryset, dest: BinaryIO, on_row=None) -> int:
    """Render the PDF report of `queryset` for `user` into `dest`; returns the row count.
    `on_row(n)` is called as rows are laid out, for progress."""
    classes = [column.css_class for column in report.pdf_columns]
    rows = []
    for number, record in enumerate(queryset.iterator(chunk_size=1000), start=1):
        rows.append(list(zip((pdf_markup(cell) for cell in report.pdf_row(record)), classes)))
        if on_row is not None and number % 200 == 0:
            on_row(number)
    totals = report.totals(queryset=queryset)
    html = render_to_string(
        "travel/report_pdf.html",
        {
            "title": report.title,
            "who": pdf_markup(person_name(user)),
            "period": _period_label(filters),
            "generated": _user_now(user),
            "filters_applied": pdf_markup(" | ".join(filters.describe()) or "none"),
            "columns": report.pdf_columns,
            "rows": rows,
            "totals_row": list(zip((pdf_markup(cell) for cell in report.pdf_totals_row(totals)), classes)),
            "empty_message": report.empty_message,
            "fonts": pdf_font_files(),
        },
    )
    pdf_render(html=html, dest=dest)
    return len(rows)


# ---------------------------------------------------------------------------------------
# Large PDFs: built in the background into a DataExport


def pdf_export_sync_limit() -> int:
    return settings.TRAVEL_PDF_SYNC_MAX_ROWS


class PdfExportTooLarge(Exception):
    pass


@dataclass(frozen=True)
class PdfExportResult:
    """Either the finished file (small exports) or the queued background export."""

    file_name: str = ""
    content: bytes = b""
    data_export: DataExport | None = None


def pdf_export(*, report: TravelReport, user, filters: TravelFilters, queryset) -> PdfExportResult:
    """Render a small PDF now, queue a large one, refuse one too large to lay out at all
    (xhtml2pdf holds the whole document in memory). Raises PdfExportTooLarge or
    PdfRenderError with a message for the user."""
    count = queryset.count()
    if count > settings.TRAVEL_PDF_MAX_ROWS:
        raise PdfExportTooLarge(
            f"A PDF holds at most {settings.TRAVEL_PDF_MAX_ROWS} rows and these filters match {count}; "
            "narrow the filters or export CSV."
        )
    if count > pdf_export_sync_limit():
        return PdfExportResult(data_export=pdf_export_queue(report=report, user=user, filters=filters))
    buffer = io.BytesIO()
    pdf_write(report=report, user=user, filters=filters, queryset=queryset, dest=buffer)
    file_name = export_file_name(report=report, filters=filters, queryset=queryset, extension="pdf")
    return PdfExportResult(file_name=file_name, content=buffer.getvalue())


@transaction.atomic
def pdf_export_queue(*, report: TravelReport, user, filters: TravelFilters) -> DataExport:
    """Record a background PDF export and start its task once the row is committed."""
    from .tasks import travel_pdf_export_build

    # Expires EXPORT_TTL after creation, like every export; finishing the file does not move it.
    now = timezone.now()
    data_export = DataExport.objects.create(
        owner=user,
        export_type=report.export_type,
        export_format=DataExport.Format.PDF,
        filters=filters.as_json(),
        status=DataExport.Status.PENDING,
        created_at=now,
        expires_at=now + settings.EXPORT_TTL,
    )
    transaction.on_commit(lambda: travel_pdf_export_build.delay(data_export.pk))
    return data_export


def pdf_export_build(*, data_export: DataExport) -> DataExport:
    """Build the file of a queued PDF export under PRIVATE_STORAGE_DIR and mark it
    completed (or failed, with the reason). Rows are selected as the owner sees them now."""
    from .reports import REPORTS

    report = REPORTS[data_export.export_type]
    filters = TravelFilters.from_json(data_export.filters)
    queryset = report.select(user=data_export.owner, filters=filters)
    DataExport.objects.filter(pk=data_export.pk).update(
        status=DataExport.Status.PROCESSING, total_records=queryset.count(), processed_records=0
    )
    file_name = export_file_name(report=report, filters=filters, queryset=queryset, extension="pdf")
    relative = Path(EXPORT_SUBDIR) / str(data_export.pk) / file_name
    target = Path(settings.PRIVATE_STORAGE_DIR) / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        with open(target, "wb") as dest:
            count = pdf_write(
                report=report,
                user=data_export.owner,
                filters=filters,
                queryset=queryset,
                dest=dest,
                on_row=lambda n: DataExport.objects.filter(pk=data_export.pk).update(processed_records=n),
            )
    except Exception as exc:
        log.exception("Travel PDF export %s failed", data_export.pk)
        target.unlink(missing_ok=True)
        DataExport.objects.filter(pk=data_export.pk).update(
            status=DataExport.Status.FAILED, error_message=f"PDF export failed: {exc}", completed_at=timezone.now()
        )
        data_export.refresh_from_db()
        return data_export
    digest = hashlib.sha256(target.read_bytes()).hexdigest()
    DataExport.objects.filter(pk=data_export.pk).update(
        status=DataExport.Status.COMPLETED,
        file_path=str(relative),
        file_name=file_name,
        file_size=target.stat().st_size,
        sha256=digest,
        record_count=count,
        processed_records=count,
        completed_at=timezone.now(),
    )
    data_export.refresh_from_db()
    return data_export
