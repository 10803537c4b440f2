"""DRF v1 API of imports (token auth, mounted under /api/v1/) and the output serializers the
session endpoints share, so a DataImport reads the same everywhere.

`POST /api/v1/time-entries/import-csv` always enqueues the import and answers 202 with the
import id and its status URL; `GET /api/v1/imports/<id>` reports progress and the outcome.
"""

import tempfile

from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.urls import reverse
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.fields import empty
from rest_framework.parsers import BaseParser, JSONParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from timetracker.authentication import scope_required
from timetracker.lib.flags import parse_flag
from timetracker.models import TIMEZONE_CHOICES

from .clients import (
    ClientImportOptions,
    clients_csv_rows,
    clients_csv_text,
    clients_export_file_name,
    clients_import_create,
    clients_import_preview,
    clients_upload_check,
    detection_fields_parse,
)
from .forms import DATE_ORDER_CHOICES, request_body_too_large, upload_limit_message, validate_csv_file_name
from .models import DataImport
from .selectors import UnknownClientStatus, clients_for_export, data_imports_visible_to
from .services import (
    CsvImportOptions,
    ImportFileError,
    UploadTooLarge,
    csv_import_create,
    csv_import_preview,
    csv_layout_detect,
    csv_rows_store,
    csv_text_store,
    csv_upload_store,
    stored_file_path,
)


class ApiTokenAuthenticationScheme(OpenApiAuthenticationExtension):
    """Describes timetracker's token authentication in the OpenAPI schema (lives here until
    timetracker/authentication.py has its own)."""

    target_class = "timetracker.authentication.ApiTokenAuthentication"
    name = "ApiToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "An API token `tt_…`, sent as `Authorization: Bearer tt_…` "
            "(also accepted: `Authorization: Token tt_…` or `X-API-Key: tt_…`).",
        }


SUMMARY_ERROR_LIMIT = 10
# The v1 API keeps the original's message for a CSV without a (known) header row.
NO_HEADER_ERROR = "CSV must include a header row"
NO_HEADER_PREFIX = "No known header row found"
COPY_CHUNK_BYTES = 64 * 1024
BLANK_BYTES = b" \t\r\n\x0b\x0c"
UTF8_BOM = b"\xef\xbb\xbf"


# ---------------------------------------------------------------------------------------
# Output: one shape for a DataImport, used by /api/import/* and /api/v1/imports/*.


class RowErrorSerializer(serializers.Serializer):
    line = serializers.IntegerField(allow_null=True, help_text="Physical line in the file; the header is line 1.")
    column = serializers.CharField(allow_null=True, allow_blank=True)
    value = serializers.CharField(allow_null=True, allow_blank=True)
    message = serializers.CharField()


class DataImportOutputSerializer(serializers.ModelSerializer):
    """The original TimeTracker's `DataImport.to_dict()` keys, plus progress and the
    created/updated/unchanged/skipped counts."""

    user_id = serializers.IntegerField(source="owner_id", read_only=True)
    user = serializers.CharField(source="owner.username", read_only=True)
    source_file = serializers.CharField(source="source_file_name", read_only=True)
    error_log = RowErrorSerializer(source="row_errors", many=True, read_only=True)
    import_summary = serializers.JSONField(source="summary", read_only=True)
    completed_at = serializers.DateTimeField(source="finished_at", read_only=True, allow_null=True)
    status_display = serializers.CharField(source="get_status_display", read_only=True)
    progress_percent = serializers.IntegerField(read_only=True)
    is_finished = serializers.BooleanField(read_only=True)

    class Meta:
        model = DataImport
        fields = [
            "id",
            "user_id",
            "user",
            "import_type",
            "source_file",
            "status",
            "status_display",
            "status_message",
            "progress_percent",
            "is_finished",
            "total_records",
            "processed_records",
            "successful_records",
            "failed_records",
            "created_records",
            "updated_records",
            "unchanged_records",
            "skipped_records",
            "deleted_records",
            "error_log",
            "import_summary",
            "options",
            "created_at",
            "started_at",
            "completed_at",
        ]
        read_only_fields = fields


