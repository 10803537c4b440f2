import psycopg
import pytest
from django.core.management import call_command
from django.db import connection

HOLD_LOCK_KEY = 727272


@pytest.fixture
def restorable_db(transactional_db):
    """The test database itself is restored: committed data (transactional_db) and, whatever
    the test did to the schema, the current migrations applied again afterwards, so the
    flush at teardown and the tests after it find every table."""
    yield
    call_command("migrate", interactive=False, verbosity=0)


def _connect(application_name: str) -> psycopg.Connection:
    db = connection.settings_dict
    return psycopg.connect(host=db["HOST"], port=db["PORT"], user=db["USER"], password=db["PASSWORD"] or None,
                           dbname=db["NAME"], application_name=application_name, autocommit=True)


class MigrationsHold:
    """While held, the first schema change a Django connection makes (a migration) waits for an
    advisory lock; psql's replacement of the database (application "psql") does not. An event
    trigger whose function lives outside the `public` schema the restore drops does it, so the
    restore itself runs unchanged and stops at a known point: "applying migrations"."""

    def __init__(self):
        self.owner = _connect("test-migrations-hold")
        self.owner.execute("CREATE SCHEMA test_hold")
        self.owner.execute(f"""
            CREATE FUNCTION test_hold.wait() RETURNS event_trigger LANGUAGE plpgsql AS $$
            BEGIN
              IF current_setting('application_name') NOT IN ('psql', 'pg_dump', 'test-migrations-hold') THEN
                PERFORM pg_advisory_lock_shared({HOLD_LOCK_KEY});
                PERFORM pg_advisory_unlock_shared({HOLD_LOCK_KEY});
              END IF;
            END $$""")
        self.owner.execute("CREATE EVENT TRIGGER test_hold_migrations ON ddl_command_start "
                           "EXECUTE FUNCTION test_hold.wait()")
        self.owner.execute(f"SELECT pg_advisory_lock({HOLD_LOCK_KEY})")

    def migration_waiting(self) -> bool:
        row = self.owner.execute("SELECT count(*) FROM pg_stat_activity WHERE wait_event = 'advisory' "
                                 "AND datname = current_database()").fetchone()
        return row[0] == 1

    def release(self) -> None:
        if not self.owner.closed:
            _hold_drop(self.owner)
            self.owner.close()  # and with it the advisory lock


def _hold_drop(owner: psycopg.Connection) -> None:
    owner.execute("DROP EVENT TRIGGER IF EXISTS test_hold_migrations")
    owner.execute("DROP SCHEMA IF EXISTS test_hold CASCADE")


@pytest.fixture
def migrations_held(restorable_db):
    """Create it after the test's own schema changes (its connection is held too)."""
    holds = []

    def hold() -> MigrationsHold:
        holds.append(MigrationsHold())
        return holds[-1]

    yield hold
    for held in holds:
        held.release()
    # A safety backup taken while held holds the hold too (pg_dump takes every schema): one put
    # back brings it back, and the later tests' restores would trip over it.
    with _connect("test-migrations-hold") as owner:
        _hold_drop(owner)
