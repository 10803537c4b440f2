"""DRF v1 endpoints of exports (token auth, scope read:time_entries), under /api/v1/exports.

The status and the download of one export ask for the scope of what the file holds: a mileage
or per-diem PDF built in the background needs read:mileage or read:per_diem, a GDPR export the
scopes of every dataset it holds. A GDPR export started with a token holds only what the token
may read."""

from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from timetracker.authentication import scope_check, scope_required

from . import selectors, services
from .models import DataExport
from .views import export_as_json, file_response

EXPORT_SCOPE = "read:time_entries"
SCOPE_BY_EXPORT_TYPE = {DataExport.Type.MILEAGE: "read:mileage", DataExport.Type.PER_DIEM: "read:per_diem"}
ErrorSerializer = inline_serializer("ExportError", {"error": serializers.CharField()})


class GdprExportInputSerializer(serializers.Serializer):
    format = serializers.ChoiceField(choices=["json", "zip"], default="json")


class FilterSerializer(serializers.Serializer):
    """Every filter is optional; both dates are included. client/project/task/tag take a name
    or an id (the name wins: a value is an id only when no record has that name);
    client_id/project_id/task_id/tag_id take an id. user (admins only) a username, an id or
    "all"."""

    start_date = serializers.DateField(required=False)
    end_date = serializers.DateField(required=False)
    client = serializers.CharField(required=False)
    project = serializers.CharField(required=False)
    task = serializers.CharField(required=False)
    tag = serializers.CharField(required=False)
    client_id = serializers.IntegerField(required=False)
    project_id = serializers.IntegerField(required=False)
    task_id = serializers.IntegerField(required=False)
    tag_id = serializers.IntegerField(required=False)
    billable = serializers.BooleanField(required=False, allow_null=True, default=None)
    search = serializers.CharField(required=False)
    user = serializers.CharField(required=False)

    def to_internal_value(self, data):
        unknown = sorted(set(data) - set(self.fields)) if isinstance(data, dict) else []
        if unknown:
            known = ", ".join(self.fields)
            raise serializers.ValidationError({"non_field_errors": [f"Unknown filter {unknown[0]!r}. Known filters: {known}"]})
        return super().to_internal_value(data)


class FilteredExportInputSerializer(serializers.Serializer):
    format = serializers.ChoiceField(choices=["csv", "json", "xlsx"], default="csv")
    filters = FilterSerializer(required=False, default=dict)
    bom = serializers.BooleanField(default=True, help_text="CSV only: start with a UTF-8 BOM (Excel).")


class DataExportOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    user = serializers.CharField()
    export_type = serializers.CharField()
    export_format = serializers.CharField()
    filters = serializers.DictField()
    status = serializers.CharField()
    progress_percent = serializers.IntegerField()
    total_records = serializers.IntegerField()
    processed_records = serializers.IntegerField()
    record_count = serializers.IntegerField()
    filename = serializers.CharField(allow_null=True)
    file_size = serializers.IntegerField(allow_null=True)
    sha256 = serializers.CharField(allow_null=True)
    error_message = serializers.CharField(allow_null=True)
    created_at = serializers.DateTimeField()
    completed_at = serializers.DateTimeField(allow_null=True)
    expires_at = serializers.DateTimeField()
    is_expired = serializers.BooleanField()
    download_url = serializers.CharField(allow_null=True)


def _first_error(errors, prefix: str = "") -> str:
    """`{"filters": {"start_date": ["Date has wrong format…"]}}` -> "filters.start_date: Date has…"."""
    key, value = next(iter(errors.items()))
    name = prefix if key == "non_field_errors" else f"{prefix}{key}"
    if isinstance(value, dict):
        return _first_error(value, prefix=f"{name}.")
    return f"{name.rstrip('.')}: {value[0]}" if name else str(value[0])


def _output(export: DataExport, request) -> dict:
    url = reverse("api_v1_export_download", kwargs={"export_id": export.pk})
    return export_as_json(export, viewer=request.user, download_url=url)


class ExportApiView(APIView):
    permission_classes = [IsAuthenticated, scope_required(EXPORT_SCOPE)]