class ImportSummarySerializer(serializers.Serializer):
    total = serializers.IntegerField()
    successful = serializers.IntegerField()
    failed = serializers.IntegerField()
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    unchanged = serializers.IntegerField()
    skipped = serializers.IntegerField()
    errors = serializers.ListField(child=serializers.CharField(), help_text="The first 10 row errors.")


class ImportAcceptedSerializer(serializers.Serializer):
    success = serializers.BooleanField()
    import_id = serializers.IntegerField()
    status = serializers.ChoiceField(choices=DataImport.Status.choices)
    status_url = serializers.CharField(help_text="Poll this URL until `is_finished` is true.")
    summary = ImportSummarySerializer()


def row_error_text(error: dict) -> str:
    line, column, value = error.get("line"), error.get("column"), error.get("value")
    return f'line {line}, column "{column}", value "{value}": {error.get("message")}'


def import_accepted_data(data_import: DataImport, *, status_url: str) -> dict:
    """The answer to an import request, in the original's `{"success", "import_id", "summary"}`
    shape plus `status` and `status_url` (counts are zero until the task has run)."""
    return {
        "success": True,
        "import_id": data_import.pk,
        "status": data_import.status,
        "status_url": status_url,
        "summary": {
            "total": data_import.total_records,
            "successful": data_import.successful_records,
            "failed": data_import.failed_records,
            "created": data_import.created_records,
            "updated": data_import.updated_records,
            "unchanged": data_import.unchanged_records,
            "skipped": data_import.skipped_records,
            "errors": [row_error_text(e) for e in data_import.row_errors[:SUMMARY_ERROR_LIMIT]],
        },
    }


class CsvPreviewSerializer(serializers.Serializer):
    format_name = serializers.CharField(help_text="template, toggl, clockify, harvest or solidtime")
    format_label = serializers.CharField()
    currency = serializers.CharField(allow_blank=True, help_text='From an "Amount (EUR)"-style column; not imported.')
    delimiter = serializers.CharField()
    encoding = serializers.CharField()
    date_order = serializers.CharField(allow_null=True)
    date_order_detected = serializers.BooleanField()
    needs_date_order = serializers.BooleanField(help_text="True: choose `date_order` before importing.")
    timezone = serializers.CharField()
    columns = serializers.ListField(child=serializers.CharField())
    ignored_columns = serializers.ListField(child=serializers.CharField())
    sample_rows = serializers.ListField(child=serializers.DictField())
    total_rows = serializers.IntegerField()
    errors = RowErrorSerializer(many=True)
    warnings = serializers.ListField(child=serializers.CharField())
    would_create = serializers.IntegerField()
    would_update = serializers.IntegerField()
    unchanged = serializers.IntegerField()
    will_import = serializers.BooleanField(help_text="False: confirming with these options writes nothing.")
    not_imported_reason = serializers.CharField(help_text='Why nothing would be written, e.g. "1 of 2 rows are invalid."')


class ErrorSerializer(serializers.Serializer):
    success = serializers.BooleanField()
    error = serializers.CharField()
    message = serializers.CharField(required=False, help_text="More detail, when there is some.")


AUTH_ERROR = inline_serializer(
    "ApiAuthError",
    {
        "error": serializers.CharField(),
        "message": serializers.CharField(),
        "error_code": serializers.CharField(),
        "required_scope": serializers.CharField(required=False),
        "available_scopes": serializers.ListField(child=serializers.CharField(), required=False),
    },
)


# ---------------------------------------------------------------------------------------
# Input of POST /api/v1/time-entries/import-csv.


class CsvTextParser(BaseParser):
    """A raw `text/csv` body, spooled to a temporary file (bytes: the import service detects
    the encoding, as for an uploaded file)."""

    media_type = "text/csv"

    def parse(self, stream, media_type=None, parser_context=None):
        spool = tempfile.SpooledTemporaryFile(max_size=settings.FILE_UPLOAD_MAX_MEMORY_SIZE)
        size = 0
        while chunk := stream.read(COPY_CHUNK_BYTES):
            size += len(chunk)
            if size > settings.MAX_UPLOAD_SIZE:
                spool.close()
                raise UploadTooLarge(upload_limit_message())
            spool.write(chunk)
        spool.seek(0)
        return spool


