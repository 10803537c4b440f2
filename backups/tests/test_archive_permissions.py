"""Archives hold password hashes and live session keys: every one is written readable by its
owner only (0600), and BACKUP_DIR is kept 0700, whatever the umask."""

import os
import stat
from datetime import UTC, datetime, time
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from backups.backup_tasks import backups_scheduled_run
from backups.models import BackupSchedule
from backups.selectors import backup_list
from timetracker.models import Client

CREATE_URL = "/admin/backups/backup/create/"
RESTORE_URL = "/admin/backups/backup/restore/"


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def loose_umask():
    previous = os.umask(0o002)  # group- and world-readable by default
    yield
    os.umask(previous)


@pytest.mark.django_db(transaction=True)
def test_every_archive_is_private_and_the_backup_folder_is_tightened(
        loose_umask, charlie_client, settings, tmp_path, monkeypatch):
    settings.BACKUP_DIR.chmod(0o755)  # as an older version left it
    Client.objects.create(name="Acme")

    assert charlie_client.post(CREATE_URL).status_code == 302  # manual, from the admin
    BackupSchedule.objects.create(enabled=True, time_of_day=time(2, 0), retention_days=2)
    monkeypatch.setattr(timezone, "now", lambda: datetime(2026, 3, 10, 2, 3, tzinfo=UTC))
    assert backups_scheduled_run.delay().get() == "created"
    monkeypatch.undo()
    (tmp_path / "out").mkdir(mode=0o755)
    elsewhere = tmp_path / "out" / "elsewhere.zip"
    call_command("backup_create", "--output", str(elsewhere), stdout=StringIO())
    upload = tmp_path / "upload.zip"
    upload.write_bytes(elsewhere.read_bytes())
    with open(upload, "rb") as archive:  # uploaded, then restored: a safety backup too
        assert charlie_client.post(RESTORE_URL, {"archive": archive, "confirm": "on"}).status_code == 302

    assert mode(settings.BACKUP_DIR) == 0o700
    assert sorted((b.name.rsplit("-", 1)[1], mode(b.path)) for b in backup_list()) == [
        ("manual.zip", 0o600), ("safety.zip", 0o600), ("scheduled.zip", 0o600), ("uploaded.zip", 0o600)]
    assert mode(elsewhere) == 0o600
    assert mode(tmp_path / "out") == 0o755  # a folder given to --output is not ours to change


def test_a_missing_backup_folder_is_created_private(loose_umask, settings, tmp_path):
    from backups.status import backup_dir

    settings.BACKUP_DIR = tmp_path / "new" / "backups"

    assert backup_dir() == settings.BACKUP_DIR
    assert mode(settings.BACKUP_DIR) == 0o700
