"""The backup archive: a ZIP holding `manifest.json`, the database (`database.pgdump`,
`database.sqlite3`, or one `data/<app>.<model>.jsonl` per model in the portable format) and
the stored files under `files/`.

Reading never extracts by member name: every entry is checked before anything is written
(case 14, zip-slip), only names the manifest lists are read, and each member is streamed
to a destination the caller chose, with its size and SHA-256 checked on the way.
"""

from __future__ import annotations

import hashlib
import json
import re
import stat
import zipfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from django.conf import settings

from .types import BackupRejected

MANIFEST_NAME = "manifest.json"
PG_DUMP_MEMBER = "database.pgdump"
SQLITE_MEMBER = "database.sqlite3"
FILES_PREFIX = "files/"
DATA_PREFIX = "data/"
FORMAT_NATIVE = "native"
FORMAT_PORTABLE = "portable"
MANIFEST_FORMAT_VERSION = 1
MANIFEST_MAX_BYTES = 16 * 1024 * 1024
CHUNK = 1024 * 1024

_DRIVE_LETTER = re.compile(r"^[A-Za-z]:")
_PORTABLE_MEMBER = re.compile(r"^data/[a-z0-9_]+\.[a-z0-9_]+\.jsonl$")


def _max_members() -> int:
    return int(settings.BACKUP_MAX_MEMBERS)


def _max_total_bytes() -> int:
    return int(settings.BACKUP_MAX_UNCOMPRESSED_BYTES)


def _max_compression_ratio() -> int:
    return int(settings.BACKUP_MAX_COMPRESSION_RATIO)


def _ratio_min_bytes() -> int:
    return int(settings.BACKUP_COMPRESSION_RATIO_MIN_BYTES)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as source:
        while chunk := source.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def member_name_is_safe(name: str) -> bool:
    """A relative POSIX name without `..`, `.`, empty components, backslashes or a drive."""
    if not name or len(name) > 1024 or "\x00" in name or "\\" in name:
        return False
    if name.startswith("/") or _DRIVE_LETTER.match(name):
        return False
    parts = name.split("/")
    return all(part not in ("", ".", "..") for part in parts)


def _is_link_or_special(info: zipfile.ZipInfo) -> bool:
    mode = info.external_attr >> 16
    kind = stat.S_IFMT(mode)
    return kind not in (0, stat.S_IFREG)  # 0: made on a system that records no Unix mode


def _expected_member(name: str, manifest_format: str, engine: str) -> bool:
    if name.startswith(FILES_PREFIX):
        return True
    if manifest_format == FORMAT_PORTABLE:
        return bool(_PORTABLE_MEMBER.match(name))
    return name == (PG_DUMP_MEMBER if engine == "postgresql" else SQLITE_MEMBER)


@dataclass(frozen=True)
class ValidatedArchive:
    path: Path
    manifest: dict

    @property
    def portable(self) -> bool:
        return self.manifest["format"] == FORMAT_PORTABLE

    @property
    def engine(self) -> str:
        return self.manifest["engine"]

    def members(self) -> dict[str, dict]:
        return self.manifest["members"]

    def file_members(self) -> list[str]:
        return sorted(name for name in self.members() if name.startswith(FILES_PREFIX))

    def copy_member(self, name: str, destination: BinaryIO) -> None:
        """Stream one member into an open file, checking its size and SHA-256 again (the
        archive may have changed since it was validated)."""
        expected = self.members()[name]
        with zipfile.ZipFile(self.path) as archive:
            _stream_checked(archive, name, expected, destination)

    def open_member_lines(self, name: str):
        """Iterate the lines of a JSON-lines member (checked while read: the caller must
        consume it to the end, then `check` runs)."""
        return _CheckedLines(self, name)


class _CheckedLines:
    def __init__(self, archive: ValidatedArchive, name: str):
        self.archive = archive
        self.name = name

    def __iter__(self):
        expected = self.archive.members()[self.name]
        digest = hashlib.sha256()
        size = 0
        with zipfile.ZipFile(self.archive.path) as archive, archive.open(self.name) as member:
            for line in member:
                size += len(line)
                digest.update(line)
                if size > expected["size"]:
                    break
                yield line
        if size != expected["size"] or digest.hexdigest() != expected["sha256"]:
            raise BackupRejected(f'Backup rejected: checksum mismatch for "{self.name}"')