class FlagField(serializers.BooleanField):
    """A yes/no option read strictly (timetracker.lib.flags): DRF's own BooleanField also takes
    "t", "y" and says only "Must be a valid boolean"; this one names the value refused."""

    def to_internal_value(self, data):
        try:
            return parse_flag(data, default=self.default if self.default is not empty else False)
        except ValueError as error:
            raise serializers.ValidationError(str(error)) from None


class CsvImportOptionsSerializer(serializers.Serializer):
    # Empty means the default, as on the page and the session endpoint.
    timezone = serializers.ChoiceField(
        choices=TIMEZONE_CHOICES, required=False, allow_blank=True,
        help_text="For times without an offset; default (or empty): the profile's.",
    )
    date_order = serializers.ChoiceField(
        choices=[c for c, _ in DATE_ORDER_CHOICES if c],
        required=False,
        allow_blank=True,
        help_text="When days and months cannot be told apart from the file; empty: detected.",
    )
    skip_invalid = FlagField(
        required=False, default=False, help_text="Import the valid rows and report the invalid ones."
    )
    preview = FlagField(
        required=False, default=False, help_text="Answer the preview (200) and import nothing."
    )


class CsvImportMultipartSerializer(CsvImportOptionsSerializer):
    file = serializers.FileField(help_text="The CSV file (.csv or .txt).")


class CsvImportJsonSerializer(CsvImportOptionsSerializer):
    csv = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False, help_text="The CSV text.")
    data = serializers.ListField(
        child=serializers.DictField(child=serializers.CharField(allow_blank=True, allow_null=True)),
        required=False,
        help_text="Rows as objects with the template's keys (project_name, start_time, …).",
    )


class PreviewResponseSerializer(serializers.Serializer):
    success = serializers.BooleanField()
    preview = CsvPreviewSerializer()


def is_blank_file(file) -> bool:
    """Only whitespace (or nothing, or a lone BOM)? Reads until the first other byte."""
    first = True
    try:
        while chunk := file.read(COPY_CHUNK_BYTES):
            if first and chunk.startswith(UTF8_BOM):
                chunk = chunk[len(UTF8_BOM) :]
            first = False
            if chunk.strip(BLANK_BYTES):
                return False
        return True
    finally:
        file.seek(0)


class ApiInputError(Exception):
    def __init__(self, error: str, *, message: str = ""):
        super().__init__(error)
        self.message = message


def query_and_body_options(request) -> dict:
    options = request.query_params.dict()
    if hasattr(request.data, "get"):
        for key in CsvImportOptionsSerializer().fields:
            if key in request.data:
                options[key] = request.data.get(key)
    return options


def store_request_csv(request) -> tuple[str, str]:
    """Store the CSV from whichever body form was sent: (stored_file, source_file_name).
    Precedence as in the original: multipart `file`, then JSON `csv`, then JSON `data`,
    then a raw text/csv body."""
    body = request.data
    user = request.user
    if hasattr(body, "read"):  # text/csv body
        if is_blank_file(body):
            raise ApiInputError("Empty CSV")
        return csv_upload_store(user=user, uploaded_file=body), "API request (text/csv body)"
    uploaded = request.FILES.get("file") if hasattr(request, "FILES") else None
    if uploaded is not None:
        try:
            validate_csv_file_name(uploaded.name or "")
        except ValidationError as error:
            raise ApiInputError(error.messages[0]) from None
        if is_blank_file(uploaded):
            raise ApiInputError("Empty CSV")
        return csv_upload_store(user=user, uploaded_file=uploaded), uploaded.name
    if not hasattr(body, "get"):
        raise ApiInputError('Send a multipart "file", JSON {"csv": "..."} or {"data": [...]}, or a text/csv body.')
    serializer = CsvImportJsonSerializer(data={k: body[k] for k in ("csv", "data") if k in body})
    if not serializer.is_valid():
        field, errors = next(iter(serializer.errors.items()))
        raise ApiInputError(f"{field}: {flatten_first_error(errors)}")
    if "csv" in serializer.validated_data:
        text = serializer.validated_data["csv"]
        if not text.lstrip("\ufeff").strip():
            raise ApiInputError("Empty CSV")
        return csv_text_store(user=user, text=text), "API request (CSV text)"
    if "data" in serializer.validated_data:
        rows = serializer.validated_data["data"]
        if not rows:
            raise ApiInputError("Empty CSV")
        if not any(rows):
            raise ApiInputError("CSV must include a header row")
        return csv_rows_store(user=user, rows=rows), "API request (JSON rows)"
    raise ApiInputError("Empty CSV")


