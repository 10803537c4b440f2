"""Writes of the backups app: creating, restoring and deleting backups. (Skeleton: signatures first.)"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from .types import BackupInfo, BackupRejected, RestoreFailed, RestoreInProgress, RestoreStatus

__all__ = [
    "BackupInfo", "BackupRejected", "RestoreFailed", "RestoreInProgress", "RestoreStatus",
    "backup_create", "backup_delete", "backup_restore", "restore_request",
]


def backup_create(*, portable: bool = False, trigger: str = "manual", output: Path | None = None,
                  progress: Callable[[int, int], None] | None = None) -> BackupInfo:
    raise NotImplementedError


def restore_request(*, archive_path: Path, requested_by: str) -> RestoreStatus:
    raise NotImplementedError


def backup_restore(*, archive_path: Path) -> RestoreStatus:
    raise NotImplementedError


def backup_delete(*, name: str) -> None:
    raise NotImplementedError
