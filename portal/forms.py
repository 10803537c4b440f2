from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import AuthenticationForm

from .selectors import portal_client_for_user


class PortalAuthenticationForm(AuthenticationForm):
    def confirm_login_allowed(self, user):
        super().confirm_login_allowed(user)
        if portal_client_for_user(user) is None:
            raise forms.ValidationError("This account has no client portal access.", code="no_portal_access")


class PortalContactInviteForm(forms.Form):
    email = forms.EmailField()
    first_name = forms.CharField(max_length=150, required=False)
    last_name = forms.CharField(max_length=150, required=False)

    def __init__(self, *args, client, **kwargs):
        super().__init__(*args, **kwargs)
        self.client = client

    def clean_email(self):
        email = self.cleaned_data["email"].strip().lower()
        existing = get_user_model().objects.filter(username__iexact=email).select_related("profile").first()
        if existing is not None and existing.profile.portal_client_id != self.client.pk:
            raise forms.ValidationError("A user with this e-mail exists and is not a portal contact of this client.")
        return email
