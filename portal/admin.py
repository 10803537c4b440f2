"""Admin: invite a client's portal contact from the client's page (ClientAdmin mixes this in)."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

from timetracker.models import Client

from .forms import PortalContactInviteForm
from .services import portal_contact_invite


class PortalInviteAdminMixin:
    change_form_template = "admin/portal/client_change_form.html"

    def get_urls(self):
        return [
            path(
                "<int:client_id>/invite-portal-contact/",
                self.admin_site.admin_view(self.invite_portal_contact_view),
                name="timetracker_client_invite_portal_contact",
            ),
            *super().get_urls(),
        ]

    def invite_portal_contact_view(self, request, client_id):
        client = get_object_or_404(Client, pk=client_id)
        if not self.has_change_permission(request, client):
            raise PermissionDenied
        form = PortalContactInviteForm(request.POST or None, client=client)
        if request.method == "POST" and form.is_valid():
            invite = portal_contact_invite(
                client=client,
                email=form.cleaned_data["email"],
                first_name=form.cleaned_data["first_name"],
                last_name=form.cleaned_data["last_name"],
                base_url=request.build_absolute_uri("/"),
            )
            messages.success(
                request,
                f"Invitation e-mailed to {invite.user.email}. Set-password link (works once): {invite.set_password_url}",
            )
            return redirect(reverse("admin:timetracker_client_change", args=[client.pk]))
        context = {
            **self.admin_site.each_context(request),
            "title": f"Invite a portal contact for {client.name}",
            "client": client,
            "form": form,
            "opts": self.model._meta,
            "contacts": client.portal_users.select_related("user").order_by("user__username"),
        }
        return TemplateResponse(request, "admin/portal/invite_contact.html", context)