def stored_csv_check(stored_file: str) -> None:
    """Refuse a file that is not CSV, cannot be decoded or has no known header row with
    ImportFileError now (a 400), instead of queueing an import that can only fail. Reads the
    encoding and the first lines only. A refused file is removed from storage."""
    path = stored_file_path(stored_file)
    try:
        csv_layout_detect(path)
    except ImportFileError:
        path.unlink(missing_ok=True)
        raise


def flatten_first_error(errors) -> str:
    while isinstance(errors, (list, dict)):
        errors = next(iter(errors.values())) if isinstance(errors, dict) else errors[0]
    return str(errors)


def error_response(error: str, status_code: int = status.HTTP_400_BAD_REQUEST, *, message: str = "") -> Response:
    body = {"success": False, "error": error}
    if message:
        body["message"] = message
    return Response(body, status=status_code)


OPTION_PARAMETERS = [
    OpenApiParameter(
        "timezone",
        OpenApiTypes.STR,
        enum=[name for name, _ in TIMEZONE_CHOICES],
        description="IANA name; also accepted as a body field. Default: the profile's timezone.",
    ),
    OpenApiParameter("date_order", OpenApiTypes.STR, enum=["DMY", "MDY", "YMD"]),
    OpenApiParameter("skip_invalid", OpenApiTypes.BOOL),
    OpenApiParameter("preview", OpenApiTypes.BOOL),
]


