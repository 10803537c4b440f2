import pytest

from timetracker.tasks import users_count


@pytest.mark.celery_worker
def test_real_worker_sees_committed_rows(celery_worker, alice, bob):
    assert users_count.delay().get(timeout=30) == 2