def _stream_checked(archive: zipfile.ZipFile, name: str, expected: dict, destination: BinaryIO | None) -> None:
    digest = hashlib.sha256()
    size = 0
    try:
        with archive.open(name) as member:
            while chunk := member.read(CHUNK):
                size += len(chunk)
                if size > expected["size"]:
                    break
                digest.update(chunk)
                if destination is not None:
                    destination.write(chunk)
    except (zipfile.BadZipFile, EOFError, OSError, ValueError) as error:
        raise BackupRejected(f'Backup rejected: the archive is damaged or truncated ("{name}": {error})') from None
    except (RuntimeError, NotImplementedError):  # encrypted, or a compression method zipfile lacks
        raise BackupRejected(f'Backup rejected: "{name}" is encrypted or compressed in an unsupported way') from None
    if size != expected["size"] or digest.hexdigest() != expected["sha256"]:
        raise BackupRejected(f'Backup rejected: checksum mismatch for "{name}"')


def archive_validate(path: Path, *, checksums: bool = True) -> ValidatedArchive:
    """Check the archive without writing anything; raise BackupRejected naming the first
    problem. Without `checksums` the check is structural only (names, manifest, the declared
    sizes against the ZIP headers, limits): nothing is unpacked but the manifest, so it is
    cheap enough for a request; the restore task makes the full pass. Known-migration and
    engine checks are the caller's (they need Django)."""
    path = Path(path)
    if not path.is_file():
        raise BackupRejected(f'Backup rejected: no such archive "{path.name}"')
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError):
        raise BackupRejected("Backup rejected: not a backup archive (not a readable ZIP file)") from None
    with archive:
        entries = archive.infolist()
        if len(entries) > _max_members():
            raise BackupRejected(f"Backup rejected: too many members ({len(entries)} > {_max_members()})")
        total = 0
        seen: set[str] = set()
        for info in entries:
            if not member_name_is_safe(info.filename):
                raise BackupRejected(f'Backup rejected: unsafe path "{info.filename}"')
            if _is_link_or_special(info):
                raise BackupRejected(f'Backup rejected: link or special file "{info.filename}"')
            if info.filename in seen:
                raise BackupRejected(f'Backup rejected: duplicate member "{info.filename}"')
            seen.add(info.filename)
            total += info.file_size
            ratio = info.file_size / max(info.compress_size, 1)
            if info.file_size > _ratio_min_bytes() and ratio > _max_compression_ratio():
                raise BackupRejected(
                    f'Backup rejected: "{info.filename}" compresses too well for a backup ({info.file_size} bytes '
                    f"from {info.compress_size}, more than {_max_compression_ratio()}:1)")
        if total > _max_total_bytes():
            raise BackupRejected(f"Backup rejected: too large when unpacked ({total} bytes > {_max_total_bytes()})")
        if MANIFEST_NAME not in seen:
            raise BackupRejected("Backup rejected: no manifest.json (not a TimeTracker backup)")
        manifest = _manifest_read(archive)
        members = manifest["members"]
        for name in seen - {MANIFEST_NAME}:
            if name not in members or not _expected_member(name, manifest["format"], manifest["engine"]):
                raise BackupRejected(f'Backup rejected: unexpected member "{name}"')
        for name in members:
            if name not in seen:
                raise BackupRejected(f'Backup rejected: missing member "{name}"')
        for info in entries:
            if info.filename == MANIFEST_NAME:
                continue
            expected = members[info.filename]
            if info.file_size != expected["size"]:
                raise BackupRejected(f'Backup rejected: checksum mismatch for "{info.filename}"')
        if checksums:
            for info in entries:
                if info.filename != MANIFEST_NAME:
                    _stream_checked(archive, info.filename, members[info.filename], None)
    return ValidatedArchive(path=path, manifest=manifest)


