"""DRF v1 API of mileage and per diem (token auth, mounted under /api/v1/).

Reads need `read:mileage` / `read:per_diem`, writes `write:mileage` / `write:per_diem`. List
endpoints take the list pages' filters (search, status, project_id, client_id, start_date,
end_date) and answer the rows of one page with the totals of all filtered rows. A record
someone else owns answers 404, except that admins may read every record.
"""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.paginator import Paginator
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    inline_serializer,
)
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.exceptions import ValidationError as ApiValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from timetracker.authentication import scope_required
from timetracker.models import Client, Mileage, PerDiem, Project

from . import selectors, services
from .forms import TravelFilterForm

DEFAULT_PER_PAGE = 50
MAX_PER_PAGE = 500

FILTER_PARAMETERS = [
    OpenApiParameter("search", str, description="Case-insensitive text search"),
    OpenApiParameter("status", str, enum=["draft", "submitted", "approved", "rejected", "reimbursed"]),
    OpenApiParameter("project_id", int),
    OpenApiParameter("client_id", int),
    OpenApiParameter("start_date", OpenApiTypes.DATE, description="YYYY-MM-DD, inclusive"),
    OpenApiParameter("end_date", OpenApiTypes.DATE, description="YYYY-MM-DD, inclusive"),
    OpenApiParameter("page", int, description="1-based"),
    OpenApiParameter("per_page", int, description=f"Default {DEFAULT_PER_PAGE}, at most {MAX_PER_PAGE}"),
]


class _RecordOutput(serializers.ModelSerializer):
    user_id = serializers.IntegerField(source="owner_id", read_only=True)
    user = serializers.CharField(source="owner.username", read_only=True)
    project_id = serializers.IntegerField(allow_null=True, read_only=True)
    client_id = serializers.IntegerField(allow_null=True, read_only=True)
    project = serializers.CharField(source="project.name", allow_null=True, read_only=True, default=None)
    client = serializers.CharField(source="client.name", allow_null=True, read_only=True, default=None)


class MileageOutputSerializer(_RecordOutput):
    total_distance = serializers.DecimalField(max_digits=10, decimal_places=2, read_only=True)

    class Meta:
        model = Mileage
        fields = [
            "id", "user_id", "user", "date", "project_id", "project", "client_id", "client", "purpose",
            "from_location", "to_location", "distance", "unit", "round_trip", "total_distance", "rate_per_unit",
            "amount", "status", "notes", "created_at", "updated_at",
        ]


class PerDiemOutputSerializer(_RecordOutput):
    class Meta:
        model = PerDiem
        fields = [
            "id", "user_id", "user", "start_date", "end_date", "country", "city", "purpose", "project_id", "project",
            "client_id", "client", "full_days", "partial_days", "daily_rate", "partial_day_rate",
            "breakfasts_provided", "lunches_provided", "dinners_provided", "breakfast_deduction", "lunch_deduction",
            "dinner_deduction", "amount", "status", "notes", "created_at", "updated_at",
        ]


class _RecordInput(serializers.ModelSerializer):
    """Writes name the project and client by id; the amount is never accepted, only computed."""

    project_id = serializers.PrimaryKeyRelatedField(
        source="project", queryset=Project.objects.all(), allow_null=True, required=False
    )
    client_id = serializers.PrimaryKeyRelatedField(
        source="client", queryset=Client.objects.all(), allow_null=True, required=False
    )


class MileageInputSerializer(_RecordInput):
    class Meta:
        model = Mileage
        fields = [
            "date", "project_id", "client_id", "purpose", "from_location", "to_location", "distance", "unit",
            "round_trip", "rate_per_unit", "status", "notes",
        ]


class PerDiemInputSerializer(_RecordInput):
    class Meta:
        model = PerDiem
        fields = [
            "start_date", "end_date", "country", "city", "purpose", "project_id", "client_id", "full_days",
            "partial_days", "daily_rate", "partial_day_rate", "breakfasts_provided", "lunches_provided",
            "dinners_provided", "breakfast_deduction", "lunch_deduction", "dinner_deduction", "status", "notes",
        ]