class OneExportApiView(APIView):
    """The scope is checked after the export is found (see the module docstring)."""

    permission_classes = [IsAuthenticated]

    def export_for(self, request, export_id: int) -> DataExport:
        export = selectors.data_export_get(user=request.user, export_id=export_id)
        if export.export_type == DataExport.Type.GDPR:
            # A GDPR export made on the page holds mileage and per diem too.
            for scope in services.gdpr_export_scopes(export=export):
                scope_check(request, scope)
        else:
            scope_check(request, SCOPE_BY_EXPORT_TYPE.get(export.export_type, EXPORT_SCOPE))
        return export


class GdprExportApi(ExportApiView):
    @extend_schema(
        operation_id="exports_gdpr_create",
        summary="Start a GDPR export of everything held about you that the token may read",
        request=GdprExportInputSerializer,
        responses={202: DataExportOutputSerializer, 400: ErrorSerializer},
        tags=["exports"],
    )
    def post(self, request):
        serializer = GdprExportInputSerializer(data=request.data)
        if not serializer.is_valid():
            return Response({"error": 'Invalid format. Use "json" or "zip"'}, status=400)
        export = services.data_export_create(
            user=request.user,
            export_type=DataExport.Type.GDPR,
            export_format=serializer.validated_data["format"],
            token=request.auth,  # holds only what this token may read
        )
        export.refresh_from_db()
        return Response(_output(export, request), status=status.HTTP_202_ACCEPTED)


class FilteredExportApi(ExportApiView):
    @extend_schema(
        operation_id="exports_filtered_create",
        summary="Start a filtered export of time entries (CSV, JSON or XLSX)",
        request=FilteredExportInputSerializer,
        responses={202: DataExportOutputSerializer, 400: ErrorSerializer, 403: ErrorSerializer},
        tags=["exports"],
    )
    def post(self, request):
        serializer = FilteredExportInputSerializer(data=request.data)
        if not serializer.is_valid():
            return Response({"error": _first_error(serializer.errors)}, status=400)
        data = serializer.validated_data
        try:
            export = services.data_export_create(
                user=request.user,
                export_type=DataExport.Type.FILTERED,
                export_format=data["format"],
                filters=data["filters"],
                bom=data["bom"],
            )
        except selectors.ExportFilterForbidden as exc:
            return Response({"error": str(exc)}, status=403)
        except (selectors.ExportFilterError, services.ExportRequestError) as exc:
            return Response({"error": str(exc)}, status=400)
        export.refresh_from_db()
        return Response(_output(export, request), status=status.HTTP_202_ACCEPTED)


class ExportHistoryApi(ExportApiView):
    @extend_schema(
        operation_id="exports_list",
        summary="Your 50 newest exports (an admin sees everyone's)",
        responses={200: inline_serializer("ExportHistory", {"exports": DataExportOutputSerializer(many=True)})},
        tags=["exports"],
    )
    def get(self, request):
        exports = selectors.data_export_history(user=request.user)
        return Response({"exports": [_output(export, request) for export in exports]})


class ExportStatusApi(OneExportApiView):
    @extend_schema(
        operation_id="exports_status",
        summary="Status and progress of one export",
        responses={200: DataExportOutputSerializer, 404: ErrorSerializer},
        tags=["exports"],
    )
    def get(self, request, export_id: int):
        try:
            export = self.export_for(request, export_id)
        except DataExport.DoesNotExist:
            return Response({"error": "Export not found"}, status=404)
        return Response(_output(export, request))


class ExportDownloadApi(OneExportApiView):
    @extend_schema(
        operation_id="exports_download",
        summary="Download the file of a completed export",
        responses={
            (200, "application/octet-stream"): OpenApiResponse(OpenApiTypes.BINARY, description="The export file."),
            400: ErrorSerializer,
            403: ErrorSerializer,
            404: ErrorSerializer,
            410: OpenApiResponse(ErrorSerializer, description="This export expired on <date>; create a new one"),
        },
        tags=["exports"],
    )
    def get(self, request, export_id: int):
        try:
            export = self.export_for(request, export_id)
            path = selectors.data_export_file_for_download(user=request.user, export=export)
        except DataExport.DoesNotExist:
            return Response({"error": "Export not found"}, status=404)
        except selectors.ExportUnavailable as exc:
            return Response({"error": exc.message}, status=exc.status)
        return file_response(export, path)
