"""Core domain: the company's clients, projects, tasks and tags (shared by the whole
installation), and what belongs to one user: time entries, mileage, per diem, API tokens."""

import hashlib
import secrets
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import available_timezones

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.deconstruct import deconstructible

from timetracker.lib.timeparse import MAX_YEAR, MIN_YEAR

TIMEZONE_CHOICES = sorted((name, name) for name in available_timezones())
CENTS = Decimal("0.01")
# The largest amount the `amount` columns hold (max_digits=11, decimal_places=2).
MAX_AMOUNT = Decimal("999999999.99")


def amount_fits_check(record, *, field: str) -> None:
    """Refuse parts whose computed amount would not fit the amount column, naming `field`
    (a field the forms and serializers show) instead of failing in the database."""
    try:
        amount = record.compute_amount()
    except TypeError:  # a part is missing; its own field error says so
        return
    if amount > MAX_AMOUNT:
        raise ValidationError({field: f"The amount would be {amount:,}; the largest amount is {MAX_AMOUNT:,}."})


@deconstructible
class YearRangeValidator:
    """A travel date within the years the rest of the product accepts (the importer, the
    exports' filters): 9999-12-31 leaves no "next year" for the admin's date hierarchy."""

    def __init__(self, field_name: str):
        self.field_name = field_name

    def __call__(self, value) -> None:
        if not MIN_YEAR <= value.year <= MAX_YEAR:
            raise ValidationError(
                f"{self.field_name}: {value.isoformat()} is outside the years {MIN_YEAR}–{MAX_YEAR}.",
                code="year_out_of_range",
            )

    def __eq__(self, other):
        return isinstance(other, YearRangeValidator) and other.field_name == self.field_name


def project_client_check(record) -> None:
    """Mileage and per diem: a project that belongs to a client fixes the client. Fill it in
    when none is chosen, refuse a different one (naming `client`)."""
    if record.project_id and record.project.client_id:
        if record.client_id is None:
            record.client = record.project.client
        elif record.client_id != record.project.client_id:
            raise ValidationError(
                {"client": f"Project “{record.project.name}” belongs to client “{record.project.client.name}”, "
                 f"not “{record.client.name}”."}
            )  # fmt: skip


class SourceMixin(models.Model):
    """Where an imported row came from: `source_system` ("toggl", "harvest", "csv", …) and the
    id it had there (or a content fingerprint for sources without ids)."""

    source_system = models.CharField(max_length=32, blank=True, default="")
    source_id = models.CharField(max_length=128, blank=True, default="")

    class Meta:
        abstract = True


class UserProfile(models.Model):
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile")
    timezone = models.CharField(max_length=64, choices=TIMEZONE_CHOICES, default="UTC")
    # Set for client-portal contacts: the client whose data they may see, and nothing else.
    portal_client = models.ForeignKey(
        "Client", null=True, blank=True, on_delete=models.SET_NULL, related_name="portal_users"
    )

    def __str__(self):
        return f"Profile of {self.user}"


class Client(SourceMixin):
    class Status(models.TextChoices):
        ACTIVE = "active"
        INACTIVE = "inactive"
        ARCHIVED = "archived"

    name = models.CharField(max_length=200, unique=True)
    description = models.TextField(blank=True, default="")
    contact_person = models.CharField(max_length=200, blank=True, default="")
    email = models.EmailField(blank=True, default="")
    phone = models.CharField(max_length=64, blank=True, default="")
    address = models.TextField(blank=True, default="")
    default_hourly_rate = models.DecimalField(max_digits=9, decimal_places=2, null=True, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    prepaid_hours_monthly = models.DecimalField(max_digits=7, decimal_places=2, null=True, blank=True)
    prepaid_reset_day = models.PositiveSmallIntegerField(
        default=1, validators=[MinValueValidator(1), MaxValueValidator(28)]
    )
    custom_fields = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class Contact(models.Model):
    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="contacts")
    first_name = models.CharField(max_length=100, blank=True, default="")
    last_name = models.CharField(max_length=100, blank=True, default="")
    email = models.EmailField(blank=True, default="")
    phone = models.CharField(max_length=64, blank=True, default="")
    mobile = models.CharField(max_length=64, blank=True, default="")
    title = models.CharField(max_length=100, blank=True, default="")
    department = models.CharField(max_length=100, blank=True, default="")
    role = models.CharField(max_length=50, blank=True, default="contact")
    is_primary = models.BooleanField(default=False)
    address = models.TextField(blank=True, default="")
    notes = models.TextField(blank=True, default="")
    tags = models.CharField(max_length=500, blank=True, default="")
    position = models.PositiveSmallIntegerField(default=1, help_text="Order in the client's contact list.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["client", "position", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["client"], condition=Q(is_primary=True), name="one_primary_contact_per_client"
            )
        ]

    def __str__(self):
        return f"{self.first_name} {self.last_name}".strip() or self.email

    def clean(self):
        # The client CSV finds a contact by its name, or by its e-mail when it has none.
        if not (self.first_name.strip() or self.last_name.strip() or self.email.strip()):
            raise ValidationError("A contact needs a first or last name, or an e-mail address.")


