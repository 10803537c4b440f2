"""Writes of the backups app: creating, restoring and deleting backups.

A backup is a file in BACKUP_DIR whose manifest is its metadata (see archive.py); the restore
status is a JSON file next to it (status.py). Neither lives in the database, which a restore
replaces. A restore runs in the background (`backups.tasks.backup_restore_task`) or, from
`manage.py backup_restore`, in the calling process; both call `backup_restore`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import stat
import time
import uuid
import zipfile
from collections.abc import Callable
from contextlib import ExitStack
from datetime import datetime
from pathlib import Path, PurePosixPath

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.utils import timezone

from . import database
from .archive import (
    FILES_PREFIX,
    FORMAT_NATIVE,
    FORMAT_PORTABLE,
    MANIFEST_FORMAT_VERSION,
    MANIFEST_NAME,
    PG_DUMP_MEMBER,
    SQLITE_MEMBER,
    ValidatedArchive,
    archive_validate,
    member_name_is_safe,
    stored_file_relative,
)
from .restore_flag import restore_flag_held, restore_flag_is_set
from .selectors import (
    backup_get,
    backup_info_from_manifest,
    backup_list,
    backup_path_get,
    restore_blocks_work,
)
from .status import (
    backup_dir,
    restore_lock,
    restore_unfinished_clear,
    restore_unfinished_read,
    restore_unfinished_write,
    status_read,
    status_write,
)
from .types import (
    BackupError,
    BackupInfo,
    BackupRejected,
    RestoreFailed,
    RestoreInProgress,
    RestoreStatus,
)

__all__ = [
    "BackupInfo", "BackupRejected", "RestoreFailed", "RestoreInProgress", "RestoreStatus",
    "backup_create", "backup_delete", "backup_restore", "backup_upload_store", "restore_request",
    "restore_resume_interrupted",
]

logger = logging.getLogger(__name__)

RESTORE_RUNNING_MESSAGE = "A restore is in progress; try again when it has finished."
_TRIGGER = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
_CHUNK = 1024 * 1024
ARCHIVE_MODE = 0o600
# Tables post_migrate fills for models an applied migration added: their counts may grow.
_TABLES_MIGRATE_MAY_FILL = {"django_content_type", "auth_permission"}


def _now() -> datetime:
    return timezone.now()


def _backup_dir() -> Path:
    return backup_dir().resolve()


def _private_file(path: Path):
    """A new file for an archive, readable by its owner only (0600 whatever the umask): it
    holds password hashes and live session keys. Renamed into place, it keeps the mode."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, ARCHIVE_MODE)
    os.fchmod(descriptor, ARCHIVE_MODE)
    return os.fdopen(descriptor, "wb")


# ---------------------------------------------------------------- backup


def backup_create(*, portable: bool = False, trigger: str = "manual", output: Path | None = None,
                  progress: Callable[[int, int], None] | None = None) -> BackupInfo:
    """Write a backup archive (into BACKUP_DIR, or to `output`) and return what it holds.
    Raises RestoreInProgress while a restore is queued or running."""
    if restore_blocks_work(status_read()):
        raise RestoreInProgress(RESTORE_RUNNING_MESSAGE)
    return _backup_write(portable=portable, trigger=trigger, output=output, progress=progress)


def _backup_name(created: datetime, *, portable: bool, trigger: str, folder: Path | None = None) -> Path:
    folder = folder or _backup_dir()
    stem = f"backup-{created:%Y%m%d-%H%M%S}-{trigger}{'-portable' if portable else ''}"
    candidate = folder / f"{stem}.zip"
    number = 2
    while candidate.exists():
        candidate = folder / f"{stem}-{number}.zip"
        number += 1
    return candidate


def _database_files() -> list[Path]:
    """The SQLite database (the configured one, and the embedded default's under DATA_DIR)
    with its journal files: an --output there would overwrite the live database."""
    candidates = [Path(settings.DATA_DIR) / "db.sqlite3"]
    if database.engine_name() == "sqlite":
        candidates.append(Path(str(settings.DATABASES["default"]["NAME"])))
    found = []
    for candidate in candidates:
        resolved = candidate.resolve()
        found += [resolved, *(resolved.with_name(resolved.name + suffix) for suffix in ("-wal", "-shm", "-journal"))]
    return found


