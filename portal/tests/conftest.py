"""Acme's portal data (seen by dana) next to Globex's (which dana must never see)."""

import datetime as dt

import pytest
from django.utils import timezone

from backups.restore_flag import set_database_restore_in_progress
from timetracker.models import Client, Project, TimeEntry


def add_entry(owner, project, *, days_ago: int, hour: int, seconds: int, billable: bool = True, notes: str = ""):
    today = timezone.now().astimezone(dt.UTC).date()
    start = dt.datetime.combine(today - dt.timedelta(days=days_ago), dt.time(hour), tzinfo=dt.UTC)
    return TimeEntry.objects.create(
        owner=owner,
        project=project,
        start=start,
        end=start + dt.timedelta(seconds=seconds),
        duration_seconds=seconds,
        billable=billable,
        notes=notes,
    )


@pytest.fixture
def globex(db):
    return Client.objects.create(name="Globex")


@pytest.fixture
def acme_hours(acme, globex, alice, bob):
    """Last 30 days: Legacy 1.00 h, Support 1.00 h (0.75 billable), Website 3.50 h; 5.50 h in all."""
    website = Project.objects.create(name="Website", client=acme)
    support = Project.objects.create(name="Support", client=acme)
    legacy = Project.objects.create(name="Legacy", client=acme, archived=True)
    Project.objects.create(name="Old", client=acme, archived=True)  # archived, no hours: not listed
    add_entry(alice, website, days_ago=0, hour=9, seconds=5400, notes="Landing page")
    add_entry(bob, website, days_ago=1, hour=10, seconds=7200, notes="Checkout")
    add_entry(alice, support, days_ago=1, hour=13, seconds=900, billable=False, notes="Call")
    add_entry(alice, support, days_ago=10, hour=9, seconds=2700, notes="Tickets")
    add_entry(alice, legacy, days_ago=2, hour=9, seconds=3600, notes="Migration")
    add_entry(alice, website, days_ago=40, hour=9, seconds=3600, notes="Too old")
    TimeEntry.objects.create(owner=alice, project=website, start=timezone.now(), end=None)  # running timer
    globex_app = Project.objects.create(name="Globex App", client=globex)
    add_entry(alice, globex_app, days_ago=0, hour=8, seconds=28800, notes="Globex secret work")
    return {"website": website, "support": support, "legacy": legacy, "globex_app": globex_app}


@pytest.fixture
def dana_client(client, dana):
    client.force_login(dana)
    return client


@pytest.fixture
def restore_in_progress():
    set_database_restore_in_progress(True)
    yield
    set_database_restore_in_progress(False)
