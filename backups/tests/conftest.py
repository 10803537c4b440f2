import pytest
from django.core.management import call_command


@pytest.fixture
def restorable_db(transactional_db):
    """The test database itself is restored: committed data (transactional_db) and, whatever
    the test did to the schema, the current migrations applied again afterwards, so the
    flush at teardown and the tests after it find every table."""
    yield
    call_command("migrate", interactive=False, verbosity=0)