def _manifest_read(archive: zipfile.ZipFile) -> dict:
    info = archive.getinfo(MANIFEST_NAME)
    if info.file_size > MANIFEST_MAX_BYTES:
        raise BackupRejected("Backup rejected: manifest.json is too large")
    try:
        manifest = json.loads(archive.read(MANIFEST_NAME))
    except (zipfile.BadZipFile, EOFError, OSError):
        raise BackupRejected("Backup rejected: the archive is damaged or truncated (manifest.json)") from None
    except ValueError:
        raise BackupRejected("Backup rejected: manifest.json is not valid JSON") from None
    problem = _manifest_problem(manifest)
    if problem:
        raise BackupRejected(f"Backup rejected: invalid manifest ({problem})")
    return manifest


def _manifest_problem(manifest) -> str:
    if not isinstance(manifest, dict) or manifest.get("product") != "TimeTracker":
        return "not a TimeTracker backup"
    if manifest.get("format_version") != MANIFEST_FORMAT_VERSION:
        return f"unknown format_version {manifest.get('format_version')!r}"
    if manifest.get("format") not in (FORMAT_NATIVE, FORMAT_PORTABLE):
        return f"unknown format {manifest.get('format')!r}"
    if manifest.get("engine") not in ("postgresql", "sqlite"):
        return f"unknown database engine {manifest.get('engine')!r}"
    for key, kind in (("migrations", dict), ("row_counts", dict), ("members", dict), ("created_at", str),
                      ("version", str)):
        if not isinstance(manifest.get(key), kind):
            return f"{key} missing"
    if manifest_created_at(manifest["created_at"]) is None:
        return f"created_at must be an ISO 8601 date and time with a UTC offset, not {manifest['created_at']!r}"
    problem = _migrations_problem(manifest["migrations"]) or _row_counts_problem(manifest["row_counts"])
    if problem:
        return problem
    for name, entry in manifest["members"].items():
        if not member_name_is_safe(name):
            return f'unsafe path "{name}"'
        if not (isinstance(entry, dict) and isinstance(entry.get("size"), int)
                and isinstance(entry.get("sha256"), str)):
            return f'bad entry for "{name}"'
    if manifest["format"] == FORMAT_PORTABLE:
        if not isinstance(manifest.get("models"), list):
            return "models missing"
        required = [f"{DATA_PREFIX}{label}.jsonl" for label in manifest["models"]]
    else:
        required = [PG_DUMP_MEMBER if manifest["engine"] == "postgresql" else SQLITE_MEMBER]
    for name in required:
        if name not in manifest["members"]:
            return f'no "{name}"'
    return ""


def manifest_created_at(value) -> datetime | None:
    """The manifest's creation time, or None unless it is an ISO 8601 date and time with a UTC
    offset: a time without one cannot be ordered against the other backups' or the retention's."""
    if not isinstance(value, str):
        return None
    try:
        created = datetime.fromisoformat(value)
    except ValueError:
        return None
    return created if created.utcoffset() is not None else None


# Tables and apps every TimeTracker database has: a manifest without them is not of one.
CORE_TABLES = ("auth_user", "django_content_type")
CORE_APPS = ("auth", "contenttypes")
_NAME = re.compile(r"^[A-Za-z0-9_]{1,128}$")


def _migrations_problem(migrations: dict) -> str:
    for app, names in migrations.items():
        if not (isinstance(app, str) and _NAME.match(app)):
            return f"migrations: bad app label {app!r}"
        if not (isinstance(names, list) and all(isinstance(name, str) and _NAME.match(name) for name in names)):
            return f'migrations: "{app}" must be a list of migration names'
    missing = [app for app in CORE_APPS if not migrations.get(app)]
    if missing:
        return f"migrations: no {', '.join(missing)} migrations"
    return ""


def _row_counts_problem(row_counts: dict) -> str:
    for table, count in row_counts.items():
        if not (isinstance(table, str) and _NAME.match(table)):
            return f"row_counts: bad table name {table!r}"
        if not (type(count) is int and count >= 0):
            return f'row_counts: "{table}" must be a non-negative integer, not {count!r}'
    missing = [table for table in CORE_TABLES if table not in row_counts]
    if missing:
        return f"row_counts: no {', '.join(missing)}"
    return ""


def stored_file_relative(member: str) -> PurePosixPath:
    return PurePosixPath(member[len(FILES_PREFIX):])