def _output_path(output: Path, created: datetime, *, portable: bool, trigger: str) -> Path:
    """`--output`: a new file, or a folder to write the archive into under its usual name;
    never an existing file, least of all the database."""
    path = Path(output).expanduser().resolve()
    if path.is_dir():
        return _backup_name(created, portable=portable, trigger=trigger, folder=path)
    if path in _database_files():
        raise BackupError(f"{path} is the database file; choose another name")
    if path.exists() or path.is_symlink():
        raise BackupError(f"{path} already exists; choose another name")
    return path


def _stored_files() -> list[tuple[str, Path]]:
    """Files under PRIVATE_STORAGE_DIR (exports, uploads), without BACKUP_DIR and links."""
    root = Path(settings.PRIVATE_STORAGE_DIR).resolve()
    if not root.is_dir():
        return []
    excluded = _backup_dir()
    found = []
    for directory, subdirectories, names in os.walk(root):
        current = Path(directory)
        subdirectories[:] = sorted(
            name for name in subdirectories
            if (current / name).resolve() != excluded and not (current / name).is_symlink())
        for name in sorted(names):
            path = current / name
            if path.is_symlink() or not path.is_file():
                continue
            relative = path.relative_to(root).as_posix()
            if member_name_is_safe(relative):
                found.append((relative, path))
            else:
                logger.warning("Backup skips a stored file whose name cannot be archived: %r", relative)
    return found


class _MemberWriter:
    """Streams one archive member while hashing it, so the manifest's checksum is of the
    bytes actually archived even if the source changes meanwhile."""

    def __init__(self, archive: zipfile.ZipFile, name: str, *, compress: bool):
        info = zipfile.ZipInfo(name, date_time=time.gmtime()[:6])
        info.compress_type = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
        info.external_attr = (stat.S_IFREG | 0o600) << 16
        self.stream = archive.open(info, "w", force_zip64=True)
        self.digest = hashlib.sha256()
        self.size = 0

    def write(self, chunk: bytes) -> None:
        self.digest.update(chunk)
        self.size += len(chunk)
        self.stream.write(chunk)

    def close(self) -> dict:
        self.stream.close()
        return {"sha256": self.digest.hexdigest(), "size": self.size}


