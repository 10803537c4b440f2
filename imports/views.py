"""The Import/Export page and the session (cookie) JSON endpoints under /api/import/.

Every POST here is CSRF-protected (the page sends the token as X-CSRFToken); a request
without it gets a 403 JSON answer from `csrf_failure`. The work itself is done by
imports.services; these views validate input, call one service and shape the answer.
"""

from django.contrib.auth.decorators import login_required
from django.core import signing
from django.http import HttpResponse, HttpResponseBadRequest, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.views import csrf as django_csrf
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_POST

from timetracker.decorators import login_required_json, require_methods_json
from timetracker.services import user_profile_get_or_create

from .api import DataImportOutputSerializer, import_accepted_data, stored_csv_check
from .clients import (
    CLIENTS_TEMPLATE_FILE_NAME,
    ClientImportOptions,
    clients_csv_rows,
    clients_csv_text,
    clients_export_file_name,
    clients_import_create,
    clients_import_options_bound,
    clients_import_options_changed,
    clients_import_preview,
    clients_template_csv,
    clients_upload_check,
    detection_fields_parse,
)
from .forms import (
    ClientCsvImportForm,
    CsvImportForm,
    request_body_too_large,
    upload_limit_message,
)
from .models import DataImport
from .resources import TEMPLATE_COLUMNS
from .selectors import UnknownClientStatus, clients_for_export, data_imports_visible_to
from .services import (
    ALREADY_IMPORTED,
    CsvImportOptions,
    ImportFileError,
    UploadTooLarge,
    csv_import_create,
    csv_import_options_bound,
    csv_import_options_changed,
    csv_import_preview,
    csv_upload_store,
)

HISTORY_LIMIT = 50
TEMPLATE_FILE_NAME = "timetracker_import_template.csv"
TEMPLATE_CSV = (
    ",".join(TEMPLATE_COLUMNS) + "\r\n"
    "Example Project,Example Client,Example Task,2024-01-01 09:00:00,2024-01-01 10:30:00,1.5,"
    "Meeting with client,meeting;client,true\r\n"
    "Another Project,Another Client,,2024-01-01 14:00:00,2024-01-01 16:00:00,2.0,"
    "Development work,dev;coding,true\r\n"
)
# A preview hands the page a signed reference to the stored upload, so confirming does not
# send the file a second time and imports exactly the bytes that were previewed.
UPLOAD_TOKEN_SALT = "imports.csv-upload"
UPLOAD_TOKEN_MAX_AGE = 60 * 60


def csrf_failure(request, reason=""):
    """settings.CSRF_FAILURE_VIEW: JSON for the /api/ endpoints, Django's page elsewhere."""
    if request.path.startswith("/api/"):
        return JsonResponse(
            {
                "success": False,
                "error": "CSRF token missing or incorrect",
                "message": "Send the csrftoken cookie's value as the X-CSRFToken header "
                "(the pages read it from <meta name=\"csrf-token\">).",
                "reason": reason,
            },
            status=403,
        )
    return django_csrf.csrf_failure(request, reason=reason)


def json_error(message: str, *, status: int = 400) -> JsonResponse:
    return JsonResponse({"success": False, "error": message}, status=status)


@login_required
@require_GET
def import_export_page(request):
    profile = user_profile_get_or_create(user=request.user)
    form = CsvImportForm(initial={"timezone": profile.timezone})
    clients_form = ClientCsvImportForm()  # labels and help texts; the section writes its own inputs
    history = data_imports_visible_to(user=request.user)[:HISTORY_LIMIT]
    return render(
        request,
        "imports/import_export.html",
        {"form": form, "clients_form": clients_form, "history": history, "show_owner": request.user.is_staff},
    )


