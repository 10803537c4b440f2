"""Pages of mileage and per diem: one set of views serves both kinds (see PAGES)."""

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import (
    FileResponse,
    Http404,
    HttpResponse,
    HttpResponseBadRequest,
    JsonResponse,
    StreamingHttpResponse,
)
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from exports.selectors import expiry_message

from . import selectors, services
from .forms import MileageForm, PerDiemForm, TravelFilterForm
from .pdf import PdfRenderError
from .reports import MILEAGE, PER_DIEM, TravelReport

PAGE_SIZE = 50


@dataclass(frozen=True)
class TravelPage:
    report: TravelReport
    label: str
    singular: str
    form_class: type
    get_for_owner: Callable
    create: Callable
    update: Callable
    delete: Callable
    table_template: str

    def url(self, action: str) -> str:
        return reverse(f"{self.report.name}_{action}")


PAGES = {
    "mileage": TravelPage(
        report=MILEAGE,
        label="Mileage",
        singular="trip",
        form_class=MileageForm,
        get_for_owner=selectors.mileage_get_for_owner,
        create=lambda owner, fields: services.mileage_create(owner=owner, fields=fields),
        update=lambda record, fields: services.mileage_update(mileage=record, fields=fields),
        delete=lambda record: services.mileage_delete(mileage=record),
        table_template="travel/_mileage_table.html",
    ),
    "per_diem": TravelPage(
        report=PER_DIEM,
        label="Per diem",
        singular="per diem claim",
        form_class=PerDiemForm,
        get_for_owner=selectors.per_diem_get_for_owner,
        create=lambda owner, fields: services.per_diem_create(owner=owner, fields=fields),
        update=lambda record, fields: services.per_diem_update(per_diem=record, fields=fields),
        delete=lambda record: services.per_diem_delete(per_diem=record),
        table_template="travel/_per_diem_table.html",
    ),
}


def _filter_query(request) -> str:
    """The current filters as a query string, without the page number."""
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()


@login_required
@require_GET
def record_list(request, kind):
    page = PAGES[kind]
    filter_form = TravelFilterForm(request.GET or None)
    filters_invalid = filter_form.is_bound and not filter_form.is_valid()
    if filters_invalid:
        # List nothing, as the exports of the same query answer 400: no rows or totals the
        # filters did not select.
        queryset = page.report.model.objects.none()
    else:
        queryset = page.report.select(user=request.user, filters=filter_form.filters())
    rows = Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "travel/record_list.html",
        {
            "page": page,
            "filter_form": filter_form,
            "rows": rows,
            "filters_invalid": filters_invalid,
            "totals": None if filters_invalid else page.report.totals(queryset=queryset),
            "filter_query": _filter_query(request),
            "exports": selectors.travel_exports_recent(user=request.user, export_type=page.report.export_type),
            "sync_pdf_limit": services.pdf_export_sync_limit(),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def record_create(request, kind):
    page = PAGES[kind]
    form = page.form_class(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            record = page.create(request.user, form.cleaned_data)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, f"Saved {page.singular} #{record.pk} ({record.amount:.2f}).")
            return redirect(page.url("list"))
    return render(request, "travel/record_form.html", {"page": page, "form": form, "record": None})


@login_required
@require_http_methods(["GET", "POST"])
def record_edit(request, kind, pk):
    page = PAGES[kind]
    record = page.get_for_owner(user=request.user, pk=pk)
    form = page.form_class(request.POST or None, instance=record)
    if request.method == "POST" and form.is_valid():
        try:
            record = page.update(record, form.cleaned_data)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, f"Saved {page.singular} #{record.pk} ({record.amount:.2f}).")
            return redirect(page.url("list"))
    return render(request, "travel/record_form.html", {"page": page, "form": form, "record": record})


@login_required
@require_http_methods(["GET", "POST"])
def record_delete(request, kind, pk):
    page = PAGES[kind]
    record = page.get_for_owner(user=request.user, pk=pk)
    if request.method == "POST":
        page.delete(record)
        messages.success(request, f"Deleted {page.singular} #{pk}.")
        return redirect(page.url("list"))
    return render(request, "travel/record_confirm_delete.html", {"page": page, "record": record})


def _invalid_filters(filter_form) -> HttpResponseBadRequest:
    return HttpResponseBadRequest(f"Invalid filter: {filter_form.error_text()}", content_type="text/plain")


def _attachment(file_name: str) -> str:
    return f'attachment; filename="{file_name}"'


@login_required
@require_GET
def export_csv(request, kind):
    page = PAGES[kind]
    filter_form = TravelFilterForm(request.GET)
    if not filter_form.is_valid():
        return _invalid_filters(filter_form)
    filters = filter_form.filters()
    queryset = page.report.select(user=request.user, filters=filters)
    file_name = services.export_file_name(report=page.report, filters=filters, queryset=queryset, extension="csv")
    response = StreamingHttpResponse(
        services.csv_stream(report=page.report, queryset=queryset), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = _attachment(file_name)
    return response


@login_required
@require_GET
def export_pdf(request, kind):
    page = PAGES[kind]
    filter_form = TravelFilterForm(request.GET)
    if not filter_form.is_valid():
        return _invalid_filters(filter_form)
    filters = filter_form.filters()
    queryset = page.report.select(user=request.user, filters=filters)
    list_url = f"{page.url('list')}?{_filter_query(request)}"
    try:
        result = services.pdf_export(report=page.report, user=request.user, filters=filters, queryset=queryset)
    except (services.PdfExportTooLarge, PdfRenderError) as error:
        messages.error(request, f"PDF export failed: {error}")
        return redirect(list_url)
    if result.data_export is not None:
        messages.info(
            request, f"The PDF is large, so it is being built in the background (export #{result.data_export.pk}). "
            "Its download link appears below when it is ready.",
        )
        return redirect(list_url)
    response = HttpResponse(result.content, content_type="application/pdf")
    response["Content-Disposition"] = _attachment(result.file_name)
    return response


def _visible_export(request, pk):
    return get_object_or_404(selectors.travel_exports_visible_to(user=request.user), pk=pk)


@login_required
@require_GET
def export_status(request, pk):
    data_export = _visible_export(request, pk)
    return JsonResponse(
        {
            "id": data_export.pk,
            # As the exports API says it (exports.views.export_as_json): past its date it is expired.
            "status": data_export.Status.EXPIRED.value if data_export.is_expired else data_export.status,
            "progress_percent": data_export.progress_percent,
            "file_name": data_export.file_name,
            "error_message": data_export.error_message,
            "download_url": reverse("travel_export_download", args=[data_export.pk])
            if data_export.status == data_export.Status.COMPLETED and not data_export.is_expired
            else None,
        }
    )


@login_required
@require_GET
def export_download(request, pk):
    data_export = _visible_export(request, pk)
    if data_export.status == data_export.Status.EXPIRED or data_export.is_expired:
        message = expiry_message(export=data_export, viewer=request.user)
        return HttpResponse(message, status=410, content_type="text/plain")
    if data_export.status != data_export.Status.COMPLETED:
        return HttpResponse(f"Export #{pk} is {data_export.status}, not ready.", status=409, content_type="text/plain")
    root = Path(settings.PRIVATE_STORAGE_DIR).resolve()
    path = (root / data_export.file_path).resolve()
    if not path.is_relative_to(root) or not path.is_file():
        raise Http404("Export file not found")
    return FileResponse(open(path, "rb"), as_attachment=True, filename=data_export.file_name)