def _archive_file(archive: zipfile.ZipFile, name: str, source: Path, *, compress: bool = True) -> dict:
    writer = _MemberWriter(archive, name, compress=compress)
    with open(source, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            writer.write(chunk)
    return writer.close()


def _backup_write(*, portable: bool, trigger: str, output: Path | None = None,
                  progress: Callable[[int, int], None] | None = None) -> BackupInfo:
    if not _TRIGGER.match(trigger):
        raise BackupError(f"invalid trigger {trigger!r}")
    created = _now()
    if output:
        final = _output_path(output, created, portable=portable, trigger=trigger)
    else:
        final = _backup_name(created, portable=portable, trigger=trigger)
    final.parent.mkdir(parents=True, exist_ok=True)
    partial = final.with_name(f".{final.name}.{uuid.uuid4().hex[:8]}.partial")
    work = _work_dir("backup")
    engine = database.engine_name()
    stored_files = _stored_files()
    members: dict[str, dict] = {}
    manifest: dict = {}
    try:
        with _private_file(partial) as handle, zipfile.ZipFile(handle, "w", allowZip64=True) as archive:
            if portable:
                def write_member(name: str, writer: Callable) -> None:
                    member = _MemberWriter(archive, name, compress=True)
                    writer(member)
                    members[name] = member.close()

                models, counts = database.portable_dump(write_member, progress)
                manifest["models"] = models
            else:
                total = 1 + len(stored_files)
                database_file = work / "database"
                counts = database.native_dump(database_file)
                member = PG_DUMP_MEMBER if engine == "postgresql" else SQLITE_MEMBER
                # pg_dump's custom format is compressed already.
                members[member] = _archive_file(archive, member, database_file, compress=engine != "postgresql")
                database_file.unlink()
                if progress:
                    progress(1, total)
            for done, (relative, path) in enumerate(stored_files, start=1):
                try:
                    members[FILES_PREFIX + relative] = _archive_file(archive, FILES_PREFIX + relative, path)
                except FileNotFoundError:
                    continue  # deleted (an expired export) since the listing
                if progress and not portable:
                    progress(1 + done, total)
            manifest.update({
                "product": "TimeTracker",
                "format_version": MANIFEST_FORMAT_VERSION,
                "format": FORMAT_PORTABLE if portable else FORMAT_NATIVE,
                "version": settings.VERSION,
                "engine": engine,
                "created_at": created.isoformat(),
                "trigger": trigger,
                "migrations": database.applied_migrations(),
                "row_counts": counts,
                "members": members,
            })
            archive.writestr(MANIFEST_NAME, json.dumps(manifest, indent=2, sort_keys=True))
        os.replace(partial, final)  # a backup appears whole or not at all
    finally:
        partial.unlink(missing_ok=True)
        shutil.rmtree(work, ignore_errors=True)
    logger.info("Backup %s written (%s, %s rows)", final.name, manifest["format"], sum(counts.values()))
    return backup_info_from_manifest(final, manifest)


def _work_dir(purpose: str) -> Path:
    path = _backup_dir() / f".work-{purpose}-{uuid.uuid4().hex}"
    path.mkdir()
    return path


def backup_delete(*, name: str) -> None:
    """Delete a backup from BACKUP_DIR, an unreadable one too (the list leaves it out with a
    warning). Raises RestoreInProgress while a restore is queued or running, whichever backup
    it restores."""
    path = backup_path_get(name)
    status = status_read()
    if restore_blocks_work(status):
        if status.archive_name == path.name:
            raise RestoreInProgress("That backup is being restored; it can be deleted when the restore has finished.")
        raise RestoreInProgress(RESTORE_RUNNING_MESSAGE)
    path.unlink(missing_ok=True)


# Uploads stored for a restore that restore_request has not yet queued or refused: a refused
# request deletes its upload (the page stores it, then asks in the same request and process).
_fresh_uploads: set[Path] = set()


def _upload_discard_if_fresh(path: Path) -> None:
    if path in _fresh_uploads:
        _fresh_uploads.discard(path)
        path.unlink(missing_ok=True)


def backup_upload_store(*, uploaded_file, max_size: int | None = None) -> BackupInfo:
    """Store an uploaded archive in BACKUP_DIR after validating it; a rejected upload is not kept."""
    limit = max_size or int(settings.MAX_UPLOAD_SIZE)
    partial = _backup_dir() / f".upload-{uuid.uuid4().hex}.partial"
    size = 0
    try:
        with _private_file(partial) as out:
            chunks = uploaded_file.chunks() if hasattr(uploaded_file, "chunks") else iter(
                lambda: uploaded_file.read(_CHUNK), b"")
            for chunk in chunks:
                size += len(chunk)
                if size > limit:
                    raise BackupRejected(f"Backup rejected: larger than the upload limit of {limit} bytes")
                out.write(chunk)
        validated = _archive_check(partial, checksums=False)
        final = _backup_name(_now(), portable=validated.portable, trigger="uploaded")
        os.replace(partial, final)
        _fresh_uploads.add(final)
    finally:
        partial.unlink(missing_ok=True)
    return backup_info_from_manifest(final, validated.manifest)


# ---------------------------------------------------------------- restore


def _archive_check(path: Path, *, checksums: bool) -> ValidatedArchive:
    """Everything that can be known before touching the database; the checksums (a full
    unpacking) only in the restore itself, not in a request."""
    validated = archive_validate(Path(path), checksums=checksums)
    unknown = database.unknown_migrations(validated.manifest["migrations"])
    if unknown:
        shown = ", ".join(unknown[:5]) + (f" and {len(unknown) - 5} more" if len(unknown) > 5 else "")
        raise BackupRejected(
            f"Backup rejected: it was made by newer code (version {validated.manifest['version']}; "
            f"migrations this version does not know: {shown})")
    current = database.engine_name()
    if not validated.portable and validated.engine != current:
        raise BackupRejected(
            f"Backup rejected: a {validated.engine} backup cannot be restored into {current}; "
            "use a portable backup to move between database engines")
    return validated


def restore_request(*, archive_path: Path, requested_by: str) -> RestoreStatus:
    """Validate the archive now (BackupRejected), refuse if a restore is queued or running
    (RestoreInProgress), then queue `backup_restore_task` and return the queued status."""
    from .tasks import backup_restore_task

    path = Path(archive_path)
    try:
        validated = _archive_check(path, checksums=False)
    except BackupRejected:
        _upload_discard_if_fresh(path)
        raise
    fresh = path in _fresh_uploads
    _fresh_uploads.discard(path)  # queued (below) or refused: no longer fresh either way
    restore_id = uuid.uuid4().hex
    with restore_lock():
        if restore_blocks_work(status_read()):
            if fresh:
                path.unlink(missing_ok=True)
            raise RestoreInProgress(RESTORE_RUNNING_MESSAGE)
        status_write(RestoreStatus(
            state="queued", step="queued", archive_name=validated.path.name, queued_at=_now(),
            requested_by=requested_by, message=f"Restore of {validated.path.name} queued by {requested_by}.",
            restore_id=restore_id,
            # Without a broker this process runs the restore (a thread): if it dies first, nothing will.
            queued_pid=os.getpid() if settings.CELERY_TASK_ALWAYS_EAGER else 0))
    try:
        backup_restore_task.delay(str(validated.path.resolve()), restore_id)
    except Exception as error:
        logger.exception("Could not queue the restore of %s", validated.path.name)
        status_write(RestoreStatus(state="failed", archive_name=validated.path.name, finished_at=_now(),
                                   requested_by=requested_by, message=f"The restore could not be queued: {error}",
                                   restore_id=restore_id))
        raise BackupError(f"The restore could not be queued: {error}") from error
    return status_read()


def _wait_for_stale_flag() -> None:
    """A restore killed with its worker leaves the flag until its TTL runs out; the
    redelivered task waits that long rather than refusing itself."""
    deadline = time.monotonic() + int(settings.RESTORE_FLAG_TTL_SECONDS) + 1
    while restore_flag_is_set() and time.monotonic() < deadline:
        time.sleep(0.5)


def _superseded(status: RestoreStatus, restore_id: str | None) -> bool:
    """A queued task whose request is no longer the current one (another restore ran since),
    or which already finished: delivered again, it must not restore anything."""
    if not restore_id:
        return False  # manage.py backup_restore
    return status.restore_id != restore_id or status.state in ("completed", "failed")


def backup_restore(*, archive_path: Path, progress: Callable[[int, int], None] | None = None,
                   restore_id: str | None = None) -> RestoreStatus:
    """Restore the database and stored files from an archive, holding the restore flag.
    Returns the final status (completed or failed, with the message); on a failure after the
    database was touched the safety backup is put back. Raises RestoreInProgress only when
    another restore holds the flag (then nothing was done). `restore_id` comes from
    `restore_request` through the task; without it (manage.py) the restore always runs.

    After a restore that was interrupted once it had begun replacing the database (the site
    is in maintenance since), this run starts over from the archive with that restore's safety
    backup as its own, or, if the archive can no longer be restored, puts the safety back."""
    path = Path(archive_path)
    started = _now()
    previous = status_read()
    if _superseded(previous, restore_id):
        logger.warning("Restore %s of %s skipped: superseded or already finished", restore_id, path.name)
        return previous
    own = bool(restore_id)
    requested_by = previous.requested_by if own else ""
    restore_id = restore_id or uuid.uuid4().hex
    try:
        validated = _archive_check(path, checksums=True)
    except BackupRejected as error:
        logger.warning("Restore of %s refused: %s", path.name, error.message)
        validated, rejection = None, error
        refused = RestoreStatus(state="failed", message=error.message, archive_name=path.name, started_at=started,
                                finished_at=_now(), step="validating", requested_by=requested_by,
                                restore_id=restore_id)
        if restore_unfinished_read() is None:  # else the half-restored database needs its safety backup back
            with restore_lock():
                if not restore_flag_is_set():  # else the running restore's status stays
                    status_write(refused)
            return refused
    if own and previous.state == "running":
        _wait_for_stale_flag()  # our own task, delivered again or resumed after its worker died
    with ExitStack() as holding:
        with restore_lock():
            current = status_read()
            if restore_flag_is_set():
                if own and current.restore_id == restore_id and current.state == "running":
                    logger.warning("Restore %s of %s is still running in another process", restore_id, path.name)
                    return current
                raise RestoreInProgress(RESTORE_RUNNING_MESSAGE)
            if own and _superseded(current, restore_id):
                return current
            holding.enter_context(restore_flag_held())
        _leftovers_remove()
        unfinished = restore_unfinished_read()
        if validated is None:
            if unfinished is None:  # finished by another run meanwhile
                return status_write(refused)
            return _restore_unfinished_put_back(unfinished, refused, reason=rejection.message)
        status = _restore_holding_flag(validated, started=started, requested_by=requested_by, progress=progress,
                                       restore_id=restore_id, unfinished=unfinished)
    return status


def restore_resume_interrupted() -> RestoreStatus | None:
    """Called when a Celery worker starts: queue again, at once, the restore a dead worker was
    running (status "running", asked for through restore_request), under its own restore_id,
    instead of waiting for the broker to deliver its task again (CELERY_VISIBILITY_TIMEOUT, an
    hour by default). The first run to finish wins; the other delivery finds it finished and
    does nothing. Returns the status of the restore queued again, else None."""
    from .tasks import backup_restore_task

    status = status_read()
    if status.state != "running" or not status.requested_by or not status.restore_id:
        return None
    logger.warning("Restore of %s was interrupted while %s; queued again", status.archive_name, status.step)
    backup_restore_task.delay(str(_backup_dir() / status.archive_name), status.restore_id)
    return status


def _safety_of(unfinished: dict) -> BackupInfo | None:
    try:
        return backup_get(unfinished.get("safety_backup") or "")
    except BackupError:
        return None


def _put_back(safety: BackupInfo | None) -> str:
    """After a failure once the database was touched: put the safety backup back and say so.
    The database stays marked unfinished (the site in maintenance) unless that worked."""
    if safety is None:
        return (" There is no safety backup to put back: restore a backup with manage.py backup_restore NAME --yes;"
                " until then the site answers 503.")
    try:
        _safety_put_back(safety)
    except Exception as second:
        logger.exception("Putting back the safety backup %s failed", safety.name)
        return (f" Putting back the safety backup {safety.name} failed too ({second}); restore it by hand with "
                f"manage.py backup_restore {safety.name} --yes; until then the site answers 503.")
    restore_unfinished_clear()
    return f" The database and stored files were put back from the safety backup {safety.name}."


def _restore_unfinished_put_back(unfinished: dict, refused: RestoreStatus, *, reason: str) -> RestoreStatus:
    """The archive of a restore interrupted after it began replacing the database cannot be
    restored now (deleted, damaged): put back that restore's safety backup instead."""
    status = refused
    status.state, status.step, status.finished_at = "running", "putting back the safety backup", None
    status.message = f"Putting back the safety backup: {status.archive_name} cannot be restored again."
    status_write(status)
    message = (f"The interrupted restore of {status.archive_name} cannot run again: {reason}.")
    message += _put_back(_safety_of(unfinished))
    status.state, status.message, status.finished_at = "failed", message, _now()
    return status_write(status)


def _leftovers_remove() -> None:
    """Work folders of restores killed with their process (only one restore runs: ours), and
    work folders and half-written archives of backups, more than a day old."""
    folder = _backup_dir()
    for path in folder.glob(".work-restore-*"):
        shutil.rmtree(path, ignore_errors=True)
    for path in folder.glob(".work-safety-*"):
        shutil.rmtree(path, ignore_errors=True)
    day_ago = time.time() - 86400
    for path in folder.glob(".work-backup-*"):
        if path.stat().st_mtime < day_ago:
            shutil.rmtree(path, ignore_errors=True)
    for path in folder.glob(".*.partial"):
        if path.stat().st_mtime < day_ago:
            path.unlink(missing_ok=True)


RESTORE_STEPS = ["taking a safety backup", "unpacking", "replacing the database", "applying migrations",
                 "checking row counts", "replacing stored files"]


def _restore_holding_flag(validated: ValidatedArchive, *, started: datetime, requested_by: str,
                          progress: Callable[[int, int], None] | None, restore_id: str,
                          unfinished: dict | None) -> RestoreStatus:
    name = validated.path.name
    again = unfinished is not None  # an interrupted restore left the database half-restored
    status = RestoreStatus(state="running", archive_name=name, started_at=started, requested_by=requested_by,
                           message=f"Restoring {name}.", restore_id=restore_id)
    if again:
        status.message = (f"Restoring {name}; the database is being restored again because a restore was "
                          "interrupted after it had begun replacing it.")

    def step(label: str) -> None:
        status.step = label
        status_write(status)
        logger.info("Restore of %s: %s", name, label)
        if progress:
            progress(RESTORE_STEPS.index(label), len(RESTORE_STEPS))

    work = _work_dir("restore")
    # Taken again, a safety backup would save the half-restored database: keep the first one.
    safety = _safety_of(unfinished) if again else None
    touched = again  # nothing before the database replacement changes the database or the files
    try:
        if not again:
            step("taking a safety backup")
            safety = _backup_write(portable=False, trigger="safety")
        step("unpacking")
        staged_files = _stage_files(validated, work)
        staged_database = None if validated.portable else _stage_database(validated, work)
        # From here until the end (or the safety backup back) the site stays in maintenance even
        # if this process dies: the database may hold the archive's rows before its migrations.
        restore_unfinished_write(archive_name=name, safety_backup=safety.name if safety else "",
                                 restore_id=restore_id, archive_path=str(Path(validated.path).resolve()))
        step("replacing the database")
        touched = True
        if validated.portable:
            call_command("migrate", interactive=False, verbosity=0)
            database.portable_load(
                {member: validated.open_member_lines(member) for member in validated.members()},
                validated.manifest["models"])
        else:
            database.native_replace(staged_database, work_dir=work)
            _check_migrations(validated.manifest["migrations"])
        _check_row_counts(validated.manifest["row_counts"], after_migrations=False)
        step("applying migrations")
        before = sum(len(names) for names in database.applied_migrations().values())
        call_command("migrate", interactive=False, verbosity=0)
        applied = sum(len(names) for names in database.applied_migrations().values()) - before
        step("checking row counts")
        _check_row_counts(validated.manifest["row_counts"], after_migrations=True)
        step("replacing stored files")
        _files_replace(staged_files)
        restore_unfinished_clear()
    except Exception as error:
        logger.exception("Restore of %s failed", name)
        reason = error.message if isinstance(error, BackupError) else f"{type(error).__name__}: {error}"
        message = f"Restore of {name} failed while {status.step}: {reason}."
        if not touched:
            message += " The database was not changed."
        else:
            message += _put_back(safety)
        status.state, status.message, status.finished_at = "failed", message, _now()
        return status_write(status)
    finally:
        shutil.rmtree(work, ignore_errors=True)
        # Content type ids may differ in the restored database (always after a portable one).
        ContentType.objects.clear_cache()
    rows = sum(validated.manifest["row_counts"].values())
    status.state, status.finished_at, status.step = "completed", _now(), "done"
    status.message = (f"Restored {name}: {rows} rows in {len(validated.manifest['row_counts'])} tables, "
                      f"{len(validated.file_members())} stored files, {applied} migrations applied. "
                      f"Safety backup: {safety.name if safety else 'none'}.")
    written = status_write(status)
    # Housekeeping after the fact: the restore has succeeded whatever happens to the pruning.
    try:
        _safety_backups_prune(keep_also=name)
    except Exception:
        logger.exception("Deleting old safety backups after the restore of %s failed", name)
    if progress:
        progress(len(RESTORE_STEPS), len(RESTORE_STEPS))
    return written


def _safety_backups_prune(*, keep_also: str) -> None:
    """After a successful restore keep the newest BACKUP_SAFETY_KEEP safety backups (and the
    archive just restored, should it be an older safety backup); delete the others."""
    keep = max(1, int(settings.BACKUP_SAFETY_KEEP))
    safety = [info for info in backup_list() if info.trigger == "safety"]  # newest first
    for info in safety[keep:]:
        if info.name == keep_also:
            continue
        try:
            info.path.unlink(missing_ok=True)
            logger.info("Old safety backup %s deleted (BACKUP_SAFETY_KEEP=%s)", info.name, keep)
        except OSError:
            logger.exception("Could not delete the old safety backup %s", info.name)


def _stage_database(validated: ValidatedArchive, work: Path) -> Path:
    member = PG_DUMP_MEMBER if validated.engine == "postgresql" else SQLITE_MEMBER
    destination = work / "database"
    with open(destination, "wb") as out:
        validated.copy_member(member, out)
    return destination


def _stage_files(validated: ValidatedArchive, work: Path) -> dict[str, Path]:
    """Unpack stored files into the work folder under names WE choose (a counter); the
    member name is only used later, checked, to compute the destination."""
    staged = {}
    folder = work / "files"
    folder.mkdir()
    for number, member in enumerate(validated.file_members()):
        destination = folder / str(number)
        with open(destination, "wb") as out:
            validated.copy_member(member, out)
        staged[stored_file_relative(member).as_posix()] = destination
    return staged


def _files_replace(staged: dict[str, Path]) -> None:
    root = Path(settings.PRIVATE_STORAGE_DIR).resolve()
    root.mkdir(parents=True, exist_ok=True)
    for relative, path in _stored_files():
        if relative not in staged:
            path.unlink(missing_ok=True)
    for relative, source in staged.items():
        destination = root
        for part in PurePosixPath(relative).parts:
            destination = destination / part
            if destination.is_symlink():  # a link in our storage must not lead the write elsewhere
                destination.unlink()
        destination.parent.mkdir(parents=True, exist_ok=True)
        if not destination.resolve().is_relative_to(root):
            raise BackupRejected(f'Backup rejected: unsafe path "{FILES_PREFIX}{relative}"')
        shutil.move(source, destination)


def _check_row_counts(expected: dict[str, int], *, after_migrations: bool) -> None:
    found = database.current_row_counts(expected)
    problems = []
    for table, count in sorted(expected.items()):
        if after_migrations and table in _TABLES_MIGRATE_MAY_FILL:
            continue
        if table not in found:
            if not after_migrations:  # a migration may drop a table; the restore itself may not
                problems.append(f"{table} missing")
        elif found[table] != count:
            problems.append(f"{table} has {found[table]} rows, the backup {count}")
    if problems:
        raise RestoreFailed("row counts differ from the manifest: " + "; ".join(problems[:5]))


def _check_migrations(expected: dict[str, list[str]]) -> None:
    """The replaced database must record exactly the manifest's migrations (before migrating
    forward): else the dump is not the database the manifest describes (a foreign file)."""
    found = {(app, name) for app, names in database.applied_migrations().items() for name in names}
    wanted = {(app, name) for app, names in expected.items() for name in names}
    if found == wanted:
        return

    def shown(pairs: set) -> str:
        labels = [f"{app}.{name}" for app, name in sorted(pairs)]
        return ", ".join(labels[:3]) + (f" and {len(labels) - 3} more" if len(labels) > 3 else "")

    problems = []
    if wanted - found:
        problems.append(f"missing from the database: {shown(wanted - found)}")
    if found - wanted:
        problems.append(f"not in the manifest: {shown(found - wanted)}")
    raise RestoreFailed("the restored database's migrations differ from the manifest (" + "; ".join(problems) + ")")


def _safety_put_back(safety: BackupInfo) -> None:
    validated = archive_validate(safety.path)
    work = _work_dir("safety")
    try:
        staged_files = _stage_files(validated, work)
        database.native_replace(_stage_database(validated, work), work_dir=work)
        _check_row_counts(validated.manifest["row_counts"], after_migrations=False)
        _files_replace(staged_files)
    finally:
        shutil.rmtree(work, ignore_errors=True)
