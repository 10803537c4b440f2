"""Backups asked for in the admin run as a background job, so a large (or portable) backup is
not cut short by the web server's request timeout and the page can show its progress. A job's
state is a JSON file in BACKUP_DIR/.backup-jobs, like the restore status: never a database row.
"""

from __future__ import annotations

import json
import logging
import os
import re
import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from .types import BackupError

logger = logging.getLogger(__name__)

JOBS_SUBDIR = ".backup-jobs"
JOB_ID = re.compile(r"^[0-9a-f]{32}$")
PROGRESS_WRITE_INTERVAL_SECONDS = 0.5


class BackupJobNotFound(Exception):
    pass


@dataclass
class BackupJob:
    id: str
    state: str = "queued"  # queued, running, completed, failed
    portable: bool = False
    requested_by: str = ""
    done: int = 0
    total: int = 0
    backup_name: str = ""
    message: str = ""
    queued_at: str = ""
    finished_at: str = ""

    @property
    def finished(self) -> bool:
        return self.state in ("completed", "failed")

    @property
    def progress_percent(self) -> int:
        if self.state == "completed":
            return 100
        return min(99, round(100 * self.done / self.total)) if self.total else 0


def _jobs_dir() -> Path:
    path = Path(settings.BACKUP_DIR) / JOBS_SUBDIR
    path.mkdir(parents=True, exist_ok=True)
    return path


def _write(job: BackupJob) -> BackupJob:
    path = _jobs_dir() / f"{job.id}.json"
    temporary = path.with_name(f".{job.id}.{os.getpid()}.tmp")
    temporary.write_text(json.dumps(asdict(job)))
    os.replace(temporary, path)  # the page polling it reads the old or the new state, never half
    return job


def backup_job_get(job_id: str) -> BackupJob:
    if not JOB_ID.match(job_id or ""):
        raise BackupJobNotFound(job_id)
    try:
        return BackupJob(**json.loads((_jobs_dir() / f"{job_id}.json").read_text()))
    except (FileNotFoundError, ValueError, TypeError):
        raise BackupJobNotFound(job_id) from None


def backup_job_start(*, portable: bool, requested_by: str) -> BackupJob:
    """Record a queued job and queue `backup_job_task`; returns the job (already finished when
    tasks run in-process)."""
    from .backup_tasks import backup_job_task

    job = _write(BackupJob(id=uuid.uuid4().hex, portable=portable, requested_by=requested_by,
                           queued_at=timezone.now().isoformat()))  # fmt: skip
    backup_job_task.delay(job.id)
    return backup_job_get(job.id)


def backup_job_run(*, job_id: str) -> BackupJob:
    """Take the job's backup through services.backup_create, writing its progress as it goes."""
    from .services import backup_create

    job = backup_job_get(job_id)
    if job.finished:
        return job  # a redelivered task: the backup was taken (or refused) already
    job.state = "running"
    _write(job)
    last_write = 0.0

    def progress(done: int, total: int) -> None:
        nonlocal last_write
        job.done, job.total = done, total
        if time.monotonic() - last_write >= PROGRESS_WRITE_INTERVAL_SECONDS:
            last_write = time.monotonic()
            _write(job)

    try:
        info = backup_create(portable=job.portable, trigger="manual", progress=progress)
    except BackupError as error:
        job.state, job.message = "failed", str(error)
    except Exception as error:  # any failure, or the page would show "running" forever
        logger.exception("Backup job %s failed", job.id)
        job.state, job.message = "failed", f"{type(error).__name__}: {error}"
    else:
        job.state, job.backup_name = "completed", info.name
        job.message = f"Backup {info.name} created ({info.size} bytes)."
    job.finished_at = timezone.now().isoformat()
    return _write(job)
