"""What a mileage or per-diem report holds: CSV columns, PDF columns, totals, names. The
pages, the API, the admin and the background task all export through these two specs."""

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from exports.models import DataExport
from timetracker.models import Mileage, PerDiem

from . import selectors


def person_name(user) -> str:
    return user.get_full_name() or user.username


def _project_label(record) -> str:
    return record.project.name if record.project_id else ""


def _client_label(record) -> str:
    return record.client.name if record.client_id else ""


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


def _money(value: Decimal) -> str:
    return f"{value:.2f}"


@dataclass(frozen=True)
class PdfColumn:
    label: str
    numeric: bool = False
    width: str = ""
    # Never broken inside a word, as the long-text columns are (overflow-wrap): a split
    # "Submitte" / "d" or "1234567." / "00" misreads. Numeric columns never are. The widths
    # below give each such value room on one line; a total of "… km + … mi" wraps at spaces.
    whole_words: bool = False

    @property
    def css_class(self) -> str:
        if self.numeric:
            return "num whole-words"
        return "whole-words" if self.whole_words else ""


@dataclass(frozen=True)
class TravelReport:
    name: str  # "mileage" / "per_diem": file names, DataExport.export_type
    title: str
    empty_message: str
    model: type
    select: Callable  # selectors.mileage_list(*, user, filters)
    totals: Callable
    date_span: Callable
    csv_header: tuple[str, ...]
    csv_row: Callable  # record -> list of cells (str)
    pdf_columns: tuple[PdfColumn, ...]
    pdf_row: Callable  # record -> list of cells (str)
    pdf_totals_row: Callable  # totals dict -> list of cells (str)

    @property
    def export_type(self) -> str:
        return DataExport.Type(self.name).value


def _mileage_csv_row(m: Mileage) -> list[str]:
    return [
        str(m.pk),
        m.date.isoformat(),
        person_name(m.owner),
        m.purpose,
        m.from_location,
        m.to_location,
        f"{m.distance:.2f}",
        m.unit,
        "Yes" if m.round_trip else "No",
        f"{m.total_distance:.2f}",
        f"{m.rate_per_unit:.3f}",
        _money(m.amount),
        m.status,
        _project_label(m),
        _client_label(m),
        m.notes,
    ]


def _distance_total_label(totals: dict) -> str:
    parts = [f"{totals['distance_km']:.2f} km"]
    if totals["distance_mi"]:
        parts.append(f"{totals['distance_mi']:.2f} mi")
    return " + ".join(parts)


MILEAGE = TravelReport(
    name="mileage",
    title="Mileage Report",
    empty_message="No mileage entries found for the selected filters.",
    model=Mileage,
    select=selectors.mileage_list,
    totals=selectors.mileage_totals,
    date_span=selectors.mileage_date_span,
    csv_header=(
        "ID", "Date", "User", "Purpose", "From", "To", "Distance", "Unit", "Round Trip", "Total Distance",
        "Rate per Unit", "Amount", "Status", "Project", "Client", "Notes",
    ),
    csv_row=_mileage_csv_row,
    pdf_columns=(
        # Whole-word columns are wide enough for their widest value at 8.5 pt on
        # A4 landscape (785 pt): a row amount of 999999999.99, a bold total of 9999999999.99
        # (83 pt with padding, 10.5 %), "19999999.98 mi", "Reimbursed" (56 pt, 7.1 %).
        PdfColumn("Date", width="8%"),
        PdfColumn("User", width="11%"),
        PdfColumn("Purpose", width="14%"),
        PdfColumn("Route", width="17%"),
        PdfColumn("Project / Client", width="12%"),
        PdfColumn("Distance", numeric=True, width="11%"),
        PdfColumn("Rate", numeric=True, width="8%"),
        PdfColumn("Amount", numeric=True, width="11%"),
        PdfColumn("Status", whole_words=True, width="8%"),
    ),
    pdf_row=lambda m: [
        m.date.isoformat(),
        person_name(m.owner),
        m.purpose,
        f"{m.from_location} → {m.to_location}" + (" (round trip)" if m.round_trip else ""),
        " / ".join(filter(None, [_project_label(m), _client_label(m)])),
        f"{m.total_distance:.2f} {m.unit}",
        f"{m.rate_per_unit:.3f}/{m.unit}",
        _money(m.amount),
        m.get_status_display(),
    ],
    pdf_totals_row=lambda totals: [
        "Total", _count(totals["count"], "trip"), "", "", "", _distance_total_label(totals), "", _money(totals["amount"]), "",
    ],
)


def _meal_deductions(p: PerDiem) -> Decimal:
    return (
        p.breakfasts_provided * p.breakfast_deduction
        + p.lunches_provided * p.lunch_deduction
        + p.dinners_provided * p.dinner_deduction
    )


def _per_diem_csv_row(p: PerDiem) -> list[str]:
    return [
        str(p.pk),
        person_name(p.owner),
        p.purpose,
        p.start_date.isoformat(),
        p.end_date.isoformat(),
        p.country,
        p.city,
        str(p.full_days),
        str(p.partial_days),
        _money(p.daily_rate),
        _money(p.partial_day_rate),
        str(p.breakfasts_provided),
        str(p.lunches_provided),
        str(p.dinners_provided),
        _money(_meal_deductions(p)),
        _money(p.amount),
        p.status,
        _project_label(p),
        _client_label(p),
        p.notes,
    ]


PER_DIEM = TravelReport(
    name="per_diem",
    title="Per Diem Report",
    empty_message="No per diem claims found for the selected filters.",
    model=PerDiem,
    select=selectors.per_diem_list,
    totals=selectors.per_diem_totals,
    date_span=selectors.per_diem_date_span,
    csv_header=(
        "ID", "User", "Trip Purpose", "Start Date", "End Date", "Country", "City", "Full Days", "Partial Days",
        "Daily Rate", "Partial Day Rate", "Breakfasts Provided", "Lunches Provided", "Dinners Provided",
        "Meal Deductions", "Amount", "Status", "Project", "Client", "Notes",
    ),
    csv_row=_per_diem_csv_row,
    pdf_columns=(
        # As for mileage: dates (54 pt, 6.9 %), "Days (F / P)" in bold and "32767 / 32767"
        # (71 pt, 9 %), deductions and amounts as large as the model allows, "Reimbursed".
        PdfColumn("Start", width="7.5%"),
        PdfColumn("End", width="7.5%"),
        PdfColumn("User", width="11%"),
        PdfColumn("Trip Purpose", width="15%"),
        PdfColumn("Location", width="12%"),
        PdfColumn("Project / Client", width="10.5%"),
        PdfColumn("Days (F / P)", numeric=True, width="9%"),
        PdfColumn("Deductions", numeric=True, width="9%"),
        PdfColumn("Amount", numeric=True, width="11%"),
        PdfColumn("Status", whole_words=True, width="7.5%"),
    ),
    pdf_row=lambda p: [
        p.start_date.isoformat(),
        p.end_date.isoformat(),
        person_name(p.owner),
        p.purpose,
        ", ".join(filter(None, [p.city, p.country])),
        " / ".join(filter(None, [_project_label(p), _client_label(p)])),
        f"{p.full_days} / {p.partial_days}",
        _money(_meal_deductions(p)),
        _money(p.amount),
        p.get_status_display(),
    ],
    pdf_totals_row=lambda totals: [
        "Total", "", _count(totals["count"], "claim"), "", "", "",
        f"{totals['full_days']} / {totals['partial_days']}", "", _money(totals["amount"]), "",
    ],
)

REPORTS = {report.name: report for report in (MILEAGE, PER_DIEM)}
