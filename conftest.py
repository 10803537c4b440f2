"""Personas and shared fixtures.

alice owns data; bob must never see it; charlie is an admin; dana is a client-portal contact
of "Acme". Tests run against the PostgreSQL and Redis that scripts/test.sh starts.
"""

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.db import connection

from timetracker.celery import app as celery_app
from timetracker.models import Client, UserProfile
from timetracker.services import api_token_create

REPO_ROOT = Path(__file__).resolve().parent
SHARED_DIR = REPO_ROOT.parent / "shared"
SAMPLES_DIR = SHARED_DIR / "samples"
CASES_DIR = SHARED_DIR / "cases"


def make_user(username: str, *, timezone: str = "UTC", is_staff: bool = False, **extra):
    user = get_user_model().objects.create_user(
        username=username, email=f"{username}@example.com", password=f"{username}-password", **extra
    )
    if is_staff:
        user.is_staff = user.is_superuser = True
        user.save()
    UserProfile.objects.filter(user=user).update(timezone=timezone)
    user.refresh_from_db()
    return user


@pytest.fixture
def alice(db):
    return make_user("alice", timezone="Europe/Berlin")


@pytest.fixture
def bob(db):
    return make_user("bob")


@pytest.fixture
def charlie(db):
    return make_user("charlie", is_staff=True)


@pytest.fixture
def acme(db):
    return Client.objects.create(name="Acme")


@pytest.fixture
def dana(db, acme):
    user = make_user("dana")
    UserProfile.objects.filter(user=user).update(portal_client=acme)
    user.refresh_from_db()
    return user


@pytest.fixture
def alice_client(client, alice):
    client.force_login(alice)
    return client


@pytest.fixture
def bob_client(client, bob):
    client.force_login(bob)
    return client


@pytest.fixture
def charlie_client(client, charlie):
    client.force_login(charlie)
    return client


@pytest.fixture
def api_token():
    """api_token(user, "write:time_entries", ...) -> raw token string."""

    def create(user, *scopes, name="test token", expires_at=None):
        _, raw = api_token_create(owner=user, name=name, scopes=list(scopes), expires_at=expires_at)
        return raw

    return create


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    # PBKDF2 costs ~0.5 s a user; tests need no slow hash.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def private_storage(settings, tmp_path):
    """Each test gets its own private storage and backup folders."""
    settings.PRIVATE_STORAGE_DIR = tmp_path / "private"
    settings.BACKUP_DIR = tmp_path / "backups"
    settings.PRIVATE_STORAGE_DIR.mkdir()
    settings.BACKUP_DIR.mkdir()
    return settings.PRIVATE_STORAGE_DIR


@pytest.fixture(autouse=True)
def celery_in_process(request):
    """Tasks run in-process unless the test asks for a real worker (`celery_worker`)."""
    eager = "celery_worker" not in request.fixturenames
    previous = celery_app.conf.task_always_eager, celery_app.conf.get("task_run_in_thread")
    celery_app.conf.task_always_eager = eager
    # Tests want the task finished when the call returns, not running in a thread.
    celery_app.conf.task_run_in_thread = False
    yield
    celery_app.conf.task_always_eager, celery_app.conf.task_run_in_thread = previous


@pytest.fixture(autouse=True)
def clear_cache():
    from django.core.cache import cache

    cache.clear()
    yield


class CeleryWorkerProcess:
    """A real `celery worker` subprocess on the test database and the test Redis."""

    def __init__(self, env: dict[str, str], log_path: Path):
        self.env = env
        self.log_path = log_path
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 30.0) -> None:
        name = f"test-{uuid.uuid4().hex[:8]}@%h"
        log = open(self.log_path, "ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "timetracker", "worker", "--loglevel=INFO", "--concurrency=1",
             "--pool=prefork", "-n", name, "--without-mingle", "--without-gossip", "--without-heartbeat"],
            cwd=REPO_ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"Celery worker exited early:\n{self.log_path.read_text()}")
            if "ready." in self.log_path.read_text(errors="replace"):
                return
            time.sleep(0.2)
        raise RuntimeError(f"Celery worker did not become ready:\n{self.log_path.read_text()}")

    def kill(self) -> None:
        """SIGKILL the whole worker (main process and pool children), as a crash would."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()

    @property
    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


@pytest.fixture
def celery_worker(transactional_db, settings, tmp_path):
    """Starts a real worker. Tests using it run with committed transactions (transactional_db)."""
    if connection.vendor != "postgresql" or not os.environ.get("REDIS_URL"):
        pytest.skip("needs the PostgreSQL and Redis that scripts/test.sh starts")
    db = connection.settings_dict
    env = dict(os.environ)
    env.update(
        DATABASE_URL=f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        PRIVATE_STORAGE_DIR=str(settings.PRIVATE_STORAGE_DIR),
        BACKUP_DIR=str(settings.BACKUP_DIR),
        TOGGL_API_URL=settings.TOGGL_API_URL,
        HARVEST_API_URL=settings.HARVEST_API_URL,
    )
    worker = CeleryWorkerProcess(env, tmp_path / "celery-worker.log")
    worker.start()
    yield worker
    worker.stop()
    celery_app.control.purge()
