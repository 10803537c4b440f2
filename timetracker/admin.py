from django import forms
from django.contrib import admin, messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import ChangeList

from exports.admin_actions import export_selected_time_entries
from imports.admin import ClientCsvAdminMixin, TimeEntryImportExportMixin
from portal.admin import PortalInviteAdminMixin
from travel.admin_actions import TRAVEL_EXPORT_ACTIONS

from .forms import ApiTokenExpiryCheck
from .models import (
    ApiToken,
    Client,
    Contact,
    Mileage,
    PerDiem,
    Project,
    Tag,
    Task,
    TimeEntry,
    UserProfile,
)
from .services import KNOWN_SCOPES, api_token_create


class DateHierarchyChangeList(ChangeList):
    """Django turns `?date__year=9999` into the range [9999-01-01, 10000-01-01) and fails on
    the second bound (ValueError, or OverflowError with a month): answer it as any other bad
    lookup, with the changelist's "?e=1" redirect instead of a 500."""

    def get_filters(self, request):
        try:
            return super().get_filters(request)
        except (ValueError, OverflowError) as error:
            raise IncorrectLookupParameters(error) from error


class DateHierarchyAdminMixin:
    def get_changelist(self, request, **kwargs):
        return DateHierarchyChangeList


@admin.register(UserProfile)
class UserProfileAdmin(admin.ModelAdmin):
    list_display = ["user", "timezone", "portal_client"]
    search_fields = ["user__username", "user__email"]
    list_filter = ["timezone"]


class ContactInline(admin.TabularInline):
    model = Contact
    extra = 0


@admin.register(Client)
class ClientAdmin(PortalInviteAdminMixin, ClientCsvAdminMixin, admin.ModelAdmin):
    list_display = ["name", "status", "email", "default_hourly_rate", "updated_at"]
    search_fields = ["name", "email", "contact_person"]
    list_filter = ["status"]
    inlines = [ContactInline]


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):
    list_display = ["name", "client", "billable", "hourly_rate", "archived"]
    search_fields = ["name", "client__name"]
    list_filter = ["archived", "billable", "client"]


@admin.register(Task)
class TaskAdmin(admin.ModelAdmin):
    list_display = ["name", "project", "active"]
    search_fields = ["name", "project__name"]
    list_filter = ["active"]


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    search_fields = ["name"]


@admin.register(TimeEntry)
class TimeEntryAdmin(DateHierarchyAdminMixin, TimeEntryImportExportMixin, admin.ModelAdmin):
    list_display = ["owner", "project", "task", "start", "end", "duration_seconds", "billable", "source_system"]
    search_fields = ["notes", "project__name", "project__client__name", "owner__username", "source_id"]
    list_filter = ["billable", "source_system", "project__client", "start"]
    date_hierarchy = "start"
    raw_id_fields = ["owner", "project", "task"]
    filter_horizontal = ["tags"]
    actions = [*export_selected_time_entries]


@admin.register(Mileage)
class MileageAdmin(DateHierarchyAdminMixin, admin.ModelAdmin):
    list_display = ["owner", "date", "purpose", "distance", "unit", "round_trip", "amount", "status"]
    search_fields = ["purpose", "from_location", "to_location", "owner__username"]
    list_filter = ["status", "unit", "round_trip"]
    list_filter += ["date", "client", "project"]
    date_hierarchy = "date"
    actions = TRAVEL_EXPORT_ACTIONS


@admin.register(PerDiem)
class PerDiemAdmin(DateHierarchyAdminMixin, admin.ModelAdmin):
    list_display = ["owner", "start_date", "end_date", "country", "city", "amount", "status"]
    search_fields = ["country", "city", "purpose", "owner__username"]
    list_filter = ["status", "country"]
    list_filter += ["start_date", "client", "project"]
    date_hierarchy = "start_date"
    actions = TRAVEL_EXPORT_ACTIONS


class ApiTokenAddForm(ApiTokenExpiryCheck, forms.ModelForm):
    scopes = forms.MultipleChoiceField(choices=[(s, s) for s in KNOWN_SCOPES], widget=forms.CheckboxSelectMultiple)

    class Meta:
        model = ApiToken
        fields = ["owner", "name", "scopes", "expires_at"]


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ["name", "owner", "prefix", "scopes", "created_at", "last_used_at", "expires_at", "revoked_at"]
    search_fields = ["name", "owner__username", "prefix"]
    list_filter = ["revoked_at"]
    readonly_fields = ["prefix", "token_hash", "created_at", "last_used_at"]

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = ApiTokenAddForm
        return super().get_form(request, obj, **kwargs)

    def get_fields(self, request, obj=None):
        if obj is None:
            return ApiTokenAddForm.Meta.fields
        return super().get_fields(request, obj)

    def get_readonly_fields(self, request, obj=None):
        return () if obj is None else self.readonly_fields

    def save_model(self, request, obj, form, change):
        if change:
            return super().save_model(request, obj, form, change)
        # The same service as the user's page and the command: the secret is generated there,
        # only its hash is stored, and this message is the one time it is shown.
        token, raw = api_token_create(owner=obj.owner, name=obj.name, scopes=list(obj.scopes),
                                      expires_at=obj.expires_at)
        for model_field in ApiToken._meta.concrete_fields:
            setattr(obj, model_field.attname, getattr(token, model_field.attname))
        obj._state.adding, obj._state.db = False, token._state.db
        messages.warning(request, f"The new token is {raw} — copy it now: it is stored hashed and will not be shown again.")