class _TravelApi(APIView):
    """Scope by method: reads need `read:<scope>`, writes `write:<scope>`."""

    scope_name = ""
    output_serializer: type[serializers.Serializer]
    input_serializer: type[serializers.Serializer]

    def get_permissions(self):
        action = "read" if self.request.method in ("GET", "HEAD", "OPTIONS") else "write"
        return [scope_required(f"{action}:{self.scope_name}")()]

    def _save(self, call):
        try:
            return call()
        except DjangoValidationError as error:
            raise ApiValidationError(error.message_dict if hasattr(error, "error_dict") else {"detail": error.messages})


class _ListApi(_TravelApi):
    list_key = ""
    select = None
    totals = None
    create = None

    def get(self, request):
        filter_form = TravelFilterForm(request.query_params)
        if not filter_form.is_valid():
            raise ApiValidationError(filter_form.errors)
        queryset = self.select(user=request.user, filters=filter_form.filters())
        per_page = _bounded_int(request.query_params.get("per_page"), DEFAULT_PER_PAGE, 1, MAX_PER_PAGE)
        page = Paginator(queryset, per_page).get_page(request.query_params.get("page"))
        totals = self.totals(queryset=queryset)
        return Response(
            {
                self.list_key: self.output_serializer(page.object_list, many=True).data,
                "totals": {key: str(value) if not isinstance(value, int) else value for key, value in totals.items()},
                "pagination": {
                    "page": page.number,
                    "per_page": per_page,
                    "total": page.paginator.count,
                    "pages": page.paginator.num_pages,
                },
            }
        )

    def post(self, request):
        serializer = self.input_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        record = self._save(lambda: self.create(owner=request.user, fields=serializer.validated_data))
        return Response(self.output_serializer(record).data, status=status.HTTP_201_CREATED)