class Project(SourceMixin):
    name = models.CharField(max_length=200)
    client = models.ForeignKey(Client, null=True, blank=True, on_delete=models.PROTECT, related_name="projects")
    billable = models.BooleanField(default=True)
    hourly_rate = models.DecimalField(max_digits=9, decimal_places=2, null=True, blank=True)
    archived = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["name", "client"], name="unique_project_name_per_client"),
            models.UniqueConstraint(
                fields=["name"], condition=Q(client__isnull=True), name="unique_project_name_without_client"
            ),
        ]

    def __str__(self):
        return f"{self.name} ({self.client})" if self.client_id else self.name


class Task(SourceMixin):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="tasks")
    name = models.CharField(max_length=200)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["project", "name"]
        constraints = [models.UniqueConstraint(fields=["project", "name"], name="unique_task_name_per_project")]

    def __str__(self):
        return self.name


class Tag(SourceMixin):
    name = models.CharField(max_length=100, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class TimeEntry(SourceMixin):
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="time_entries")
    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="time_entries")
    task = models.ForeignKey(Task, null=True, blank=True, on_delete=models.SET_NULL, related_name="time_entries")
    start = models.DateTimeField(db_index=True)
    end = models.DateTimeField(null=True, blank=True, help_text="Empty while the timer runs.")
    duration_seconds = models.PositiveIntegerField(default=0)
    notes = models.TextField(blank=True, default="")
    billable = models.BooleanField(default=True)
    # The Toggl workspace / Harvest account a pulled entry came from: a pull's clean-up of
    # entries deleted at the source only ever removes entries of its own account. A database
    # default too, so raw inserts (bench scripts, older backups) that do not name it still work.
    source_account = models.CharField(max_length=64, blank=True, default="", db_default="")
    # The day the source files the entry under (Harvest's `spent_date`): a Harvest rerun's
    # clean-up selects by it, so a change of timezone never reaches entries outside its range.
    source_date = models.DateField(null=True, blank=True)
    tags = models.ManyToManyField(Tag, blank=True, related_name="time_entries")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-start", "-id"]
        verbose_name_plural = "time entries"
        constraints = [
            # An imported row is identified by where it came from; re-imports update, never duplicate.
            models.UniqueConstraint(
                fields=["owner", "source_system", "source_id"],
                condition=~Q(source_id=""),
                name="unique_time_entry_source_per_owner",
            ),
            models.CheckConstraint(condition=Q(end__isnull=True) | Q(end__gte=models.F("start")), name="end_after_start"),
        ]
        indexes = [models.Index(fields=["owner", "start"])]

    def __str__(self):
        return f"{self.project} {self.start:%Y-%m-%d %H:%M}"

    @property
    def is_running(self) -> bool:
        return self.end is None

    @property
    def duration_hours(self) -> Decimal:
        return (Decimal(self.duration_seconds) / Decimal(3600)).quantize(CENTS, ROUND_HALF_UP)


class ExpenseStatus(models.TextChoices):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    APPROVED = "approved"
    REJECTED = "rejected"
    REIMBURSED = "reimbursed"


