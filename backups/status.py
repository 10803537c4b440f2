"""The restore status, kept as a JSON file in BACKUP_DIR (never in the database the restore
replaces), written atomically; the mark an unfinished restore leaves there once it has begun
replacing the database; and the lock that makes "is a restore running? then start one" a
single step across processes."""

from __future__ import annotations

import fcntl
import json
import logging
import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings

from .types import RestoreStatus

logger = logging.getLogger(__name__)

STATUS_FILE_NAME = "restore-status.json"
LOCK_FILE_NAME = ".restore.lock"
UNFINISHED_FILE_NAME = "restore-unfinished.json"
BACKUP_DIR_MODE = 0o700


def backup_dir() -> Path:
    """BACKUP_DIR, created if missing and kept readable by its owner only (0700, an existing
    folder is tightened): archives and a restore's unpacked dump hold password hashes and
    session keys."""
    path = Path(settings.BACKUP_DIR)
    path.mkdir(mode=BACKUP_DIR_MODE, parents=True, exist_ok=True)
    if stat.S_IMODE(path.stat().st_mode) != BACKUP_DIR_MODE:
        try:
            path.chmod(BACKUP_DIR_MODE)
        except OSError:  # not ours (a mount): still usable, but say so
            logger.warning("Could not make %s private (chmod 700)", path, exc_info=True)
    return path


def status_read() -> RestoreStatus:
    try:
        return RestoreStatus.from_json(json.loads((backup_dir() / STATUS_FILE_NAME).read_text()))
    except FileNotFoundError:
        return RestoreStatus()
    except (OSError, ValueError, TypeError):
        return RestoreStatus(state="failed", message="The restore status file is unreadable.")


def status_write(status: RestoreStatus) -> RestoreStatus:
    path = backup_dir() / STATUS_FILE_NAME
    temporary = path.with_name(f".{STATUS_FILE_NAME}.{os.getpid()}.tmp")
    temporary.write_text(json.dumps(status.as_json(), indent=2))
    os.replace(temporary, path)
    return status


def restore_unfinished_exists() -> bool:
    """True from the moment a restore begins replacing the database until the database is the
    archive's, migrated and checked, or the safety backup is back: the database may be
    half-restored. Survives the process (unlike the flag's TTL). One stat, no database query."""
    return (Path(settings.BACKUP_DIR) / UNFINISHED_FILE_NAME).exists()


def restore_unfinished_read() -> dict | None:
    """The unfinished restore's archive, safety backup and restore_id; None if there is none."""
    try:
        return json.loads((Path(settings.BACKUP_DIR) / UNFINISHED_FILE_NAME).read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return {}  # unreadable, but unfinished all the same


def restore_unfinished_write(*, archive_name: str, safety_backup: str, restore_id: str, archive_path: str = "") -> None:
    path = backup_dir() / UNFINISHED_FILE_NAME
    temporary = path.with_name(f".{UNFINISHED_FILE_NAME}.{os.getpid()}.tmp")
    temporary.write_text(json.dumps(
        {"archive_name": archive_name, "archive_path": archive_path, "safety_backup": safety_backup,
         "restore_id": restore_id}, indent=2))
    os.replace(temporary, path)


def restore_unfinished_clear() -> None:
    (backup_dir() / UNFINISHED_FILE_NAME).unlink(missing_ok=True)


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
    with open(backup_dir() / LOCK_FILE_NAME, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