@login_required_json
@require_GET
def import_template_csv(request):
    response = HttpResponse(TEMPLATE_CSV, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{TEMPLATE_FILE_NAME}"'
    return response


def upload_token_for(*, user, stored_file: str, source_file_name: str, options: dict | None = None) -> str:
    """A preview's signed reference to its upload; `options`, when given, are the previewed
    options a confirmation must keep (see `upload_token_options`)."""
    payload = {"user": user.pk, "file": stored_file, "name": source_file_name}
    if options is not None:
        payload["options"] = options
    return signing.dumps(payload, salt=UPLOAD_TOKEN_SALT)


def upload_token_options(token: str) -> dict:
    """The options a preview bound into its token ({} for none, or for a bad token: refusing
    it is `upload_from_token`'s job)."""
    try:
        return signing.loads(token, salt=UPLOAD_TOKEN_SALT, max_age=UPLOAD_TOKEN_MAX_AGE).get("options") or {}
    except signing.BadSignature:
        return {}


def upload_from_token(*, user, token: str) -> tuple[str, str]:
    """(stored_file, source_file_name) of a preview's upload token; ImportFileError if the
    token is forged, expired, someone else's, or already imported."""
    try:
        payload = signing.loads(token, salt=UPLOAD_TOKEN_SALT, max_age=UPLOAD_TOKEN_MAX_AGE)
    except signing.SignatureExpired:
        raise ImportFileError("The preview has expired; upload the file again.") from None
    except signing.BadSignature:
        raise ImportFileError("Invalid upload token; upload the file again.") from None
    if payload.get("user") != user.pk:
        raise ImportFileError("Invalid upload token; upload the file again.")
    # Early word for a plain replay; two confirmations racing past this check are settled
    # by data_import_create_once, which lets only one of them create the import.
    if DataImport.objects.filter(owner=user, stored_file=payload["file"]).exists():
        raise ImportFileError(ALREADY_IMPORTED)
    return payload["file"], payload["name"]


@csrf_exempt  # the size guard runs first so an oversize body is never parsed; CSRF is checked right after
@login_required_json
@require_methods_json("POST")
def api_import_csv(request):
    """POST /api/import/csv: multipart `file` (or a preview's `upload_token`), optional
    `timezone`, `date_order`, `skip_invalid`; `preview=1` answers the preview without importing.
    The import runs in the background: 202 with the pending status, or 200 when it already
    finished (tasks run in-process when REDIS_URL is unset). Poll `status_url`."""
    if request_body_too_large(request):
        return json_error(upload_limit_message(size=int(request.META["CONTENT_LENGTH"])), status=413)
    return _api_import_csv(request)


@csrf_protect
def _api_import_csv(request):
    # Options may come in the query string too (as on the clients endpoint): `?preview=1` must
    # never be ignored and import for real.
    submitted = request.GET.copy()
    submitted.update(request.POST)  # a form field wins over the same name in the query string
    form = CsvImportForm(submitted, request.FILES)
    if not form.is_valid():
        return json_error(form.first_error())
    data = form.cleaned_data
    options = CsvImportOptions(
        timezone=data["timezone"] or None,
        date_order=data["date_order"] or None,
        skip_invalid=data["skip_invalid"],
    )

    def confirm_check(previewed: dict) -> None:
        # Confirming a preview imports what was previewed, not the file read another way.
        changed = csv_import_options_changed(
            previewed=previewed, confirmed=csv_import_options_bound(user=request.user, options=options)
        )
        if changed:
            raise options_changed_error(changed)

    return _session_import(
        request,
        data=data,
        check=lambda stored_file: stored_csv_check(stored_file),
        preview=lambda stored_file: csv_import_preview(user=request.user, stored_file=stored_file, options=options),
        create=lambda stored_file, name: csv_import_create(
            user=request.user, stored_file=stored_file, source_file_name=name, options=options
        ),
        bound_options=lambda preview: csv_import_options_bound(user=request.user, options=options, preview=preview),
        confirm_check=confirm_check,
    )


def options_changed_error(changed: list[str]) -> ImportFileError:
    return ImportFileError(f"The options changed since the preview ({', '.join(changed)}); preview the file again.")


def _session_import(request, *, data: dict, check, preview, create, bound_options=None, confirm_check=None) -> JsonResponse:
    """The shared flow of the session import endpoints: take the upload (or a preview's
    token), check it, then answer the preview (with a token to confirm it) or start the
    import. `check(stored_file)`, `preview(stored_file)`, `create(stored_file, name)`;
    `bound_options(preview)`: the options the token binds, which `confirm_check(bound)`
    checks (raising ImportFileError) when the token is confirmed."""
    try:
        if data["file"] is None:
            stored_file, source_file_name = upload_from_token(user=request.user, token=data["upload_token"])
            if confirm_check and not data["preview"]:
                confirm_check(upload_token_options(data["upload_token"]))
        else:
            source_file_name = data["file"].name
            stored_file = csv_upload_store(user=request.user, uploaded_file=data["file"])
        check(stored_file)
        if data["preview"]:
            preview_result = preview(stored_file)
            token = upload_token_for(
                user=request.user, stored_file=stored_file, source_file_name=source_file_name,
                options=bound_options(preview_result) if bound_options else None,
            )
            answer = {"success": True, "preview": preview_result.as_dict(), "upload_token": token}
            return JsonResponse({**answer, "file_name": source_file_name})
        data_import = create(stored_file, source_file_name)
    except UploadTooLarge as error:
        return json_error(str(error), status=413)
    except ImportFileError as error:
        return json_error(str(error))
    data_import.refresh_from_db()
    status_url = reverse("api_import_status", args=[data_import.pk])
    return JsonResponse(
        import_accepted_data(data_import, status_url=status_url),
        status=200 if data_import.is_finished else 202,
    )


@login_required_json
@require_methods_json("GET", "HEAD")
def api_import_status(request, import_id: int):
    data_import = data_imports_visible_to(user=request.user).filter(pk=import_id).first()
    if data_import is None:
        return json_error("Import not found", status=404)
    return JsonResponse(DataImportOutputSerializer(data_import).data)


@login_required_json
@require_methods_json("GET", "HEAD")
def api_import_history(request):
    imports = data_imports_visible_to(user=request.user)[:HISTORY_LIMIT]
    return JsonResponse({"imports": DataImportOutputSerializer(imports, many=True).data})


@login_required_json
@require_GET
def import_template_clients_csv(request):
    response = HttpResponse(clients_template_csv(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{CLIENTS_TEMPLATE_FILE_NAME}"'
    return response


@csrf_exempt  # the size guard runs first so an oversize body is never parsed; CSRF is checked right after
@login_required_json
@require_POST
def api_import_csv_clients(request):
    """POST /api/import/csv/clients: multipart `file` (or a preview's `upload_token`);
    `skip_duplicates` (default true), `duplicate_detection_fields` (comma list) and
    `skip_invalid`, in the form or the query string; `preview=1` answers the preview only."""
    if request_body_too_large(request):
        return json_error(upload_limit_message(size=int(request.META["CONTENT_LENGTH"])), status=413)
    return _api_import_csv_clients(request)


@csrf_protect
def _api_import_csv_clients(request):
    submitted = request.GET.copy()
    submitted.update(request.POST)  # a form field wins over the same name in the query string
    form = ClientCsvImportForm(submitted, request.FILES)
    if not form.is_valid():
        return json_error(form.first_error())
    data = form.cleaned_data
    options = ClientImportOptions(
        skip_duplicates=data["skip_duplicates"],
        duplicate_detection_fields=detection_fields_parse(data["duplicate_detection_fields"]),
        skip_invalid=data["skip_invalid"],
    )
    def confirm_check(previewed: dict) -> None:
        # As for time entries: confirming imports what was previewed, with the same options.
        changed = clients_import_options_changed(previewed=previewed, confirmed=clients_import_options_bound(options))
        if changed:
            raise options_changed_error(changed)

    return _session_import(
        request,
        data=data,
        check=lambda stored_file: clients_upload_check(stored_file=stored_file, options=options),
        preview=lambda stored_file: clients_import_preview(user=request.user, stored_file=stored_file, options=options),
        create=lambda stored_file, name: clients_import_create(
            user=request.user, stored_file=stored_file, source_file_name=name, options=options
        ),
        bound_options=lambda preview: clients_import_options_bound(options),
        confirm_check=confirm_check,
    )


@login_required
@require_GET
def clients_export(request):
    """GET /clients/export?status=active|inactive|archived&search=…: the clients CSV, in the
    layout the client import reads. Admins get every client, others the clients they track
    time for."""
    try:
        clients = clients_for_export(
            user=request.user, status=request.GET.get("status", ""), search=request.GET.get("search", "")
        )
    except UnknownClientStatus as error:
        return HttpResponseBadRequest(str(error), content_type="text/plain; charset=utf-8")
    response = HttpResponse(clients_csv_text(clients_csv_rows(clients)), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{clients_export_file_name()}"'
    return response