class _DetailApi(_TravelApi):
    select = None
    get_for_owner = None
    update = None
    delete_record = None

    def get(self, request, pk):
        # Admins may read every record; others only their own.
        record = self.select(user=request.user).filter(pk=pk).first()
        if record is None:
            raise NotFound("Not found.")
        return Response(self.output_serializer(record).data)

    def patch(self, request, pk):
        return self._write(request, pk, partial=True)

    def put(self, request, pk):
        return self._write(request, pk, partial=False)

    def delete(self, request, pk):
        self.delete_record(self._own(request, pk))
        return Response(status=status.HTTP_204_NO_CONTENT)

    def _own(self, request, pk):
        # Http404 for anyone but the owner; DRF answers it as 404 {"detail": ...}.
        return self.get_for_owner(user=request.user, pk=pk)

    def _write(self, request, pk, *, partial):
        record = self._own(request, pk)
        serializer = self.input_serializer(record, data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        record = self._save(lambda: self.update(record, serializer.validated_data))
        return Response(self.output_serializer(record).data)


def _bounded_int(raw, default: int, low: int, high: int) -> int:
    try:
        return min(high, max(low, int(raw)))
    except (TypeError, ValueError):
        return default


def _list_schema(output, key: str, scope: str):
    return extend_schema(
        operation_id=f"v1_{key}_list",
        parameters=FILTER_PARAMETERS,
        responses={
            200: inline_serializer(
                name=f"{output.Meta.model.__name__}ListResponse",
                fields={
                    key: output(many=True),
                    "totals": serializers.DictField(),
                    "pagination": serializers.DictField(),
                },
            ),
            400: OpenApiResponse(description="A filter is invalid; the body names it."),
            403: OpenApiResponse(description=f"The token lacks {scope}."),
        },
        description=f"Filtered list with totals of all filtered rows. Scope `{scope}`.",
    )


class MileageListApi(_ListApi):
    scope_name = "mileage"
    list_key = "mileage"
    output_serializer = MileageOutputSerializer
    input_serializer = MileageInputSerializer
    select = staticmethod(selectors.mileage_list)
    totals = staticmethod(selectors.mileage_totals)
    create = staticmethod(services.mileage_create)

    @_list_schema(MileageOutputSerializer, "mileage", "read:mileage")
    def get(self, request):
        return super().get(request)

    @extend_schema(request=MileageInputSerializer, responses={201: MileageOutputSerializer},
                   description="Create a trip. Scope `write:mileage`. The amount is computed.")
    def post(self, request):
        return super().post(request)


class MileageDetailApi(_DetailApi):
    scope_name = "mileage"
    output_serializer = MileageOutputSerializer
    input_serializer = MileageInputSerializer
    select = staticmethod(selectors.mileage_list)
    get_for_owner = staticmethod(selectors.mileage_get_for_owner)
    update = staticmethod(lambda record, fields: services.mileage_update(mileage=record, fields=fields))
    delete_record = staticmethod(lambda record: services.mileage_delete(mileage=record))

    @extend_schema(responses={200: MileageOutputSerializer}, description="Scope `read:mileage`.")
    def get(self, request, pk):
        return super().get(request, pk)

    @extend_schema(request=MileageInputSerializer, responses={200: MileageOutputSerializer},
                   description="Partial update of your own trip. Scope `write:mileage`.")
    def patch(self, request, pk):
        return super().patch(request, pk)

    @extend_schema(request=MileageInputSerializer, responses={200: MileageOutputSerializer},
                   description="Replace your own trip. Scope `write:mileage`.")
    def put(self, request, pk):
        return super().put(request, pk)

    @extend_schema(responses={204: None}, description="Delete your own trip. Scope `write:mileage`.")
    def delete(self, request, pk):
        return super().delete(request, pk)


class PerDiemListApi(_ListApi):
    scope_name = "per_diem"
    list_key = "per_diems"
    output_serializer = PerDiemOutputSerializer
    input_serializer = PerDiemInputSerializer
    select = staticmethod(selectors.per_diem_list)
    totals = staticmethod(selectors.per_diem_totals)
    create = staticmethod(services.per_diem_create)

    @_list_schema(PerDiemOutputSerializer, "per_diems", "read:per_diem")
    def get(self, request):
        return super().get(request)

    @extend_schema(request=PerDiemInputSerializer, responses={201: PerDiemOutputSerializer},
                   description="Create a per-diem claim. Scope `write:per_diem`. The amount is computed.")
    def post(self, request):
        return super().post(request)


class PerDiemDetailApi(_DetailApi):
    scope_name = "per_diem"
    output_serializer = PerDiemOutputSerializer
    input_serializer = PerDiemInputSerializer
    select = staticmethod(selectors.per_diem_list)
    get_for_owner = staticmethod(selectors.per_diem_get_for_owner)
    update = staticmethod(lambda record, fields: services.per_diem_update(per_diem=record, fields=fields))
    delete_record = staticmethod(lambda record: services.per_diem_delete(per_diem=record))

    @extend_schema(responses={200: PerDiemOutputSerializer}, description="Scope `read:per_diem`.")
    def get(self, request, pk):
        return super().get(request, pk)

    @extend_schema(request=PerDiemInputSerializer, responses={200: PerDiemOutputSerializer},
                   description="Partial update of your own claim. Scope `write:per_diem`.")
    def patch(self, request, pk):
        return super().patch(request, pk)

    @extend_schema(request=PerDiemInputSerializer, responses={200: PerDiemOutputSerializer},
                   description="Replace your own claim. Scope `write:per_diem`.")
    def put(self, request, pk):
        return super().put(request, pk)

    @extend_schema(responses={204: None}, description="Delete your own claim. Scope `write:per_diem`.")
    def delete(self, request, pk):
        return super().delete(request, pk)
