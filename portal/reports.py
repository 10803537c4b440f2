"""The client report as CSV, in the original's sections (without its invoice rows: this
product has no invoices)."""

import csv
import io

from timetracker.lib.spreadsheet import neutralise_formula

from .selectors import PortalReport


def client_report_file_name(report: PortalReport) -> str:
    return f"client-report-{report.period.last_day.isoformat()}.csv"


def client_report_csv(report: PortalReport) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    # Client and project names are typed by people: never let a spreadsheet run them.
    writer.writerow([neutralise_formula(report.client.name), f"Last {report.period.days} days"])
    writer.writerow([])
    writer.writerow(["Summary"])
    writer.writerow(["Total Hours", report.total_hours])
    writer.writerow(["Billable Hours", report.billable_hours])
    writer.writerow([])
    writer.writerow(["Hours by Project"])
    writer.writerow(["Project", "Hours", "Billable Hours"])
    for project in report.projects:
        writer.writerow([neutralise_formula(project.name), project.hours, project.billable_hours])
    writer.writerow([])
    writer.writerow(["Time by Date"])
    writer.writerow(["Date", "Hours"])
    for day in report.days:
        writer.writerow([day.date.isoformat(), day.hours])
    # With a BOM, as the other CSV exports: Excel then reads accented names as UTF-8.
    return "\ufeff" + out.getvalue()