class Mileage(models.Model):
    class Unit(models.TextChoices):
        KM = "km"
        MI = "mi"

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="mileage")
    date = models.DateField(db_index=True, validators=[YearRangeValidator("date")])
    project = models.ForeignKey(Project, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    client = models.ForeignKey(Client, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    purpose = models.CharField(max_length=200)
    from_location = models.CharField(max_length=200)
    to_location = models.CharField(max_length=200)
    distance = models.DecimalField(max_digits=9, decimal_places=2, validators=[MinValueValidator(Decimal("0"))])
    unit = models.CharField(max_length=2, choices=Unit.choices, default=Unit.KM)
    round_trip = models.BooleanField(default=False)
    rate_per_unit = models.DecimalField(max_digits=7, decimal_places=3, validators=[MinValueValidator(Decimal("0"))])
    amount = models.DecimalField(max_digits=11, decimal_places=2, editable=False, default=Decimal("0.00"))
    status = models.CharField(max_length=16, choices=ExpenseStatus.choices, default=ExpenseStatus.DRAFT)
    notes = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-date", "-id"]
        verbose_name_plural = "mileage"

    @property
    def total_distance(self) -> Decimal:
        return self.distance * 2 if self.round_trip else self.distance

    def compute_amount(self) -> Decimal:
        return (self.total_distance * self.rate_per_unit).quantize(CENTS, ROUND_HALF_UP)

    def clean(self):
        # Every entry point runs this: the admin and page forms (ModelForm validation), the
        # services behind the API (full_clean).
        project_client_check(self)
        amount_fits_check(self, field="distance")

    def save(self, *args, **kwargs):
        self.amount = self.compute_amount()
        super().save(*args, **kwargs)


class PerDiem(models.Model):
    MEAL_COUNT_FIELDS = ("breakfasts_provided", "lunches_provided", "dinners_provided")

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="per_diems")
    start_date = models.DateField(db_index=True, validators=[YearRangeValidator("start_date")])
    end_date = models.DateField(validators=[YearRangeValidator("end_date")])
    country = models.CharField(max_length=100)
    city = models.CharField(max_length=100, blank=True, default="")
    purpose = models.CharField(max_length=200, blank=True, default="")
    project = models.ForeignKey(Project, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    client = models.ForeignKey(Client, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    full_days = models.PositiveSmallIntegerField(default=0)
    partial_days = models.PositiveSmallIntegerField(default=0)
    daily_rate = models.DecimalField(max_digits=9, decimal_places=2, validators=[MinValueValidator(Decimal("0"))])
    partial_day_rate = models.DecimalField(
        max_digits=9, decimal_places=2, default=Decimal("0.00"), validators=[MinValueValidator(Decimal("0"))]
    )
    breakfasts_provided = models.PositiveSmallIntegerField(default=0)
    lunches_provided = models.PositiveSmallIntegerField(default=0)
    dinners_provided = models.PositiveSmallIntegerField(default=0)
    breakfast_deduction = models.DecimalField(
        max_digits=7, decimal_places=2, default=Decimal("0.00"), validators=[MinValueValidator(Decimal("0"))]
    )
    lunch_deduction = models.DecimalField(
        max_digits=7, decimal_places=2, default=Decimal("0.00"), validators=[MinValueValidator(Decimal("0"))]
    )
    dinner_deduction = models.DecimalField(
        max_digits=7, decimal_places=2, default=Decimal("0.00"), validators=[MinValueValidator(Decimal("0"))]
    )
    amount = models.DecimalField(max_digits=11, decimal_places=2, editable=False, default=Decimal("0.00"))
    status = models.CharField(max_length=16, choices=ExpenseStatus.choices, default=ExpenseStatus.DRAFT)
    notes = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-start_date", "-id"]
        verbose_name = "per diem"
        verbose_name_plural = "per diems"
        constraints = [
            models.CheckConstraint(condition=Q(end_date__gte=models.F("start_date")), name="per_diem_end_after_start")
        ]

    def compute_amount(self) -> Decimal:
        gross = self.full_days * self.daily_rate + self.partial_days * self.partial_day_rate
        deductions = (
            self.breakfasts_provided * self.breakfast_deduction
            + self.lunches_provided * self.lunch_deduction
            + self.dinners_provided * self.dinner_deduction
        )
        return max(Decimal("0"), Decimal(gross) - Decimal(deductions)).quantize(CENTS, ROUND_HALF_UP)

    def clean(self):
        # Every entry point runs this: the admin and page forms (ModelForm validation), the
        # services behind the API (full_clean).
        project_client_check(self)
        self.days_check()
        amount_fits_check(self, field="daily_rate")

    def days_check(self) -> None:
        """The end is not before the start, and the days claimed and the meals provided fit
        in the trip."""
        if not (self.start_date and self.end_date):
            return
        if self.end_date < self.start_date:
            raise ValidationError({"end_date": "The end date must be on or after the start date."})
        trip_days = (self.end_date - self.start_date).days + 1
        claimed = (self.full_days or 0) + (self.partial_days or 0)
        if claimed > trip_days:
            raise ValidationError(
                {"partial_days": f"Full and partial days add up to {claimed}, but the trip lasts {trip_days} day(s)."}
            )
        for field in self.MEAL_COUNT_FIELDS:
            count = getattr(self, field) or 0
            if count > trip_days:
                raise ValidationError({field: f"{count} meals provided, but the trip lasts {trip_days} day(s)."})

    def save(self, *args, **kwargs):
        self.amount = self.compute_amount()
        super().save(*args, **kwargs)


API_TOKEN_PREFIX = "tt_"


def api_token_digest(raw_token: str) -> str:
    return hashlib.sha256(raw_token.encode()).hexdigest()


class ApiToken(models.Model):
    """A personal API token. Only its SHA-256 is stored; the full token is shown once."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    # The first characters after "tt_", kept in clear so a user can tell tokens apart.
    prefix = models.CharField(max_length=12, db_index=True)
    token_hash = models.CharField(max_length=64, unique=True)
    scopes = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.name} ({API_TOKEN_PREFIX}{self.prefix}…)"

    @staticmethod
    def generate_raw_token() -> str:
        return API_TOKEN_PREFIX + secrets.token_urlsafe(32)

    @property
    def is_usable(self) -> bool:
        if self.revoked_at is not None:
            return False
        return self.expires_at is None or self.expires_at > timezone.now()

    def has_scope(self, required: str) -> bool:
        """`*` and `admin:all` grant everything; `write:*` grants every `write:…` scope."""
        required_action = required.split(":", 1)[0]
        for scope in self.scopes:
            if scope in ("*", "admin:all", required) or scope == f"{required_action}:*":
                return True
        return False
