from celery import shared_task

from exports.models import DataExport

from .services import pdf_export_build


@shared_task(acks_late=True)
def travel_pdf_export_build(data_export_id: int) -> str:
    """Build a queued mileage / per-diem PDF export; returns its final status."""
    data_export = DataExport.objects.select_related("owner").filter(pk=data_export_id).first()
    # PROCESSING too: with acks_late, a task whose worker died is delivered again.
    if data_export is None or data_export.status not in (DataExport.Status.PENDING, DataExport.Status.PROCESSING):
        return "skipped"
    return pdf_export_build(data_export=data_export).status
