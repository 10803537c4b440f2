"""Input of the CSV import entry points (page, session JSON endpoint, DRF v1 API): the upload
form, its options and the upload-size guard that runs before a body is read."""

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError

from timetracker.lib.flags import parse_flag
from timetracker.models import TIMEZONE_CHOICES

DATE_ORDER_CHOICES = [
    ("", "Detect from the file"),
    ("DMY", "Day/Month/Year (31/12/2024)"),
    ("MDY", "Month/Day/Year (12/31/2024)"),
    ("YMD", "Year/Month/Day (2024/12/31)"),
]
CSV_FILE_SUFFIXES = (".csv", ".txt")
# Room for the multipart boundaries and the small option fields next to the file itself.
MULTIPART_OVERHEAD_BYTES = 64 * 1024

def human_size(size: int) -> str:
    for unit, factor in (("MB", 1024 * 1024), ("KB", 1024)):
        if size >= factor:
            return f"{size / factor:.1f}".removesuffix(".0") + f" {unit}"
    return f"{size} bytes"


def upload_limit_message(*, size: int | None = None) -> str:
    told = f" ({human_size(size)})" if size is not None else ""
    return f"File too large{told}: the upload limit is {human_size(settings.MAX_UPLOAD_SIZE)}."


def request_body_too_large(request) -> bool:
    """True when the declared body is over the upload cap: answered with 413 before Django
    or DRF parses (and spools to disk) anything."""
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return False
    return length > settings.MAX_UPLOAD_SIZE + MULTIPART_OVERHEAD_BYTES


def validate_csv_file_name(name: str) -> None:
    if not name:
        raise ValidationError("No file selected")
    if not name.lower().endswith(CSV_FILE_SUFFIXES):
        raise ValidationError("File must be a CSV (.csv or .txt)")


class FlagCheckboxInput(forms.CheckboxInput):
    """Hands the raw value to FlagField (CheckboxInput itself turns "0" into True)."""

    def value_from_datadict(self, data, files, name):
        return data.get(name)


class FlagField(forms.Field):
    """A yes/no option read strictly (timetracker.lib.flags; Django's CheckboxInput would read
    "0" as true and anything else as true too); absent or empty means `default`."""

    widget = FlagCheckboxInput

    def __init__(self, *, default: bool = False, **kwargs):
        kwargs.setdefault("required", False)
        self.default = default
        super().__init__(**kwargs)

    def to_python(self, value):
        try:
            return parse_flag(value, default=self.default)
        except ValueError as error:
            raise ValidationError(str(error)) from None


class CsvImportForm(forms.Form):
    """The upload form on the Import/Export page; the session endpoint validates the same fields."""

    file = forms.FileField(
        required=False, label="CSV file", widget=forms.ClearableFileInput(attrs={"accept": ".csv,.txt,text/csv"})
    )
    timezone = forms.ChoiceField(
        choices=TIMEZONE_CHOICES,
        required=False,
        help_text="Times without an offset are read in this timezone.",
    )
    date_order = forms.ChoiceField(choices=DATE_ORDER_CHOICES, required=False, label="Date order")
    skip_invalid = FlagField(label="Import valid rows, skip invalid ones")
    preview = FlagField(widget=forms.HiddenInput)
    # Confirming a preview sends the preview's signed reference to the stored upload instead of the file.
    upload_token = forms.CharField(required=False, max_length=2000, widget=forms.HiddenInput)

    def clean_file(self):
        uploaded = self.cleaned_data.get("file")
        if uploaded is None and self.data.get("upload_token"):
            return None
        if uploaded is None:
            raise ValidationError("No file provided")
        validate_csv_file_name(uploaded.name or "")
        return uploaded

    def first_error(self) -> str:
        for field, errors in self.errors.items():
            message = errors[0]
            return message if field in ("file", "__all__") else f"{field}: {message}"
        return ""


class ClientCsvImportForm(forms.Form):
    """The client upload on the Import/Export page and POST /api/import/csv/clients. The
    options may also come in the query string, as the original's
    `?skip_duplicates=false&duplicate_detection_fields=name,custom_field_erp_id`."""

    file = forms.FileField(
        required=False, label="Clients CSV file", widget=forms.ClearableFileInput(attrs={"accept": ".csv,.txt,text/csv"})
    )
    # Skipping duplicates is the default: an absent field means true (a plain checkbox would mean false).
    skip_duplicates = FlagField(default=True, label="Skip clients that already exist (off: update them)")
    duplicate_detection_fields = forms.CharField(
        required=False,
        max_length=1000,
        label="Match existing clients on",
        help_text="Comma-separated: name, email, custom_field_<key>. Empty: name and every custom field in the file.",
    )
    skip_invalid = FlagField(label="Import valid rows, skip invalid ones")
    preview = FlagField(widget=forms.HiddenInput)
    upload_token = forms.CharField(required=False, max_length=2000, widget=forms.HiddenInput)

    clean_file = CsvImportForm.clean_file
    first_error = CsvImportForm.first_error
