"""`{% load exports_panel %}{% export_panel_choices as choices %}`: what the export panel's
filter form offers, so the panel can be included in any page that has `request`."""

from django import template
from django.contrib.auth import get_user_model

from timetracker.models import Client, Project, Tag, Task

register = template.Library()


@register.simple_tag(takes_context=True)
def export_panel_choices(context) -> dict:
    request = context.get("request")
    user = getattr(request, "user", None)
    choices = {
        "clients": Client.objects.order_by("name").only("id", "name"),
        "projects": Project.objects.select_related("client").order_by("name").only("id", "name", "client__name"),
        "tasks": Task.objects.select_related("project").order_by("project__name", "name").only(
            "id", "name", "project__name"
        ),
        "tags": Tag.objects.order_by("name").only("id", "name"),
        "users": [],
    }
    if user is not None and user.is_staff:
        choices["users"] = get_user_model().objects.filter(is_active=True).order_by("username").only("id", "username")
    return choices
