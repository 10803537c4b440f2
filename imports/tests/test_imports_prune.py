"""Stored uploads that no import refers to (previews never confirmed) are deleted once a day
old, by manage.py imports_prune and the periodic imports_prune task; younger ones and those of
an import stay."""

import os
import time
from io import StringIO
from pathlib import Path

from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command

from imports import tasks  # noqa: F401 (registers the task, as the worker's autodiscovery does)
from imports.models import DataImport
from timetracker.celery import app as celery_app

DAY = 24 * 3600


def stored_uploads() -> list[Path]:
    return sorted((Path(settings.PRIVATE_STORAGE_DIR) / "imports").glob("*/*"))


def age(path: Path, seconds: int) -> None:
    moment = time.time() - seconds
    os.utime(path, (moment, moment))


def test_day_old_unreferenced_previews_are_deleted(charlie_client, charlie):
    clients_preview = charlie_client.post(
        "/api/import/csv/clients", {"file": SimpleUploadedFile("c.csv", b"name\nAcme\n"), "preview": "1"}
    )
    entries_preview = charlie_client.post(
        "/api/import/csv",
        {"file": SimpleUploadedFile("t.csv", b"project_name,start_time,end_time\nWeb,2024-03-04 09:00,2024-03-04 10:00\n"),
         "preview": "1", "timezone": "UTC"},
    )
    assert clients_preview.status_code == entries_preview.status_code == 200
    old_client_preview, old_entries_preview = stored_uploads()
    young = Path(settings.PRIVATE_STORAGE_DIR) / "imports" / str(charlie.pk) / "young.csv"
    young.write_text("name\nYoung\n")
    kept_by_import = young.with_name("pending.csv")
    kept_by_import.write_text("name\nPending\n")
    DataImport.objects.create(owner=charlie, import_type="csv_clients", stored_file=f"imports/{charlie.pk}/pending.csv")
    for path in (old_client_preview, old_entries_preview, kept_by_import):
        age(path, DAY + 60)
    age(young, DAY - 60)

    out = StringIO()
    call_command("imports_prune", stdout=out)
    assert out.getvalue() == "Pruned 2 stored upload(s).\n"
    assert stored_uploads() == sorted([young, kept_by_import])

    schedule = settings.CELERY_BEAT_SCHEDULE["imports-prune"]
    age(young, DAY + 60)
    assert celery_app.tasks[schedule["task"]].delay().get() == 1
    assert stored_uploads() == [kept_by_import]
