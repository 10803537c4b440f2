"""What the backups app hands to pages, commands and tasks. Neither a backup nor the restore
status is a database row: a restore replaces the database, so both live in BACKUP_DIR."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path


class BackupError(Exception):
    """Base of the errors below; str() is the message to show the admin."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class BackupRejected(BackupError):
    """The archive is not one we may restore (damaged, unsafe, made by newer code, wrong engine)."""


class RestoreInProgress(BackupError):
    """A restore is queued or running; pages answer 409 with the message."""


class BackupNotFound(BackupError):
    """No backup of that name in BACKUP_DIR (or the name tries to leave it)."""


class RestoreFailed(BackupError):
    """The restore went wrong after it started; the safety backup was put back."""


@dataclass(frozen=True)
class BackupInfo:
    name: str
    path: Path
    size: int
    created_at: datetime
    engine: str  # "postgresql" or "sqlite"
    version: str
    portable: bool
    trigger: str  # "manual", "scheduled", "safety", "uploaded"


RESTORE_STATES = ("idle", "queued", "running", "completed", "failed")


@dataclass
class RestoreStatus:
    state: str = "idle"
    message: str = ""
    started_at: datetime | None = None
    finished_at: datetime | None = None
    archive_name: str = ""
    step: str = ""
    queued_at: datetime | None = None
    requested_by: str = ""
    restore_id: str = ""  # ties a queued task to its request: a superseded task does nothing
    queued_pid: int = 0  # the process that runs a queued restore itself (no broker); 0 with a broker

    @property
    def is_active(self) -> bool:
        return self.state in ("queued", "running")

    def as_json(self) -> dict:
        data = asdict(self)
        for key in ("started_at", "finished_at", "queued_at"):
            data[key] = data[key].isoformat() if data[key] else None
        return data

    @classmethod
    def from_json(cls, data: dict) -> RestoreStatus:
        known = {key: data.get(key) for key in cls.__dataclass_fields__ if key in data}
        for key in ("started_at", "finished_at", "queued_at"):
            if known.get(key):
                known[key] = datetime.fromisoformat(known[key])
        return cls(**known)
