"""Reads of the backups app. Backups are the archives in BACKUP_DIR and their manifests are
the metadata; the restore status is a file there too. Nothing here touches the database, so
the backup list and the status page keep working while a restore replaces it."""

from __future__ import annotations

import json
import logging
import os
import re
import shlex
import zipfile
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from .archive import (
    FORMAT_PORTABLE,
    MANIFEST_MAX_BYTES,
    MANIFEST_NAME,
    manifest_created_at,
)
from .restore_flag import is_database_restore_in_progress, restore_flag_is_set
from .status import restore_unfinished_exists, restore_unfinished_read, status_read
from .types import BackupInfo, BackupNotFound, RestoreStatus

logger = logging.getLogger(__name__)

BACKUP_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,200}\.zip$")


def backup_info_from_manifest(path: Path, manifest: dict) -> BackupInfo:
    created_at = manifest_created_at(manifest["created_at"])
    if created_at is None:
        raise ValueError(f"created_at is not a date and time with a UTC offset: {manifest['created_at']!r}")
    return BackupInfo(
        name=path.name,
        path=path,
        size=path.stat().st_size,
        created_at=created_at,
        engine=manifest["engine"],
        version=manifest["version"],
        portable=manifest["format"] == FORMAT_PORTABLE,
        trigger=manifest.get("trigger", ""),
    )


def _read_info(path: Path) -> BackupInfo | None:
    """The manifest only (a full check is the restore's job); None if it is not a backup."""
    try:
        with zipfile.ZipFile(path) as archive:
            if archive.getinfo(MANIFEST_NAME).file_size > MANIFEST_MAX_BYTES:
                return None
            return backup_info_from_manifest(path, json.loads(archive.read(MANIFEST_NAME)))
    except (OSError, KeyError, ValueError, TypeError, zipfile.BadZipFile) as error:
        logger.warning("Not listed: %s is not a readable backup (%s: %s); manage.py backup_delete deletes it",
                       path.name, type(error).__name__, error)
        return None


def backup_list() -> list[BackupInfo]:
    """Every backup in BACKUP_DIR, newest first."""
    folder = Path(settings.BACKUP_DIR)
    if not folder.is_dir():
        return []
    infos = []
    for path in folder.iterdir():
        if BACKUP_NAME.match(path.name) and path.is_file() and not path.is_symlink():
            info = _read_info(path)
            if info is not None:
                infos.append(info)
    return sorted(infos, key=lambda info: (info.created_at, info.name), reverse=True)


def backup_path_get(name: str) -> Path:
    """The archive file called `name` in BACKUP_DIR, readable or not; BackupNotFound for
    anything else, including names that try to leave the folder."""
    if not isinstance(name, str) or not BACKUP_NAME.match(name) or ".." in name:
        raise BackupNotFound(f'No backup named "{name}".')
    path = Path(settings.BACKUP_DIR) / name
    if path.is_symlink() or not path.is_file():
        raise BackupNotFound(f'No backup named "{name}".')
    return path


def backup_get(name: str) -> BackupInfo:
    """The backup called `name` in BACKUP_DIR; BackupNotFound for anything else, including
    names that try to leave the folder and archives whose manifest cannot be read."""
    path = backup_path_get(name)
    info = _read_info(path)
    if info is None:
        raise BackupNotFound(f'"{name}" is not a readable backup.')
    return info


def restore_blocks_work(status: RestoreStatus | None = None) -> bool:
    """True while a restore runs (the flag is set), was interrupted after it began replacing
    the database, or is queued and not yet started. A queued task that no worker ever starts
    stops blocking after RESTORE_QUEUE_STALE_SECONDS."""
    if is_database_restore_in_progress():
        return True
    status = status if status is not None else status_read()
    if queued_process_gone(status):
        return False
    stale_after = timedelta(seconds=int(settings.RESTORE_QUEUE_STALE_SECONDS))
    return status.state == "queued" and status.queued_at is not None and status.queued_at > timezone.now() - stale_after


def queued_process_gone(status: RestoreStatus) -> bool:
    """A restore queued without a broker runs in a thread of the process that queued it; if
    that process has died (a restarted server) before the restore began, nothing will run it."""
    if status.state != "queued" or not status.queued_pid:
        return False
    try:
        os.kill(status.queued_pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def restore_status_get() -> RestoreStatus:
    """The last restore's status. "running" without the restore flag means the process
    running it died (the flag's TTL ran out): shown as failed, saying whether the database was
    changed and what happens next, until a run of the restore replaces this status."""
    status = status_read()
    if status.state == "running" and not restore_flag_is_set():
        status.state = "failed"
        status.message = _interrupted_message(status)
    elif queued_process_gone(status):
        status.state = "failed"
        status.message = (f"The restore of {status.archive_name} was queued, but the process that was to run it "
                          "stopped before it began. The database was not changed; start the restore again.")
    return status


def _interrupted_message(status: RestoreStatus) -> str:
    stopped = f"The restore of {status.archive_name} was interrupted while {status.step} (the process running it stopped)."
    # manage.py backup_restore, or the embedded default's in-process thread: nothing runs it again.
    unfinished = restore_unfinished_read() or {}
    archive = Path(unfinished.get("archive_path") or status.archive_name)
    shown = archive.name if archive.parent == Path(settings.BACKUP_DIR).resolve() else str(archive)
    again = f"manage.py backup_restore {shlex.quote(shown)} --yes"
    safety = unfinished.get("safety_backup")
    if not restore_unfinished_exists():
        if _redelivered(status):
            return (f"{stopped} The database was not changed. The restore starts again as soon as a worker starts, "
                    "or when the broker delivers its task again.")
        return f"{stopped} The database was not changed; start the restore again."
    stopped += (" It had begun replacing the database, which may hold the backup's data without its later "
                "migrations, so the site stays in maintenance (503) until the database is restored again.")
    if _redelivered(status):
        return (f"{stopped} The database is restored again, from the start, as soon as a worker starts "
                "(or when the broker delivers the task again).")
    put_back = f"the safety backup {safety}" if safety else "the safety backup"
    return (f"{stopped} The database must be restored again: run {again} (if that archive is gone or damaged, "
            f"the same command puts back {put_back}).")


def _redelivered(status: RestoreStatus) -> bool:
    """A restore asked for through restore_request (it has a requester; manage.py's has none)
    and run by a Celery worker with a broker, which delivers an unacknowledged task again."""
    from celery import current_app

    return bool(status.requested_by) and not current_app.conf.task_always_eager
