"""DRF v1: start a Toggl or Harvest pull with an API token holding `write:time_entries`."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from timetracker.authentication import scope_required

from .pull_views import started_response, started_status_code
from .pulls import PullInputError, pull_start


class PullInputBase(serializers.Serializer):
    token = serializers.CharField(
        help_text="API token of the source account (also accepted as `api_token`); never stored in clear."
    )
    start = serializers.DateField(help_text="First day, YYYY-MM-DD (also accepted as `start_date`).")
    end = serializers.DateField(help_text="Last day, inclusive (also accepted as `end_date`).")
    map_users_by_email = serializers.BooleanField(
        required=False, default=False, help_text="Admins only: give entries to the users with the same e-mail."
    )


class TogglPullInput(PullInputBase):
    workspace_id = serializers.CharField(max_length=20, help_text="Digits only.")


class HarvestPullInput(PullInputBase):
    account_id = serializers.CharField(max_length=20, help_text="Digits only.")
    timezone = serializers.CharField(required=False, help_text="The Harvest account's timezone; default: yours.")


class PullSummaryOutput(serializers.Serializer):
    total = serializers.IntegerField()
    successful = serializers.IntegerField()
    failed = serializers.IntegerField()
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    unchanged = serializers.IntegerField()
    skipped = serializers.IntegerField()
    errors = serializers.ListField(child=serializers.CharField())


class PullStartedOutput(serializers.Serializer):
    success = serializers.BooleanField()
    import_id = serializers.IntegerField()
    import_type = serializers.CharField()
    status = serializers.CharField()
    status_url = serializers.CharField()
    summary = PullSummaryOutput()


class PullErrorOutput(serializers.Serializer):
    success = serializers.BooleanField()
    error = serializers.CharField()
    field = serializers.CharField()


class PullStartApi(APIView):
    permission_classes = [IsAuthenticated, scope_required("write:time_entries")]
    source = ""

    def post(self, request):
        params = request.data.dict() if hasattr(request.data, "dict") else dict(request.data)
        try:
            data_import = pull_start(user=request.user, source=self.source, params=params)
        except PullInputError as exc:
            return Response({"success": False, "error": exc.message, "field": exc.field},
                            status=status.HTTP_400_BAD_REQUEST)
        return Response(started_response(data_import, api=True), status=started_status_code(data_import))


class TogglPullApi(PullStartApi):
    source = "toggl"

    @extend_schema(
        operation_id="import_toggl", request=TogglPullInput,
        responses={200: PullStartedOutput, 202: PullStartedOutput, 400: PullErrorOutput},
        summary="Pull time entries from Toggl Track",
    )
    def post(self, request):
        return super().post(request)


class HarvestPullApi(PullStartApi):
    source = "harvest"

    @extend_schema(
        operation_id="import_harvest", request=HarvestPullInput,
        responses={200: PullStartedOutput, 202: PullStartedOutput, 400: PullErrorOutput},
        summary="Pull time entries from Harvest",
    )
    def post(self, request):
        return super().post(request)