class TimeEntriesImportCsvApi(APIView):
    permission_classes = [scope_required("write:time_entries")]
    parser_classes = [MultiPartParser, JSONParser, CsvTextParser]

    @extend_schema(
        operation_id="time_entries_import_csv",
        summary="Import time entries from CSV",
        description=(
            "Accepts a multipart `file`, JSON `{\"csv\": \"...\"}`, JSON `{\"data\": [{...row...}]}` or a raw "
            "`text/csv` body in any format the page accepts (template, Toggl, Harvest, Clockify). The import is "
            "always queued: the answer is 202 with `import_id` and `status_url`; poll `GET /api/v1/imports/{id}`. "
            "With `preview=true` nothing is imported and the preview is returned (200). Needs scope "
            "`write:time_entries`."
        ),
        parameters=OPTION_PARAMETERS,
        request={
            "multipart/form-data": CsvImportMultipartSerializer,
            "application/json": CsvImportJsonSerializer,
            "text/csv": OpenApiTypes.STR,
        },
        responses={
            200: OpenApiResponse(PreviewResponseSerializer, description="preview=true: nothing imported"),
            202: OpenApiResponse(ImportAcceptedSerializer, description="Queued"),
            400: OpenApiResponse(ErrorSerializer, description="Empty CSV, no header row, not CSV, bad option"),
            401: AUTH_ERROR,
            403: AUTH_ERROR,
            413: OpenApiResponse(ErrorSerializer, description="Over MAX_UPLOAD_SIZE"),
            429: AUTH_ERROR,
        },
        examples=[
            OpenApiExample(
                "CSV text",
                request_only=True,
                media_type="application/json",
                value={"csv": "project_name,start_time,end_time\nWebsite,2024-01-01 09:00:00,2024-01-01 10:30:00\n"},
            ),
        ],
        tags=["imports"],
    )
    def post(self, request):
        if request_body_too_large(request):
            return error_response(
                upload_limit_message(size=int(request.META["CONTENT_LENGTH"])), status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
            )
        try:
            options_input = CsvImportOptionsSerializer(data=query_and_body_options(request))
            if not options_input.is_valid():
                field, errors = next(iter(options_input.errors.items()))
                raise ApiInputError(f"{field}: {flatten_first_error(errors)}")
            chosen = options_input.validated_data
            options = CsvImportOptions(
                timezone=chosen.get("timezone") or None,
                date_order=chosen.get("date_order") or None,
                skip_invalid=chosen["skip_invalid"],
            )
            stored_file, source_file_name = store_request_csv(request)
            try:
                stored_csv_check(stored_file)
            except ImportFileError as error:
                if str(error).startswith(NO_HEADER_PREFIX):
                    raise ApiInputError(NO_HEADER_ERROR, message=str(error)) from None
                raise
            return v1_import_response(
                stored_file=stored_file,
                wants_preview=chosen["preview"],
                preview=lambda: csv_import_preview(user=request.user, stored_file=stored_file, options=options),
                create=lambda: csv_import_create(
                    user=request.user, stored_file=stored_file, source_file_name=source_file_name, options=options
                ),
                status_url_name="api_v1_import_detail",
            )
        except ApiInputError as error:
            return error_response(str(error), message=error.message)
        except UploadTooLarge as error:
            return error_response(str(error), status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
        except ImportFileError as error:
            return error_response(str(error))


def v1_import_response(*, stored_file: str, wants_preview: bool, preview, create, status_url_name: str) -> Response:
    """The end both v1 import endpoints share: answer the preview (`preview()`, then the
    stored upload is removed: nothing refers to it later), or start the import (`create()`)
    and answer 202 with its status URL."""
    if wants_preview:
        try:
            result = preview()
        finally:
            stored_file_path(stored_file).unlink(missing_ok=True)
        return Response({"success": True, "preview": result.as_dict()})
    data_import = create()
    data_import.refresh_from_db()
    status_url = reverse(status_url_name, args=[data_import.pk])
    return Response(import_accepted_data(data_import, status_url=status_url), status=status.HTTP_202_ACCEPTED)


class ImportDetailApi(APIView):
    permission_classes = [scope_required("read:time_entries")]

    @extend_schema(
        operation_id="imports_retrieve",
        summary="Status and outcome of an import",
        description=(
            "Your own time-entry imports (CSV, Toggl, Harvest; an admin's token sees everyone's); others, "
            "and client imports (see `/api/v1/clients/imports/{id}`), answer 404. Needs `read:time_entries`."
        ),
        responses={
            200: DataImportOutputSerializer,
            401: AUTH_ERROR,
            403: AUTH_ERROR,
            404: OpenApiResponse(ErrorSerializer, description="No such import, or not yours"),
            429: AUTH_ERROR,
        },
        tags=["imports"],
    )
    def get(self, request, import_id: int):
        data_import = (
            data_imports_visible_to(user=request.user)
            .filter(pk=import_id, import_type__in=DataImport.TIME_ENTRY_TYPES)
            .first()
        )
        if data_import is None:
            return error_response("Import not found", status.HTTP_404_NOT_FOUND)
        return Response(DataImportOutputSerializer(data_import).data)


# ---------------------------------------------------------------------------------------
# Clients: POST /api/v1/clients/import-csv, GET /api/v1/clients/imports/<id>, GET /api/v1/clients/export.


class ClientImportOptionsSerializer(serializers.Serializer):
    skip_duplicates = FlagField(
        required=False, default=True, help_text="Skip rows matching an existing client (false: update it)."
    )
    duplicate_detection_fields = serializers.CharField(
        required=False, allow_blank=True, default="",
        help_text="Comma list of name, email, custom_field_<key>. Default: name and every custom field in the file.",
    )
    skip_invalid = FlagField(required=False, default=False)
    preview = FlagField(required=False, default=False)


class ClientImportJsonSerializer(ClientImportOptionsSerializer):
    csv = serializers.CharField(allow_blank=True, trim_whitespace=False, help_text="The CSV text.")


class ClientImportMultipartSerializer(ClientImportOptionsSerializer):
    file = serializers.FileField(help_text="The clients CSV (.csv or .txt).")


class ClientPreviewSerializer(serializers.Serializer):
    delimiter = serializers.CharField()
    encoding = serializers.CharField()
    columns = serializers.ListField(child=serializers.CharField())
    ignored_columns = serializers.ListField(child=serializers.CharField())
    duplicate_detection_fields = serializers.ListField(child=serializers.CharField())
    skip_duplicates = serializers.BooleanField()
    total_rows = serializers.IntegerField()
    would_create = serializers.IntegerField()
    would_update = serializers.IntegerField()
    unchanged = serializers.IntegerField()
    skipped = serializers.IntegerField()
    errors = RowErrorSerializer(many=True)
    skipped_rows = RowErrorSerializer(many=True)
    sample_rows = serializers.ListField(child=serializers.DictField())
    warnings = serializers.ListField(child=serializers.CharField())
    will_import = serializers.BooleanField(help_text="False: confirming with these options writes nothing.")
    not_imported_reason = serializers.CharField(help_text='Why nothing would be written, e.g. "1 of 2 rows are invalid."')


class ClientPreviewResponseSerializer(serializers.Serializer):
    success = serializers.BooleanField()
    preview = ClientPreviewSerializer()


def store_request_clients_csv(request) -> tuple[str, str]:
    """Multipart `file`, then JSON `csv`, then a raw text/csv body: (stored_file, source_file_name)."""
    body = request.data
    if hasattr(body, "read"):
        if is_blank_file(body):
            raise ApiInputError("Empty CSV")
        return csv_upload_store(user=request.user, uploaded_file=body), "API request (text/csv body)"
    uploaded = request.FILES.get("file") if hasattr(request, "FILES") else None
    if uploaded is not None:
        try:
            validate_csv_file_name(uploaded.name or "")
        except ValidationError as error:
            raise ApiInputError(error.messages[0]) from None
        if is_blank_file(uploaded):
            raise ApiInputError("Empty CSV")
        return csv_upload_store(user=request.user, uploaded_file=uploaded), uploaded.name
    text = body.get("csv") if hasattr(body, "get") else None
    if not isinstance(text, str):
        raise ApiInputError('Send a multipart "file", JSON {"csv": "..."} or a text/csv body.')
    if not text.lstrip("\ufeff").strip():
        raise ApiInputError("Empty CSV")
    return csv_text_store(user=request.user, text=text), "API request (CSV text)"


class ClientsImportCsvApi(APIView):
    permission_classes = [scope_required("write:clients")]
    parser_classes = [MultiPartParser, JSONParser, CsvTextParser]

    @extend_schema(
        operation_id="clients_import_csv",
        summary="Import clients and contacts from CSV",
        description=(
            "Columns name (required), description, contact_person, email, phone, address, default_hourly_rate, "
            "status, prepaid_hours_monthly, prepaid_reset_day, custom_field_<key>, contact_<N>_<field>. Every row "
            "is checked first; nothing is written when one is invalid unless `skip_invalid`. Existing clients are "
            "skipped (`skip_duplicates`, default true) or updated (admins only), cells left empty never change. Answers 202 "
            "with `status_url`; `preview=true` answers the preview (200) and imports nothing. Needs `write:clients`."
        ),
        parameters=[
            OpenApiParameter("skip_duplicates", OpenApiTypes.BOOL),
            OpenApiParameter("duplicate_detection_fields", OpenApiTypes.STR, description="e.g. name,custom_field_erp_id"),
            OpenApiParameter("skip_invalid", OpenApiTypes.BOOL),
            OpenApiParameter("preview", OpenApiTypes.BOOL),
        ],
        request={
            "multipart/form-data": ClientImportMultipartSerializer,
            "application/json": ClientImportJsonSerializer,
            "text/csv": OpenApiTypes.STR,
        },
        responses={
            200: OpenApiResponse(ClientPreviewResponseSerializer, description="preview=true: nothing imported"),
            202: OpenApiResponse(ImportAcceptedSerializer, description="Queued"),
            400: OpenApiResponse(ErrorSerializer, description="Empty CSV, no name column, not CSV, bad option"),
            401: AUTH_ERROR,
            403: AUTH_ERROR,
            413: OpenApiResponse(ErrorSerializer, description="Over MAX_UPLOAD_SIZE"),
            429: AUTH_ERROR,
        },
        tags=["clients"],
    )
    def post(self, request):
        if request_body_too_large(request):
            return error_response(
                upload_limit_message(size=int(request.META["CONTENT_LENGTH"])), status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
            )
        try:
            submitted = request.query_params.dict()
            if hasattr(request.data, "get"):
                for key in ClientImportOptionsSerializer().fields:
                    if key in request.data:
                        submitted[key] = request.data.get(key)
            options_input = ClientImportOptionsSerializer(data=submitted)
            if not options_input.is_valid():
                field, errors = next(iter(options_input.errors.items()))
                raise ApiInputError(f"{field}: {flatten_first_error(errors)}")
            chosen = options_input.validated_data
            options = ClientImportOptions(
                skip_duplicates=chosen["skip_duplicates"],
                duplicate_detection_fields=detection_fields_parse(chosen["duplicate_detection_fields"]),
                skip_invalid=chosen["skip_invalid"],
            )
            stored_file, source_file_name = store_request_clients_csv(request)
            clients_upload_check(stored_file=stored_file, options=options)
            return v1_import_response(
                stored_file=stored_file,
                wants_preview=chosen["preview"],
                preview=lambda: clients_import_preview(user=request.user, stored_file=stored_file, options=options),
                create=lambda: clients_import_create(
                    user=request.user, stored_file=stored_file, source_file_name=source_file_name, options=options
                ),
                status_url_name="api_v1_clients_import_detail",
            )
        except ApiInputError as error:
            return error_response(str(error), message=error.message)
        except UploadTooLarge as error:
            return error_response(str(error), status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
        except ImportFileError as error:
            return error_response(str(error))


class ClientsImportDetailApi(APIView):
    permission_classes = [scope_required("read:clients")]

    @extend_schema(
        operation_id="clients_imports_retrieve",
        summary="Status and outcome of a client import",
        description="Your own client imports (an admin's token sees everyone's). Needs `read:clients`.",
        responses={200: DataImportOutputSerializer, 401: AUTH_ERROR, 403: AUTH_ERROR,
                   404: OpenApiResponse(ErrorSerializer), 429: AUTH_ERROR},
        tags=["clients"],
    )
    def get(self, request, import_id: int):
        data_import = (
            data_imports_visible_to(user=request.user)
            .filter(pk=import_id, import_type=DataImport.Type.CSV_CLIENTS)
            .first()
        )
        if data_import is None:
            return error_response("Import not found", status.HTTP_404_NOT_FOUND)
        return Response(DataImportOutputSerializer(data_import).data)


class ClientsExportApi(APIView):
    permission_classes = [scope_required("read:clients")]

    @extend_schema(
        operation_id="clients_export_csv",
        summary="Export clients as CSV",
        description=(
            "`clients_export_<timestamp>.csv` in the layout the client import reads. An admin's token exports every "
            "client, anyone else's the clients they track time for. Needs `read:clients`."
        ),
        parameters=[
            OpenApiParameter("status", OpenApiTypes.STR, enum=["active", "inactive", "archived"]),
            OpenApiParameter("search", OpenApiTypes.STR),
        ],
        responses={
            (200, "text/csv"): OpenApiTypes.STR,
            400: OpenApiResponse(ErrorSerializer, description="Unknown status"),
            401: AUTH_ERROR,
            403: AUTH_ERROR,
            429: AUTH_ERROR,
        },
        tags=["clients"],
    )
    def get(self, request):
        try:
            clients = clients_for_export(
                user=request.user,
                status=request.query_params.get("status", ""),
                search=request.query_params.get("search", ""),
            )
        except UnknownClientStatus as error:
            return error_response(str(error))
        response = HttpResponse(clients_csv_text(clients_csv_rows(clients)), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{clients_export_file_name()}"'
        return response
