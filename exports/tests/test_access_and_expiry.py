"""Access (req. 6) and expiry (req. 7): private to the creator, 410 after seven days, pruning."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.core.management import call_command
from django.utils import timezone

from exports.models import DataExport
from exports.services import data_export_create, data_export_path
from timetracker.celery import app as celery_app

from .factories import at, entry


@pytest.fixture
def alice_exports(alice):
    entry(alice, start=at("2024-01-01 09:00"), end=at("2024-01-01 10:00"))
    gdpr = data_export_create(user=alice, export_type="gdpr", export_format="zip")
    filtered = data_export_create(user=alice, export_type="filtered", export_format="csv")
    gdpr.refresh_from_db()
    filtered.refresh_from_db()
    assert gdpr.status == filtered.status == "completed"
    return gdpr, filtered


def test_another_user_gets_404_for_status_and_download(alice_exports, bob, login):
    http = login(bob)
    for export in alice_exports:
        for url in (f"/api/export/status/{export.pk}", f"/api/export/download/{export.pk}"):
            response = http.get(url)
            assert (response.status_code, response.json()) == (404, {"error": "Export not found"}), url
    assert http.get("/api/export/history").json() == {"exports": []}


def test_admin_sees_all_history_downloads_filtered_but_not_other_users_gdpr(alice_exports, charlie, login):
    gdpr, filtered = alice_exports
    http = login(charlie)

    history = http.get("/api/export/history").json()["exports"]
    assert [(e["id"], e["user"], e["download_url"]) for e in history] == [
        (filtered.pk, "alice", f"/api/export/download/{filtered.pk}"),
        (gdpr.pk, "alice", None),
    ]
    assert http.get(f"/api/export/status/{gdpr.pk}").json()["status"] == "completed"

    response = http.get(f"/api/export/download/{gdpr.pk}")
    assert (response.status_code, response.json()) == (
        403,
        {"error": "Admins cannot download other users' GDPR exports."},
    )
    response = http.get(f"/api/export/download/{filtered.pk}")
    assert response.status_code == 200
    assert b"".join(response.streaming_content).startswith(b"\xef\xbb\xbfid,user_email,")


def test_owner_downloads_with_attachment_name_and_checksum(alice_exports, alice, login):
    gdpr, _ = alice_exports
    response = login(alice).get(f"/api/export/download/{gdpr.pk}")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert response["Content-Disposition"] == f'attachment; filename="{gdpr.file_name}"'
    assert response["X-Content-SHA256"] == gdpr.sha256
    assert gdpr.file_name.startswith("gdpr_export_alice_") and gdpr.file_name.endswith(f"_{gdpr.pk}.zip")


def test_files_live_in_private_storage_not_under_static(alice_exports):
    for export in alice_exports:
        path = data_export_path(export)
        assert path.parent == (settings.PRIVATE_STORAGE_DIR / "exports").resolve()
        assert path.is_file()
    # A tampered path pointing elsewhere is refused.
    gdpr, _ = alice_exports
    gdpr.file_path = "../../etc/passwd"
    assert data_export_path(gdpr) is None


def test_session_endpoints_need_login_and_csrf(alice, login):
    from django.test import Client as HttpClient

    anonymous = HttpClient()
    assert anonymous.post("/api/export/gdpr", {}, content_type="application/json").status_code == 401
    assert anonymous.get("/api/export/history").json() == {"error": "Authentication required"}

    strict = login(alice, enforce_csrf_checks=True)
    assert strict.post("/api/export/gdpr", {"format": "json"}, content_type="application/json").status_code == 403
    strict.get("/exports/")  # the page sets the CSRF cookie
    token = strict.cookies["csrftoken"].value
    response = strict.post(
        "/api/export/gdpr", {"format": "json"}, content_type="application/json", HTTP_X_CSRFTOKEN=token
    )
    assert response.status_code == 202
    assert DataExport.objects.filter(owner=alice).count() == 1


def test_download_after_seven_days_answers_410(alice_exports, alice, login, monkeypatch):
    gdpr, filtered = alice_exports
    assert gdpr.expires_at - gdpr.created_at == timedelta(days=7)
    http = login(alice)
    assert http.get(f"/api/export/download/{gdpr.pk}").status_code == 200

    # Move time forward by seven days, not wait.
    later = gdpr.expires_at + timedelta(seconds=1)
    monkeypatch.setattr(timezone, "now", lambda: later)
    expiry_day = timezone.localtime(gdpr.expires_at, __import__("zoneinfo").ZoneInfo("Europe/Berlin")).date()

    response = http.get(f"/api/export/download/{gdpr.pk}")
    assert response.status_code == 410
    assert response.json() == {"error": f"This export expired on {expiry_day.isoformat()}; create a new one"}
    status = http.get(f"/api/export/status/{gdpr.pk}").json()
    assert (status["status"], status["is_expired"], status["download_url"]) == ("expired", True, None)


def test_exports_prune_command_deletes_expired_files_only(alice_exports, alice):
    gdpr, filtered = alice_exports
    DataExport.objects.filter(pk=gdpr.pk).update(
        created_at=timezone.now() - timedelta(days=8), expires_at=timezone.now() - timedelta(days=1)
    )
    gdpr_path, filtered_path = data_export_path(gdpr), data_export_path(filtered)
    from io import StringIO

    out = StringIO()
    call_command("exports_prune", stdout=out)

    assert out.getvalue() == "Pruned 1 expired export(s).\n"
    assert not gdpr_path.exists() and filtered_path.exists()
    gdpr.refresh_from_db()
    assert (gdpr.status, gdpr.file_path) == ("expired", "")
    response = __import__("django.test", fromlist=["Client"]).Client()
    response.force_login(alice)
    answer = response.get(f"/api/export/download/{gdpr.pk}")
    assert answer.status_code == 410
    assert answer.json()["error"].startswith("This export expired on ")


def test_exports_prune_is_a_beat_task(alice_exports, monkeypatch):
    schedule = settings.CELERY_BEAT_SCHEDULE["exports-prune"]
    assert schedule["task"] == "exports.tasks.exports_prune"
    assert schedule["task"] in celery_app.tasks
    later = timezone.now() + timedelta(days=7, seconds=1)
    monkeypatch.setattr(timezone, "now", lambda: later)

    assert celery_app.tasks[schedule["task"]].delay().get() == 2
    assert set(DataExport.objects.values_list("status", flat=True)) == {"expired"}
    assert list((settings.PRIVATE_STORAGE_DIR / "exports").iterdir()) == []


def test_failed_export_records_the_reason_and_leaves_no_file(alice, login, monkeypatch):
    from exports import services

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(services, "write_time_entries_csv", broken)
    http = login(alice)
    response = http.post("/api/export/filtered", {"format": "csv"}, content_type="application/json")

    status = response.json()
    assert (status["status"], status["error_message"], status["download_url"]) == (
        "failed", "Export failed: disk full", None
    )
    download = http.get(f"/api/export/download/{status['id']}")
    assert (download.status_code, download.json()) == (400, {"error": "This export failed: Export failed: disk full"})
    assert list((settings.PRIVATE_STORAGE_DIR / "exports").iterdir()) == []


def test_prune_removes_partial_files_left_by_a_dead_worker_but_not_running_ones(db):
    import os
    import time

    from exports.services import data_exports_prune, exports_dir

    old = exports_dir() / ".gdpr_export_alice_20240101_000000_1.zip.dead.partial"
    fresh = exports_dir() / ".gdpr_export_alice_20240101_000000_2.zip.live.partial"
    old.write_bytes(b"half")
    fresh.write_bytes(b"half")
    two_days_ago = time.time() - 2 * 86400
    os.utime(old, (two_days_ago, two_days_ago))

    assert data_exports_prune() == 0
    assert not old.exists() and fresh.exists()


def test_prune_also_deletes_other_apps_export_files_inside_private_storage(alice):
    # The mileage and per-diem reports keep their files in PRIVATE_STORAGE_DIR/travel/<id>/.
    folder = settings.PRIVATE_STORAGE_DIR / "travel" / "7"
    folder.mkdir(parents=True)
    (folder / "mileage.pdf").write_bytes(b"%PDF")
    DataExport.objects.create(
        owner=alice, export_type="mileage", export_format="pdf", status="completed",
        file_path="travel/7/mileage.pdf", file_name="mileage.pdf", expires_at=timezone.now() - timedelta(seconds=1),
    )  # fmt: skip

    call_command("exports_prune", stdout=__import__("io").StringIO())

    assert not folder.exists() and (settings.PRIVATE_STORAGE_DIR / "travel").is_dir()
    assert DataExport.objects.get().status == "expired"


def test_deleting_a_user_deletes_their_export_files(alice, bob, charlie, login, settings,
                                                    django_capture_on_commit_callbacks):
    from travel.tests.factories import make_mileage

    settings.TRAVEL_PDF_SYNC_MAX_ROWS = 0
    entry(alice, start=at("2024-01-01 09:00"), end=at("2024-01-01 10:00"))
    make_mileage(alice)
    with django_capture_on_commit_callbacks(execute=True):
        data_export_create(user=alice, export_type="gdpr", export_format="zip")
        data_export_create(user=alice, export_type="filtered", export_format="csv")
        assert login(alice).get("/mileage/export/pdf").status_code == 302
        kept = data_export_create(user=bob, export_type="gdpr", export_format="json")
    kept.refresh_from_db()
    files = sorted(p.relative_to(settings.PRIVATE_STORAGE_DIR).as_posix()
                   for p in settings.PRIVATE_STORAGE_DIR.rglob("*") if p.is_file())  # fmt: skip
    assert len(files) == 4 and set(DataExport.objects.values_list("status", flat=True)) == {"completed"}

    with django_capture_on_commit_callbacks(execute=True):
        response = login(charlie).post(f"/admin/auth/user/{alice.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302

    assert list(DataExport.objects.all()) == [kept]
    assert sorted(p.relative_to(settings.PRIVATE_STORAGE_DIR).as_posix()
                  for p in settings.PRIVATE_STORAGE_DIR.rglob("*")) == [  # fmt: skip
        "exports", kept.file_path, "travel",
    ]


def test_exports_prune_deletes_files_no_export_refers_to_once_an_hour_old(alice):
    import os
    import time
    from io import StringIO

    from exports.services import exports_dir

    entry(alice, start=at("2024-01-01 09:00"), end=at("2024-01-01 10:00"))
    export = data_export_create(user=alice, export_type="filtered", export_format="csv")
    export.refresh_from_db()
    referenced = data_export_path(export)
    old_orphan = exports_dir() / "gdpr_export_gone_20240101_000000_41.zip"
    fresh_orphan = exports_dir() / "gdpr_export_gone_20240101_000000_42.zip"
    travel_orphan = settings.PRIVATE_STORAGE_DIR / "travel" / "43" / "mileage_export_all_to_all.pdf"
    travel_orphan.parent.mkdir(parents=True)
    for path in (old_orphan, fresh_orphan, travel_orphan):
        path.write_bytes(b"left behind")
    an_hour_ago = time.time() - 3601
    for path in (referenced, old_orphan, travel_orphan):
        os.utime(path, (an_hour_ago, an_hour_ago))

    out = StringIO()
    call_command("exports_prune", stdout=out)

    assert out.getvalue() == "Pruned 0 expired export(s).\n"
    assert sorted(p.name for p in exports_dir().iterdir()) == sorted([referenced.name, fresh_orphan.name])
    assert list((settings.PRIVATE_STORAGE_DIR / "travel").iterdir()) == []
    assert DataExport.objects.get().status == "completed"
