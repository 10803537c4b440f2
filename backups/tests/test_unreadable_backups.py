"""An archive in BACKUP_DIR whose manifest cannot be read as a backup's (here: a creation time
without a UTC offset, put there by hand) is left out of the list with a warning. The list
page, the restore page, backup_list, the scheduled retention and a restore's clean-up of old
safety backups go on without it, and backup_delete can remove it."""

import io
import logging
from datetime import UTC, datetime, time

import pytest
from django.conf import settings
from django.core.management import call_command
from django.utils import timezone

from backups.models import BackupSchedule
from backups.schedule import scheduled_backup_run
from backups.selectors import backup_list, restore_status_get
from backups.services import backup_create, backup_restore

from .factories import rewrite_archive

NAIVE_NAME = "backup-20200101-000000-scheduled.zip"
WARNING = (f"Not listed: {NAIVE_NAME} is not a readable backup (ValueError: created_at is not a date and time with "
           "a UTC offset: '2020-01-01T00:00:00'); manage.py backup_delete deletes it")


@pytest.fixture
def naive_archive():
    """A scheduled backup whose manifest says 2020-01-01T00:00:00, with no offset."""
    taken = backup_create(trigger="scheduled")
    path = rewrite_archive(taken.path, settings.BACKUP_DIR / NAIVE_NAME,
                           manifest_change=lambda manifest: manifest.update(created_at="2020-01-01T00:00:00"))
    taken.path.unlink()
    return path


def run(*args) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


@pytest.mark.django_db(transaction=True)
def test_the_list_page_restore_page_and_backup_list_leave_it_out_with_a_warning(charlie_client, naive_archive,
                                                                                caplog):  # fmt: skip
    good = backup_create(trigger="manual")

    with caplog.at_level(logging.WARNING, logger="backups.selectors"):
        assert backup_list() == [good]
        page = charlie_client.get("/admin/backups/backup/")
        restore_page = charlie_client.get("/admin/backups/backup/restore/")
        out = run("backup_list")

    assert page.status_code == 200
    assert good.name in page.content.decode() and NAIVE_NAME not in page.content.decode()
    assert restore_page.status_code == 200
    assert out == (f"{good.name}\t{good.created_at:%Y-%m-%d %H:%M:%S} UTC\t{good.size} bytes\tpostgresql\tmanual\t"
                   "v0.1.0\n")
    assert [record.getMessage() for record in caplog.records if record.levelno >= logging.WARNING] == [WARNING] * 4


@pytest.mark.django_db(transaction=True)
def test_backup_delete_removes_it(naive_archive):
    assert run("backup_delete", NAIVE_NAME) == f"Deleted {NAIVE_NAME}\n"
    assert not naive_archive.exists()


@pytest.mark.django_db(transaction=True)
def test_the_scheduled_retention_goes_on_without_it(naive_archive, monkeypatch):
    BackupSchedule.objects.create(enabled=True, time_of_day=time(2, 0), retention_days=2)
    monkeypatch.setattr(timezone, "now", lambda: datetime(2026, 3, 10, 2, 5, tzinfo=UTC))

    tick = scheduled_backup_run()

    assert (tick.outcome, tick.deleted) == ("created", ())
    assert [b.name for b in backup_list()] == [tick.backup_name]
    assert naive_archive.exists()


def test_a_restore_completes_and_prunes_safety_backups_without_it(restorable_db, naive_archive, settings):
    settings.BACKUP_SAFETY_KEEP = 1
    good = backup_create(trigger="manual")

    first = backup_restore(archive_path=good.path)
    second = backup_restore(archive_path=good.path)

    assert (first.state, second.state) == ("completed", "completed")
    assert restore_status_get() == second
    [safety] = [b for b in backup_list() if b.trigger == "safety"]
    assert second.message.endswith(f"Safety backup: {safety.name}.")
    assert naive_archive.exists()
