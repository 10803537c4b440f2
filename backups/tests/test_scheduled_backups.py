"""The daily scheduled backup (Celery beat task) and the retention of scheduled backups.
Time is moved (django.utils.timezone.now), never waited for."""

import logging
import threading
from datetime import UTC, datetime, time, timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from backups.backup_tasks import backups_scheduled_run
from backups.models import BackupSchedule
from backups.restore_flag import restore_flag_held
from backups.schedule import scheduled_backup_run
from backups.selectors import backup_list
from backups.services import backup_create
from timetracker.celery import app as celery_app

pytestmark = pytest.mark.django_db(transaction=True)


def move_time_to(monkeypatch, moment: datetime) -> None:
    monkeypatch.setattr(timezone, "now", lambda: moment)


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=UTC)


def scheduled_names() -> list[str]:
    return sorted(b.name for b in backup_list() if b.trigger == "scheduled")


@pytest.fixture
def schedule():
    return BackupSchedule.objects.create(enabled=True, time_of_day=time(2, 0), retention_days=2)


def test_beat_runs_the_check_every_five_minutes():
    assert settings.CELERY_BEAT_SCHEDULE["backups-scheduled"] == {
        "task": "backups.backup_tasks.backups_scheduled_run",
        "schedule": timedelta(minutes=5),
    }
    assert "backups.backup_tasks.backups_scheduled_run" in celery_app.tasks


def test_nothing_before_the_scheduled_time(schedule, monkeypatch):
    move_time_to(monkeypatch, at(10, 1, 59))
    assert backups_scheduled_run.delay().get() == "skipped"
    assert backup_list() == []
    schedule.refresh_from_db()
    assert schedule.last_run_on is None


def test_first_tick_after_the_time_takes_one_backup_later_ticks_skip(schedule, monkeypatch):
    move_time_to(monkeypatch, at(10, 2, 3))
    assert backups_scheduled_run.delay().get() == "created"
    [first] = backup_list()
    assert first.trigger == "scheduled"
    schedule.refresh_from_db()
    assert schedule.last_run_on.isoformat() == "2026-03-10"
    assert schedule.last_backup_name == first.name
    assert schedule.last_error == ""

    for minute in (8, 13, 58):
        move_time_to(monkeypatch, at(10, 2, minute))
        assert backups_scheduled_run.delay().get() == "skipped"
    move_time_to(monkeypatch, at(10, 23, 59))
    assert backups_scheduled_run.delay().get() == "skipped"
    assert [b.name for b in backup_list()] == [first.name]


def test_a_day_claimed_by_another_beat_is_not_taken_again(schedule, monkeypatch):
    BackupSchedule.objects.filter(pk=schedule.pk).update(last_run_on=at(10, 0).date())
    move_time_to(monkeypatch, at(10, 2, 3))
    assert backups_scheduled_run.delay().get() == "skipped"
    assert backup_list() == []


def test_next_day_takes_the_next_backup(schedule, monkeypatch):
    move_time_to(monkeypatch, at(10, 2, 3))
    backups_scheduled_run.delay().get()
    move_time_to(monkeypatch, at(11, 1, 0))
    assert backups_scheduled_run.delay().get() == "skipped"
    move_time_to(monkeypatch, at(11, 2, 0))
    assert backups_scheduled_run.delay().get() == "created"
    assert len(scheduled_names()) == 2


def test_a_missed_time_is_caught_up_by_the_first_tick_of_the_day(schedule, monkeypatch):
    move_time_to(monkeypatch, at(10, 17, 40))  # beat was down from 01:00 to 17:40
    assert backups_scheduled_run.delay().get() == "created"
    assert len(scheduled_names()) == 1


def test_retention_deletes_scheduled_backups_past_it_and_nothing_else(schedule, monkeypatch):
    move_time_to(monkeypatch, at(10, 1, 0))
    manual = backup_create(trigger="manual")
    names = {}
    for day in (10, 11, 12, 13):
        move_time_to(monkeypatch, at(day, 2, 5))
        assert backups_scheduled_run.delay().get() == "created"
        names[day] = BackupSchedule.objects.get().last_backup_name
    # On the 13th at 02:05 the cutoff is the 11th at 02:05: the 10th's goes, the 11th's stays.
    assert scheduled_names() == sorted([names[11], names[12], names[13]])
    assert manual.name in {b.name for b in backup_list()}
    assert not (settings.BACKUP_DIR / names[10]).exists()


def test_schedule_off_takes_nothing(schedule, monkeypatch):
    BackupSchedule.objects.filter(pk=schedule.pk).update(enabled=False)
    move_time_to(monkeypatch, at(10, 12, 0))
    assert backups_scheduled_run.delay().get() == "skipped"
    assert backup_list() == []


