"""Reads of the imports app; who may see which import is decided here, once."""

from django.db.models import Q, QuerySet

from timetracker.models import Client, TimeEntry

from .models import DataImport


def data_imports_visible_to(*, user) -> QuerySet[DataImport]:
    """A user's own imports; staff see everyone's. Every history and status read comes
    here, so interrupted CSV imports are marked failed first rather than shown running."""
    from .services import csv_imports_interrupted_fail

    csv_imports_interrupted_fail()
    imports = DataImport.objects.select_related("owner")
    if user.is_staff:
        return imports
    return imports.filter(owner=user)


def clients_visible_to(*, user) -> QuerySet[Client]:
    """Every client for staff; for anyone else the clients they track time for (exporting all
    clients is for admins only; updating any client through the import too)."""
    if user.is_staff:
        return Client.objects.all()
    return Client.objects.filter(pk__in=TimeEntry.objects.filter(owner=user).values("project__client"))


class UnknownClientStatus(ValueError):
    """A status filter that is none of Client.Status (a 400 from the export endpoints)."""


def clients_for_export(*, user, status: str = "", search: str = "") -> QuerySet[Client]:
    """What /clients/export writes: `status` active, inactive or archived (empty: all; anything
    else raises UnknownClientStatus rather than exporting every client) and `search` in the
    name, e-mail, contact person or description."""
    clients = clients_visible_to(user=user)
    if status and status not in Client.Status.values:
        allowed = ", ".join(Client.Status.values)
        raise UnknownClientStatus(f'Unknown status "{status[:40]}"; use one of: {allowed} (or leave it empty for all).')
    if status:
        clients = clients.filter(status=status)
    if search.strip():
        term = search.strip()
        clients = clients.filter(
            Q(name__icontains=term) | Q(email__icontains=term) | Q(contact_person__icontains=term)
            | Q(description__icontains=term)
        )
    return clients.order_by("name")
