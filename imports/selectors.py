"""Reads of the imports app; who may see which import is decided here, once."""

from django.db.models import QuerySet

from .models import DataImport


def data_imports_visible_to(*, user) -> QuerySet[DataImport]:
    """A user's own imports; staff see everyone's."""
    imports = DataImport.objects.select_related("owner")
    if user.is_staff:
        return imports
    return imports.filter(owner=user)