def test_no_schedule_row_means_off(monkeypatch):
    move_time_to(monkeypatch, at(10, 12, 0))
    assert backups_scheduled_run.delay().get() == "skipped"
    assert backup_list() == []
    assert BackupSchedule.objects.get().enabled is False


def test_tick_during_a_restore_skips_without_touching_the_database(schedule, monkeypatch,
                                                                   django_assert_num_queries):  # fmt: skip
    move_time_to(monkeypatch, at(10, 2, 3))
    with restore_flag_held(), django_assert_num_queries(0):
        assert backups_scheduled_run.delay().get() == "skipped"
    assert backup_list() == []
    schedule.refresh_from_db()
    assert schedule.last_run_on is None


def test_tick_while_a_restore_is_queued_skips_its_turn_and_gives_the_day_back(schedule, monkeypatch, caplog):
    from backups.status import status_write
    from backups.types import RestoreStatus

    move_time_to(monkeypatch, at(10, 2, 3))
    status_write(RestoreStatus(state="queued", archive_name="another.zip", queued_at=at(10, 2, 1)))

    with caplog.at_level(logging.INFO, logger="backups"):
        assert backups_scheduled_run.delay().get() == "skipped"

    logged = [(record.levelname, record.getMessage()) for record in caplog.records if record.name.startswith("backups")]
    assert logged == [("INFO", "Scheduled backup skipped: a restore is in progress")]
    schedule.refresh_from_db()
    assert (schedule.last_run_on, schedule.last_run_at, schedule.last_error) == (None, None, "")
    assert backup_list() == []

    status_write(RestoreStatus(state="completed", archive_name="another.zip"))
    move_time_to(monkeypatch, at(10, 2, 8))
    assert backups_scheduled_run.delay().get() == "created"
    assert len(scheduled_names()) == 1


def test_a_failed_backup_gives_the_day_back_and_the_next_tick_retries(schedule, monkeypatch, tmp_path,
                                                                      settings):  # fmt: skip
    real_backup_dir = settings.BACKUP_DIR
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the backup folder should be")
    settings.BACKUP_DIR = blocker
    move_time_to(monkeypatch, at(10, 2, 3))
    assert backups_scheduled_run.delay().get() == "failed"
    schedule.refresh_from_db()
    assert schedule.last_run_on is None
    assert schedule.last_error.startswith("2026-03-10 02:03 ")

    settings.BACKUP_DIR = real_backup_dir
    move_time_to(monkeypatch, at(10, 2, 8))
    assert backups_scheduled_run.delay().get() == "created"
    schedule.refresh_from_db()
    assert schedule.last_run_on.isoformat() == "2026-03-10"
    assert schedule.last_error == ""
    assert len(scheduled_names()) == 1


def test_two_beats_ticking_at_the_same_moment_take_one_backup(schedule, monkeypatch):
    from django.db import connections

    move_time_to(monkeypatch, at(10, 2, 3))
    start = threading.Barrier(2)
    outcomes = []

    def tick():
        try:
            start.wait()
            outcomes.append(scheduled_backup_run().outcome)
        finally:
            connections.close_all()

    ticks = [threading.Thread(target=tick) for _ in range(2)]
    for thread in ticks:
        thread.start()
    for thread in ticks:
        thread.join(timeout=120)
    assert sorted(outcomes) == ["created", "skipped"]
    assert len(scheduled_names()) == 1


def test_an_uploaded_scheduled_backup_is_not_pruned(schedule, monkeypatch):
    from django.core.files.base import ContentFile

    from backups.services import backup_upload_store

    move_time_to(monkeypatch, at(1, 2, 5))
    old_scheduled = backup_create(trigger="scheduled")
    content = old_scheduled.path.read_bytes()
    old_scheduled.path.unlink()
    move_time_to(monkeypatch, at(10, 1, 0))
    uploaded = backup_upload_store(uploaded_file=ContentFile(content, name="from-the-old-server.zip"))
    assert uploaded.trigger == "scheduled"  # the manifest's

    move_time_to(monkeypatch, at(10, 2, 5))
    assert backups_scheduled_run.delay().get() == "created"
    assert uploaded.name in {b.name for b in backup_list()}


def test_retention_deletes_nothing_while_a_restore_is_queued(monkeypatch):
    from backups.schedule import scheduled_backups_prune
    from backups.status import status_write
    from backups.types import RestoreStatus

    move_time_to(monkeypatch, at(1, 2, 5))
    old = backup_create(trigger="scheduled")
    move_time_to(monkeypatch, at(10, 2, 5))
    status_write(RestoreStatus(state="queued", archive_name="another.zip", queued_at=at(10, 2, 4)))

    assert scheduled_backups_prune(retention_days=2) == []
    assert scheduled_names() == [old.name]
