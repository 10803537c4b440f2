"""Starts of a pull of one workspace at the same moment (PostgreSQL, real threads, one
connection each): exactly one starts, the others are refused."""

import threading

import pytest
from django.db import connection

from conftest import make_user
from imports.models import DataImport
from imports.pulls import PullInputError, pull_import_begin
from imports.tests.fake_toggl import TOGGL_TOKEN

PARAMS = {"token": TOGGL_TOKEN, "workspace_id": "2000002", "start": "2024-03-01", "end": "2024-03-31"}


@pytest.mark.django_db(transaction=True)
def test_simultaneous_starts_of_one_workspace_start_exactly_one_pull():
    users = [make_user(f"user{n}") for n in range(4)]
    for round_number in range(5):
        start = threading.Barrier(len(users))
        outcomes: list[str] = []

        def begin(user):
            try:
                start.wait()
                try:
                    pull_import_begin(user=user, source="toggl", params=PARAMS)
                    outcomes.append("started")
                except PullInputError:
                    outcomes.append("refused")
            finally:
                connection.close()

        threads = [threading.Thread(target=begin, args=(user,)) for user in users]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)

        assert sorted(outcomes) == ["refused", "refused", "refused", "started"], round_number
        assert DataImport.objects.exclude(status="failed").count() == 1
        DataImport.objects.update(status="failed")  # finished: the next round may start one again
