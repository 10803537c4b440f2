"""Requirement 3: the restore flag in Redis (REDIS_URL) and as a file in DATA_DIR (embedded
default), with a time-to-live the running restore keeps refreshing."""

import json
import os
import time

import pytest

from backups.restore_flag import (
    RESTORE_FLAG_FILE_NAME,
    RESTORE_FLAG_KEY,
    _redis,
    is_database_restore_in_progress,
    restore_flag_held,
    set_database_restore_in_progress,
)


@pytest.fixture(params=["redis", "file"])
def flag_mode(request, settings, tmp_path):
    if request.param == "redis":
        if not os.environ.get("REDIS_URL"):
            pytest.skip("needs the Redis that scripts/test.sh starts")
        settings.REDIS_URL = os.environ["REDIS_URL"]
        _redis().delete(RESTORE_FLAG_KEY)
    else:
        settings.REDIS_URL = ""
        settings.DATA_DIR = tmp_path / "data"
    yield request.param
    set_database_restore_in_progress(False)


def test_set_and_clear(flag_mode, settings):
    assert is_database_restore_in_progress() is False
    set_database_restore_in_progress(True)
    assert is_database_restore_in_progress() is True
    if flag_mode == "redis":
        assert 55 <= _redis().ttl(RESTORE_FLAG_KEY) <= 60
    else:
        payload = json.loads((settings.DATA_DIR / RESTORE_FLAG_FILE_NAME).read_text())
        assert payload["pid"] == os.getpid()
        assert 59 <= payload["expires_at"] - time.time() <= 60
    set_database_restore_in_progress(False)
    assert is_database_restore_in_progress() is False
    if flag_mode == "file":
        assert not (settings.DATA_DIR / RESTORE_FLAG_FILE_NAME).exists()


def test_the_flag_expires_when_nobody_refreshes_it(flag_mode):
    set_database_restore_in_progress(True, ttl=1)
    assert is_database_restore_in_progress() is True
    time.sleep(1.3)
    assert is_database_restore_in_progress() is False


def test_a_held_flag_is_refreshed_past_its_ttl_and_cleared_at_the_end(flag_mode):
    with restore_flag_held(ttl=1):
        time.sleep(2.5)
        assert is_database_restore_in_progress() is True
    assert is_database_restore_in_progress() is False


def test_a_held_flag_is_cleared_when_the_block_raises(flag_mode):
    with pytest.raises(RuntimeError), restore_flag_held(ttl=5):
        assert is_database_restore_in_progress() is True
        raise RuntimeError("restore failed")
    assert is_database_restore_in_progress() is False


def test_a_half_written_flag_file_counts_as_set(settings, tmp_path):
    settings.REDIS_URL = ""
    settings.DATA_DIR = tmp_path
    (tmp_path / RESTORE_FLAG_FILE_NAME).write_text('{"pid": 1, "expi')
    assert is_database_restore_in_progress() is True


def test_the_flag_is_shared_with_another_process(flag_mode, settings):
    import subprocess
    import sys

    set_database_restore_in_progress(True, ttl=30)
    env = dict(os.environ, DATA_DIR=str(settings.DATA_DIR), REDIS_URL=settings.REDIS_URL,
               DJANGO_SETTINGS_MODULE="timetracker.settings")
    code = ("import django; django.setup(); from backups.restore_flag import is_database_restore_in_progress as f; "
            "print(f())")
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "True"


@pytest.mark.parametrize("requested_by", ["", "charlie"])
def test_an_interrupted_restore_that_nothing_redelivers_says_to_start_it_again(db, requested_by):
    # manage.py backup_restore (no requester) and, eagerly, the embedded default's thread.
    from backups.selectors import restore_status_get
    from backups.status import restore_unfinished_write, status_write
    from backups.types import RestoreStatus

    status_write(RestoreStatus(state="running", step="unpacking", archive_name="b.zip", requested_by=requested_by))
    assert restore_status_get().message == (
        "The restore of b.zip was interrupted while unpacking (the process running it stopped). "
        "The database was not changed; start the restore again.")
    assert is_database_restore_in_progress() is False

    restore_unfinished_write(archive_name="b.zip", safety_backup="s.zip", restore_id="1")
    status_write(RestoreStatus(state="running", step="applying migrations", archive_name="b.zip",
                               requested_by=requested_by))
    assert restore_status_get().message == (
        "The restore of b.zip was interrupted while applying migrations (the process running it stopped). "
        "It had begun replacing the database, which may hold the backup's data without its later migrations, "
        "so the site stays in maintenance (503) until the database is restored again. The database must be "
        "restored again: run manage.py backup_restore b.zip --yes (if that archive is gone or damaged, the same "
        "command puts back the safety backup s.zip).")
    assert is_database_restore_in_progress() is True  # no flag, but the database may be half-restored
