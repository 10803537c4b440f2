"""The embedded default (no REDIS_URL) runs tasks in a background thread of the web process."""

import threading

import pytest

from timetracker.celery import app as celery_app
from timetracker.tasks import users_count


@pytest.fixture
def embedded_threads():
    celery_app.conf.task_run_in_thread = True
    yield
    celery_app.conf.task_run_in_thread = False


def test_delay_returns_at_once_and_the_task_runs_in_another_thread(embedded_threads, transactional_db, alice):
    started = threading.Event()
    seen = {}

    original_run = users_count.run

    def record(*args, **kwargs):
        seen["thread"] = threading.current_thread().name
        seen["count"] = original_run()
        started.set()

    users_count.run = record
    try:
        result = users_count.delay()
        assert started.wait(timeout=10)
    finally:
        users_count.run = original_run
    assert result.id
    assert seen == {"thread": "task-timetracker.tasks.users_count", "count": 1}
