"""Reads of the backups app (from BACKUP_DIR, never from the database). Skeleton."""

from __future__ import annotations

from .types import BackupInfo, RestoreStatus


def backup_list() -> list[BackupInfo]:
    raise NotImplementedError


def backup_get(name: str) -> BackupInfo:
    raise NotImplementedError


def restore_status_get() -> RestoreStatus:
    raise NotImplementedError
