from django import forms

from timetracker.models import Client, ExpenseStatus, Mileage, PerDiem, Project

from .selectors import TravelFilters

DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class TravelFilterForm(forms.Form):
    """The query string of the list pages, their exports and the API list endpoints."""

    search = forms.CharField(required=False, max_length=200)
    status = forms.ChoiceField(required=False, choices=[("", "Any status"), *ExpenseStatus.choices])
    project_id = forms.ModelChoiceField(
        required=False, queryset=Project.objects.select_related("client"), empty_label="Any project", label="Project"
    )
    client_id = forms.ModelChoiceField(
        required=False, queryset=Client.objects.all(), empty_label="Any client", label="Client"
    )
    start_date = forms.DateField(required=False, widget=DATE_INPUT, label="From")
    end_date = forms.DateField(required=False, widget=DATE_INPUT, label="To")

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("start_date"), cleaned.get("end_date")
        if start and end and end < start:
            self.add_error("end_date", f"The end date {end.isoformat()} is before the start date {start.isoformat()}.")
        return cleaned

    def filters(self) -> TravelFilters:
        """The valid part of the query string; call after is_valid()."""
        cleaned = self.cleaned_data if hasattr(self, "cleaned_data") else {}
        return TravelFilters(
            search=(cleaned.get("search") or "").strip(),
            status=cleaned.get("status") or "",
            project=cleaned.get("project_id"),
            client=cleaned.get("client_id"),
            start_date=cleaned.get("start_date"),
            end_date=cleaned.get("end_date"),
        )

    def error_text(self) -> str:
        return "; ".join(f"{name}: {' '.join(errors)}" for name, errors in self.errors.items())


class MileageForm(forms.ModelForm):
    class Meta:
        model = Mileage
        fields = [
            "date", "purpose", "from_location", "to_location", "distance", "unit", "round_trip", "rate_per_unit",
            "project", "client", "status", "notes",
        ]
        widgets = {"date": DATE_INPUT, "notes": forms.Textarea(attrs={"rows": 3})}
        labels = {"from_location": "From", "to_location": "To", "round_trip": "Round trip (doubles distance and amount)"}


class PerDiemForm(forms.ModelForm):
    class Meta:
        model = PerDiem
        fields = [
            "start_date", "end_date", "country", "city", "purpose", "project", "client", "full_days", "partial_days",
            "daily_rate", "partial_day_rate", "breakfasts_provided", "breakfast_deduction", "lunches_provided",
            "lunch_deduction", "dinners_provided", "dinner_deduction", "status", "notes",
        ]
        widgets = {"start_date": DATE_INPUT, "end_date": DATE_INPUT, "notes": forms.Textarea(attrs={"rows": 3})}
