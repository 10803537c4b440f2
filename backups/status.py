"""The restore status, kept as a JSON file in BACKUP_DIR (never in the database the restore
replaces), written atomically; and the lock that makes "is a restore running? then start
one" a single step across processes."""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings

from .types import RestoreStatus

STATUS_FILE_NAME = "restore-status.json"
LOCK_FILE_NAME = ".restore.lock"


def _backup_dir() -> Path:
    path = Path(settings.BACKUP_DIR)
    path.mkdir(parents=True, exist_ok=True)
    return path


def status_read() -> RestoreStatus:
    try:
        return RestoreStatus.from_json(json.loads((_backup_dir() / STATUS_FILE_NAME).read_text()))
    except FileNotFoundError:
        return RestoreStatus()
    except (OSError, ValueError, TypeError):
        return RestoreStatus(state="failed", message="The restore status file is unreadable.")


def status_write(status: RestoreStatus) -> RestoreStatus:
    path = _backup_dir() / STATUS_FILE_NAME
    temporary = path.with_name(f".{STATUS_FILE_NAME}.{os.getpid()}.tmp")
    temporary.write_text(json.dumps(status.as_json(), indent=2))
    os.replace(temporary, path)
    return status


def status_update(**changes) -> RestoreStatus:
    status = status_read()
    for key, value in changes.items():
        setattr(status, key, value)
    return status_write(status)


RESTORE_LOCK_KEY = "timetracker:backups-restore-lock"


@contextmanager
def restore_lock() -> Iterator[None]:
    """Held only for check-then-set moments, never for a whole restore. A Redis lock when
    REDIS_URL is set (web and worker processes may be on different hosts), else a file lock."""
    if settings.REDIS_URL:
        from .restore_flag import _redis

        with _redis().lock(RESTORE_LOCK_KEY, timeout=30, blocking_timeout=30):
            yield
        return
    with open(_backup_dir() / LOCK_FILE_NAME, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
