"""The restore-in-progress flag, visible to every web and worker process.

With REDIS_URL it is a Redis key; in the embedded default it is a file in DATA_DIR. Either way
it carries a time-to-live that the running restore keeps refreshing (`restore_flag_held`), so
a worker that dies in the middle of a restore cannot leave the product in maintenance forever.
Reading the flag never touches the database: the portal and the maintenance middleware call it
precisely when the database may be half-restored.

`is_database_restore_in_progress()` (maintenance) is the flag OR the mark a restore leaves in
BACKUP_DIR once it begins replacing the database (status.restore_unfinished_exists): a restore
killed after that point keeps the site in maintenance after its flag expires, until a restore
run finishes the job or puts the safety backup back. `restore_flag_is_set()` is the flag alone
("a restore process is alive"), which is what the restore itself checks before starting.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings

from .status import restore_unfinished_exists

logger = logging.getLogger(__name__)

RESTORE_FLAG_KEY = "timetracker:database-restore-in-progress"
RESTORE_FLAG_FILE_NAME = "restore-in-progress.json"

_redis_clients: dict[str, object] = {}


def _ttl_seconds() -> int:
    return int(getattr(settings, "RESTORE_FLAG_TTL_SECONDS", 60))


def _redis():
    import redis

    url = settings.REDIS_URL
    client = _redis_clients.get(url)
    if client is None:
        client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        _redis_clients[url] = client
    return client


def _flag_file() -> Path:
    return Path(settings.DATA_DIR) / RESTORE_FLAG_FILE_NAME


def _write_flag(ttl: int) -> None:
    payload = json.dumps({"pid": os.getpid(), "expires_at": time.time() + ttl})
    if settings.REDIS_URL:
        _redis().set(RESTORE_FLAG_KEY, payload, ex=ttl)
        return
    path = _flag_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(f".{os.getpid()}.tmp")
    temporary.write_text(payload)
    os.replace(temporary, path)  # readers see the old or the new flag, never half a file


def _clear_flag() -> None:
    if settings.REDIS_URL:
        _redis().delete(RESTORE_FLAG_KEY)
        return
    _flag_file().unlink(missing_ok=True)


def is_database_restore_in_progress() -> bool:
    """True while a restore runs (in any process), and while an interrupted restore has left
    the database unfinished. Makes no database query."""
    return restore_flag_is_set() or restore_unfinished_exists()


def restore_flag_is_set() -> bool:
    """True while a restore process holds the flag (refreshed within its TTL)."""
    if settings.REDIS_URL:
        try:
            return bool(_redis().exists(RESTORE_FLAG_KEY))
        except Exception:  # Redis down: the database is the better guess than a 503 for everyone
            logger.warning("Could not read the restore flag from Redis", exc_info=True)
            return False
    try:
        payload = json.loads(_flag_file().read_text())
    except FileNotFoundError:
        return False
    except (OSError, ValueError):
        return True  # being replaced right now: a restore is running
    return float(payload.get("expires_at", 0)) > time.time()


def set_database_restore_in_progress(in_progress: bool, *, ttl: int | None = None) -> None:
    """Set (with a time-to-live, default RESTORE_FLAG_TTL_SECONDS) or clear the flag."""
    if in_progress:
        _write_flag(ttl or _ttl_seconds())
    else:
        _clear_flag()


@contextmanager
def restore_flag_held(*, ttl: int | None = None) -> Iterator[None]:
    """Hold the flag for the duration of the block, refreshing its time-to-live from a
    background thread, and clear it however the block ends."""
    ttl = ttl or _ttl_seconds()
    set_database_restore_in_progress(True, ttl=ttl)
    stop = threading.Event()

    def keep_fresh() -> None:
        while not stop.wait(max(ttl / 3, 0.2)):
            try:
                _write_flag(ttl)
            except Exception:
                logger.warning("Could not refresh the restore flag", exc_info=True)

    refresher = threading.Thread(target=keep_fresh, name="restore-flag-refresher", daemon=True)
    refresher.start()
    try:
        yield
    finally:
        stop.set()
        refresher.join()
        set_database_restore_in_progress(False)
