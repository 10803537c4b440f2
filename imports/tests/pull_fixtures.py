"""Fixtures of the Toggl/Harvest pull tests: fake APIs on 127.0.0.1 and a clock that moves
instead of waiting. Test modules import the fixtures they use by name."""

import pytest

from timetracker.lib import http_client

from .fake_harvest import HARVEST_TOKEN, FakeHarvest
from .fake_toggl import TOGGL_TOKEN, FakeToggl


@pytest.fixture
def sleeps(monkeypatch):
    """Every back-off and Retry-After wait, recorded instead of slept."""
    recorded: list[float] = []
    monkeypatch.setattr(http_client, "sleep", recorded.append)
    return recorded


@pytest.fixture
def fake_toggl(settings):
    server = FakeToggl(token=TOGGL_TOKEN).start()
    settings.TOGGL_API_URL = server.url
    settings.TOGGL_MIN_REQUEST_INTERVAL = 0
    settings.TOGGL_REPORT_PAGE_SIZE = 3
    yield server
    server.release.set()
    server.stop()


@pytest.fixture
def fake_harvest(settings):
    server = FakeHarvest(token=HARVEST_TOKEN).start()
    settings.HARVEST_API_URL = server.url
    settings.HARVEST_PER_PAGE = 2
    yield server
    server.stop()
