"""Archives uploaded on the admin's restore page, kept in private storage until the restore
task has read them (they are not backups of this installation, so not in BACKUP_DIR)."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

from django.conf import settings

UPLOAD_SUBDIR = "restore-uploads"
COPY_CHUNK_BYTES = 1024 * 1024


class UploadTooLarge(Exception):
    pass


def restore_upload_store(*, uploaded_file) -> Path:
    """Copy an uploaded archive to private storage under a fresh name that keeps the upload's
    suffix (the restore recognises the format by it) and return its path."""
    name = Path(uploaded_file.name or "archive").name
    suffix = "".join(Path(name).suffixes[-2:]) or ".bin"
    suffix = re.sub(r"[^A-Za-z0-9.]", "", suffix)[:20]
    folder = Path(settings.PRIVATE_STORAGE_DIR) / UPLOAD_SUBDIR
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"upload-{uuid.uuid4().hex}{suffix}"
    size = 0
    with open(target, "wb") as out:
        for chunk in uploaded_file.chunks(COPY_CHUNK_BYTES):
            size += len(chunk)
            if size > settings.MAX_UPLOAD_SIZE:
                out.close()
                target.unlink(missing_ok=True)
                raise UploadTooLarge
            out.write(chunk)
    return target
