from django import forms

from .services import KNOWN_SCOPES, api_token_expiry_error


class ApiTokenExpiryCheck:
    """For the token forms of the user's page and the admin: an expiry must lie ahead."""

    def clean_expires_at(self):
        expires_at = self.cleaned_data["expires_at"]
        error = api_token_expiry_error(expires_at)
        if error:
            raise forms.ValidationError(error)
        return expires_at


class ApiTokenForm(ApiTokenExpiryCheck, forms.Form):
    name = forms.CharField(max_length=100)
    scopes = forms.MultipleChoiceField(
        choices=[(s, s) for s in KNOWN_SCOPES], widget=forms.CheckboxSelectMultiple
    )
    expires_at = forms.DateTimeField(required=False, help_text="Optional, e.g. 2027-01-31 00:00")
