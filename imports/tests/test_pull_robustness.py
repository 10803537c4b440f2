"""Rate limits, quotas, server errors and timeouts (case 15), through real pulls against the
fake APIs. Waiting is recorded instead of slept (`sleeps`)."""

import json
import re
from datetime import UTC, datetime, timedelta

import pytest

from conftest import CASES_DIR
from imports import pulls, toggl
from imports.models import DataImport
from imports.pulls import (
    PullInputError,
    pull_credentials_seal,
    pull_execute,
    pull_start,
)
from timetracker.lib import http_client
from timetracker.models import Project, TimeEntry

from .fake_harvest import HARVEST_TOKEN, harvest_entry
from .fake_toggl import TOGGL_TOKEN, Canned

pytest_plugins = ["imports.tests.pull_fixtures"]

SCENARIOS = json.loads((CASES_DIR / "15_api_rate_limit_responses.json").read_text())["scenarios"]
REPORT = "/reports/api/v3/workspace/2000002/search/time_entries"
FETCH_CLOCK = datetime(2024, 12, 16, 3, 15, 28, tzinfo=UTC)


def canned(scenario: str) -> list[Canned]:
    return [Canned(status=r["status"], headers=r["headers"], body=r["body"]) for r in SCENARIOS[scenario]]


def seven_entries(fake):
    for n in range(7):
        fake.add_entry(entry_id=7000 + n, start=f"2024-03-0{n + 1}T09:00:00+00:00",
                       stop=f"2024-03-0{n + 1}T10:00:00+00:00", description=f"e{n}")


def toggl_params(**extra):
    return {"token": TOGGL_TOKEN, "workspace_id": "2000002", "start": "2024-03-01", "end": "2024-03-31", **extra}


def run_toggl(user, capture, **extra) -> DataImport:
    with capture(execute=True):
        data_import = pull_start(user=user, source="toggl", params=toggl_params(**extra))
    data_import.refresh_from_db()
    return data_import


def test_toggl_429_html_without_retry_after_backs_off_and_retries_the_same_request(
    alice, fake_toggl, sleeps, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(toggl, "clock", lambda: FETCH_CLOCK)
    fake_toggl.script("/api/v9/me/time_entries", canned("toggl_429_html_no_retry_after"))
    data_import = run_toggl(alice, django_capture_on_commit_callbacks, start="2024-12-01", end="2024-12-16")

    assert data_import.status == "completed", data_import.status_message
    requests = fake_toggl.requests_to("/api/v9/me/time_entries")
    assert len(requests) == 2 and requests[0].query == requests[1].query
    assert len(sleeps) == 1 and 1.0 <= sleeps[0] <= 1.5


def test_toggl_402_quota_pauses_with_the_reset_time_and_resumes_without_counting_twice(
    alice, fake_toggl, sleeps
):
    seven_entries(fake_toggl)
    fake_toggl.script(REPORT, [Canned(status=0)] + canned("toggl_402_hourly_quota"))
    options = {"start": "2024-03-01", "end": "2024-03-31", "map_users_by_email": False, "workspace_id": "2000002"}
    data_import = DataImport.objects.create(owner=alice, import_type="toggl", options=options)
    sealed = pull_credentials_seal({"token": TOGGL_TOKEN})

    before = datetime.now(UTC).replace(microsecond=0)
    outcome = pull_execute(import_id=data_import.pk, sealed_credentials=sealed)
    after = datetime.now(UTC)

    data_import.refresh_from_db()
    assert data_import.status == "waiting" and outcome.status == "waiting"
    match = re.fullmatch(
        r"waiting for Toggl quota until (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) UTC "
        r"\(Toggl hourly API limit reached, resuming in 30 min\)", data_import.status_message)
    assert match, data_import.status_message
    until = datetime.fromisoformat(match[1]).replace(tzinfo=UTC)
    assert before + timedelta(seconds=1800) <= until <= after + timedelta(seconds=1800)
    assert before + timedelta(seconds=1800) <= outcome.resume_at <= after + timedelta(seconds=1800)
    assert data_import.finished_at is None and sleeps == []  # no in-request waiting for a quota
    assert (data_import.processed_records, data_import.created_records) == (3, 3)
    assert data_import.checkpoint["cursor"] == {"phase": "report", "window": 0, "first_id": 7003,
                                                "first_row_number": 4}

    outcome = pull_execute(import_id=data_import.pk, sealed_credentials=sealed)

    data_import.refresh_from_db()
    assert outcome.status == "completed"
    assert (data_import.processed_records, data_import.created_records, data_import.total_records) == (7, 7, 7)
    assert TimeEntry.objects.filter(owner=alice).count() == 7
    bodies = [json.loads(r.body) for r in fake_toggl.requests_to(REPORT)]
    assert [b.get("first_row_number") for b in bodies] == [None, 4, 4, 7]


def test_toggl_402_that_never_lets_a_page_through_fails_after_three_waits(alice, fake_toggl, sleeps):
    seven_entries(fake_toggl)
    fake_toggl.script(REPORT, [Canned(status=0)] + canned("toggl_402_hourly_quota") * 4)
    options = {"start": "2024-03-01", "end": "2024-03-31", "map_users_by_email": False, "workspace_id": "2000002"}
    data_import = DataImport.objects.create(owner=alice, import_type="toggl", options=options)
    sealed = pull_credentials_seal({"token": TOGGL_TOKEN})

    statuses = []
    for _ in range(4):  # the first wait follows a page; the next three read none
        statuses.append(pull_execute(import_id=data_import.pk, sealed_credentials=sealed).status)
        data_import.refresh_from_db()
        statuses.append(data_import.checkpoint.get("idle_quota_waits"))

    assert statuses == ["waiting", 1, "waiting", 2, "waiting", 3, "failed", 3]
    assert (data_import.status, data_import.status_message) == (
        "failed", "Toggl answered 402 again after 3 waits for its quota without a page read in between; "
                  "the Toggl plan may not include this API. Try again later.")
    assert (data_import.created_records, TimeEntry.objects.filter(owner=alice).count()) == (3, 3)


def test_toggl_402_with_in_process_tasks_stays_waiting_instead_of_hammering(
    alice, fake_toggl, sleeps, django_capture_on_commit_callbacks
):
    seven_entries(fake_toggl)
    fake_toggl.script(REPORT, [Canned(status=0)] + canned("toggl_402_hourly_quota") * 3)
    data_import = run_toggl(alice, django_capture_on_commit_callbacks)
    assert data_import.status == "waiting"
    assert data_import.status_message.startswith("waiting for Toggl quota until ")
    assert len(fake_toggl.requests_to(REPORT)) == 2
    # (With a worker, the task re-queues itself for the reset: test_pull_worker.py.)


def test_toggl_nginx_html_400_is_retried_but_an_api_400_is_not(alice, fake_toggl, sleeps,
                                                                django_capture_on_commit_callbacks):
    seven_entries(fake_toggl)
    fake_toggl.script(REPORT, canned("toggl_400_nginx_instead_of_429")[:1])
    assert run_toggl(alice, django_capture_on_commit_callbacks).status == "completed"
    assert len(sleeps) == 1

    fake_toggl.script(REPORT, [Canned(status=400, headers={"Content-Type": "application/json"},
                                      body='"Invalid start date"')])
    failed = run_toggl(alice, django_capture_on_commit_callbacks)
    assert (failed.status, failed.status_message) == ("failed", 'Toggl answered HTTP 400: "Invalid start date"')
    assert len(sleeps) == 1


def test_toggl_400_html_pages_fail_loudly_after_three_retries(alice, fake_toggl, sleeps,
                                                               django_capture_on_commit_callbacks):
    seven_entries(fake_toggl)
    fake_toggl.script(REPORT, canned("toggl_400_nginx_instead_of_429")[:1] * 4)
    data_import = run_toggl(alice, django_capture_on_commit_callbacks)
    assert (data_import.status, data_import.status_message) == (
        "failed", "Toggl answered HTTP 400 4 times in a row; try again later.")
    assert len(fake_toggl.requests_to(REPORT)) == 4 and len(sleeps) == 3


def test_toggl_403_bad_token_is_not_retried(alice, fake_toggl, sleeps, django_capture_on_commit_callbacks):
    fake_toggl.script("/api/v9/me", canned("toggl_403_bad_token"))
    data_import = run_toggl(alice, django_capture_on_commit_callbacks)
    assert (data_import.status, data_import.status_message) == ("failed", "Toggl rejected the API token")
    assert len(fake_toggl.requests) == 1 and sleeps == []


def test_toggl_500_is_retried_with_backoff(alice, fake_toggl, sleeps, django_capture_on_commit_callbacks):
    seven_entries(fake_toggl)
    fake_toggl.script(REPORT, [Canned(status=0), Canned(status=500, body="oops"), Canned(status=503, body="")])
    data_import = run_toggl(alice, django_capture_on_commit_callbacks)
    assert data_import.status == "completed" and data_import.created_records == 7
    assert len(sleeps) == 2 and 1.0 <= sleeps[0] <= 1.5 and 2.0 <= sleeps[1] <= 3.0


def test_toggl_500_that_persists_leaves_a_visibly_incomplete_import(alice, fake_toggl, sleeps,
                                                                      django_capture_on_commit_callbacks):
    seven_entries(fake_toggl)
    fake_toggl.script(REPORT, [Canned(status=0)] + [Canned(status=500, body="oops")] * 4)
    data_import = run_toggl(alice, django_capture_on_commit_callbacks)
    assert (data_import.status, data_import.status_message) == (
        "failed", "Toggl answered HTTP 500 4 times in a row; try again later.")
    assert data_import.processed_records == 3 and data_import.finished_at is not None
    assert data_import.checkpoint["cursor"]["first_row_number"] == 4


def run_harvest(user, capture, **extra) -> DataImport:
    params = {"token": HARVEST_TOKEN, "account_id": "424242", "start": "2024-03-01", "end": "2024-03-31",
              "timezone": "UTC", **extra}
    with capture(execute=True):
        data_import = pull_start(user=user, source="harvest", params=params)
    data_import.refresh_from_db()
    return data_import


def test_harvest_429_waits_exactly_retry_after(alice, fake_harvest, sleeps, django_capture_on_commit_callbacks):
    fake_harvest.script("/v2/time_entries", canned("harvest_429_retry_after")[:1])
    fake_harvest.entries = [harvest_entry(1, "2024-03-04", hours=1.5)]
    data_import = run_harvest(alice, django_capture_on_commit_callbacks)
    assert data_import.status == "completed" and data_import.created_records == 1
    assert sleeps == [7.0]
    assert len(fake_harvest.requests_to("/v2/time_entries")) == 2


def test_harvest_requests_are_paced_to_the_documented_rate(alice, fake_harvest, sleeps, settings,
                                                           django_capture_on_commit_callbacks):
    settings.HARVEST_REQUESTS_PER_15_SECONDS = 3
    settings.HARVEST_PER_PAGE = 1
    fake_harvest.entries = [harvest_entry(n, f"2024-03-0{n}", hours=1) for n in range(1, 5)]
    data_import = run_harvest(alice, django_capture_on_commit_callbacks)
    assert data_import.created_records == 4
    # 5 requests (me + 4 pages), at most 3 per 15 s: the 4th and 5th wait for the window.
    assert len(sleeps) == 2 and all(14.0 < s <= 15.0 for s in sleeps)


def test_a_page_slower_than_the_client_timeout_is_retried(alice, fake_harvest, sleeps, settings,
                                                          django_capture_on_commit_callbacks):
    settings.HTTP_TIMEOUT_SECONDS = 0.3
    fake_harvest.entries = [harvest_entry(n, f"2024-03-0{n}", hours=1) for n in range(1, 4)]
    fake_harvest.script("/v2/time_entries", [Canned(status=0), Canned(status=0, delay=0.8)])
    data_import = run_harvest(alice, django_capture_on_commit_callbacks)
    assert data_import.status == "completed" and data_import.created_records == 3
    assert len(sleeps) == 1


def test_a_source_that_keeps_timing_out_fails_after_bounded_retries(alice, fake_harvest, sleeps, settings,
                                                                     django_capture_on_commit_callbacks):
    settings.HTTP_TIMEOUT_SECONDS = 0.2
    fake_harvest.script("/v2/users/me", [Canned(status=0, delay=0.5)] * 4)
    data_import = run_harvest(alice, django_capture_on_commit_callbacks)
    assert (data_import.status, data_import.status_message) == (
        "failed", "Harvest timed out 4 times in a row; try again later.")
    assert len(sleeps) == 3


@pytest.mark.parametrize("token, account, status", [("wrong", "424242", 401), (HARVEST_TOKEN, "999", 403)])
def test_harvest_401_403_fail_at_once(alice, fake_harvest, sleeps, django_capture_on_commit_callbacks,
                                      token, account, status):
    data_import = run_harvest(alice, django_capture_on_commit_callbacks, token=token, account_id=account)
    assert (data_import.status, data_import.status_message) == ("failed", "Harvest rejected the token or account id")
    assert len(fake_harvest.requests) == 1 and sleeps == []


def test_after_a_402_with_in_process_tasks_the_pull_starts_again_once_the_quota_resets(
    alice, fake_toggl, sleeps, monkeypatch, django_capture_on_commit_callbacks
):
    seven_entries(fake_toggl)
    fake_toggl.script(REPORT, [Canned(status=0)] + canned("toggl_402_hourly_quota"))  # resets in 1800 s
    waiting = run_toggl(alice, django_capture_on_commit_callbacks)
    assert (waiting.status, waiting.created_records) == ("waiting", 3)

    started = datetime.now(UTC)
    monkeypatch.setattr(pulls, "clock", lambda: started + timedelta(seconds=1790))
    with pytest.raises(PullInputError) as refused:
        run_toggl(alice, django_capture_on_commit_callbacks)
    assert refused.value.message == (
        f"Import #{waiting.pk} from Toggl Workspace 2000002 is still running; wait until it finishes.")

    monkeypatch.setattr(pulls, "clock", lambda: started + timedelta(seconds=1801))
    again = run_toggl(alice, django_capture_on_commit_callbacks)
    assert again.status == "completed", again.status_message
    assert (again.processed_records, again.created_records, again.unchanged_records) == (7, 4, 3)
    waiting.refresh_from_db()
    assert (waiting.status, waiting.status_message) == (
        "failed", f"Interrupted (no progress); superseded by import #{again.pk}.")
    assert TimeEntry.objects.filter(owner=alice).count() == 7


def test_a_pull_killed_mid_way_blocks_only_until_it_shows_no_progress(
    alice, fake_toggl, sleeps, monkeypatch, django_capture_on_commit_callbacks
):
    seven_entries(fake_toggl)
    with django_capture_on_commit_callbacks(execute=False):
        killed = pull_start(user=alice, source="toggl", params=toggl_params())

    def server_restart(data_import):
        raise SystemExit(1)

    with pytest.raises(SystemExit):
        pull_execute(import_id=killed.pk, sealed_credentials=pull_credentials_seal({"token": TOGGL_TOKEN}),
                     progress=server_restart)
    killed.refresh_from_db()
    assert (killed.status, killed.processed_records) == ("processing", 3)
    last_page = datetime.fromisoformat(killed.checkpoint["heartbeat"])

    monkeypatch.setattr(pulls, "clock", lambda: last_page + pulls.pull_stale_after() - timedelta(seconds=1))
    with pytest.raises(PullInputError):
        run_toggl(alice, django_capture_on_commit_callbacks)

    monkeypatch.setattr(pulls, "clock", lambda: last_page + pulls.pull_stale_after())
    again = run_toggl(alice, django_capture_on_commit_callbacks)
    assert (again.status, again.created_records, again.unchanged_records) == ("completed", 4, 3)
    killed.refresh_from_db()
    assert (killed.status, killed.status_message) == (
        "failed", f"Interrupted (no progress); superseded by import #{again.pk}.")
    # A late delivery of the killed task finds it finished and writes nothing.
    assert pull_execute(import_id=killed.pk, sealed_credentials=pull_credentials_seal({"token": TOGGL_TOKEN})).status \
        == "failed"
    assert TimeEntry.objects.filter(owner=alice).count() == 7
    assert pulls.pull_stale_after() == timedelta(seconds=30 * 4 + 600)


@pytest.mark.parametrize("bad", ["LEAKME-harvest\n-token-456", "tökén€"])
def test_a_token_that_reached_the_task_anyway_fails_cleanly_and_is_never_logged(
    alice, fake_harvest, sleeps, caplog, bad
):
    options = {"start": "2024-03-01", "end": "2024-03-31", "map_users_by_email": False, "account_id": "424242",
               "timezone": "UTC"}
    data_import = DataImport.objects.create(owner=alice, import_type="harvest", options=options)
    caplog.set_level("DEBUG")
    outcome = pull_execute(import_id=data_import.pk,
                           sealed_credentials=pull_credentials_seal({"token": bad, "account_id": "424242"}))
    data_import.refresh_from_db()
    assert outcome.status == "failed" and "cannot be sent" in data_import.status_message
    assert "unexpected error" not in data_import.status_message and bad not in data_import.status_message
    assert fake_harvest.requests == []
    logged = [record.getMessage() + str(record.exc_info or "") + str(record.exc_text or "")
              for record in caplog.records]
    assert not any(bad in text or "LEAKME" in text or "tökén" in text for text in logged)


@pytest.mark.parametrize("header", ["1e12", "inf", "soon", "-5"])
def test_toggl_402_with_a_nonsense_reset_waits_a_sane_time_and_never_stays_processing(
    alice, fake_toggl, sleeps, django_capture_on_commit_callbacks, header
):
    seven_entries(fake_toggl)
    fake_toggl.script(REPORT, [Canned(status=402, headers={"X-Toggl-Quota-Resets-In": header}, body="quota")])
    data_import = run_toggl(alice, django_capture_on_commit_callbacks)
    assert data_import.status == "waiting", data_import.status_message
    minutes = 1 if header == "-5" else 60
    assert data_import.status_message.endswith(f"resuming in {minutes} min)")
    assert sleeps == []


def test_toggl_402_without_a_reset_header_waits_one_hour(alice, fake_toggl, sleeps, monkeypatch,
                                                         django_capture_on_commit_callbacks):
    monkeypatch.setattr(pulls, "clock", lambda: FETCH_CLOCK)
    seven_entries(fake_toggl)
    fake_toggl.script(REPORT, [Canned(status=402, body="quota")])
    data_import = run_toggl(alice, django_capture_on_commit_callbacks)
    assert (data_import.status, data_import.status_message) == (
        "waiting", ("waiting for Toggl quota until 2024-12-16 04:15:28 UTC "
                    "(Toggl hourly API limit reached, resuming in 60 min)"))
    assert data_import.checkpoint["resume_at"] == "2024-12-16T04:15:28+00:00"
    assert sleeps == []


@pytest.mark.parametrize("retry_after, waited", [
    ("Mon, 16 Dec 2024 03:15:35 GMT", [7.0]),  # 7 s after the clock below
    ("Mon, 16 Dec 2024 03:15:00 GMT", [0.0]),  # already past
])
def test_harvest_429_waits_until_a_retry_after_date(alice, fake_harvest, sleeps, monkeypatch,
                                                    django_capture_on_commit_callbacks, retry_after, waited):
    monkeypatch.setattr(http_client, "wall_clock", FETCH_CLOCK.timestamp)
    fake_harvest.entries = [harvest_entry(1, "2024-03-04", hours=1.5)]
    fake_harvest.script("/v2/time_entries", [Canned(status=429, headers={"Retry-After": retry_after}, body="")])
    data_import = run_harvest(alice, django_capture_on_commit_callbacks)
    assert (data_import.status, data_import.created_records) == ("completed", 1)
    assert sleeps == waited
    assert len(fake_harvest.requests_to("/v2/time_entries")) == 2


def test_harvest_429_with_a_retry_after_date_hours_ahead_fails_instead_of_sleeping(
    alice, fake_harvest, sleeps, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(http_client, "wall_clock", FETCH_CLOCK.timestamp)
    fake_harvest.script("/v2/time_entries", [
        Canned(status=429, headers={"Retry-After": "Mon, 16 Dec 2024 05:15:28 GMT"}, body="")])
    data_import = run_harvest(alice, django_capture_on_commit_callbacks)
    assert (data_import.status, data_import.status_message) == (
        "failed", "Harvest asked to wait 120 min before the next request (more than 15 min); try again later.")
    assert sleeps == []


def test_harvest_429_with_a_retry_after_of_hours_fails_instead_of_sleeping(
    alice, fake_harvest, sleeps, django_capture_on_commit_callbacks
):
    fake_harvest.entries = [harvest_entry(1, "2024-03-01", hours=1)]
    fake_harvest.script("/v2/time_entries", [Canned(status=429, headers={"Retry-After": "100000"}, body="slow down")])
    data_import = run_harvest(alice, django_capture_on_commit_callbacks)
    assert (data_import.status, data_import.status_message) == (
        "failed", "Harvest asked to wait 1667 min before the next request (more than 15 min); try again later.")
    assert sleeps == []
    # Nothing is left behind that would block the next pull.
    assert run_harvest(alice, django_capture_on_commit_callbacks).status == "completed"


def endless_harvest_pages(fake, count: int, **announced) -> None:
    pages = []
    for n in range(count):
        body = {"time_entries": [], "per_page": 2, **announced,
                "links": {"next": f"{fake.url}/v2/time_entries?cursor=c{n}&per_page=2"}}
        pages.append(Canned(status=200, headers={"Content-Type": "application/json"}, body=json.dumps(body)))
    fake.script("/v2/time_entries", pages)


def test_harvest_pages_beyond_the_announced_total_stop_the_pull(
    alice, fake_harvest, sleeps, django_capture_on_commit_callbacks
):
    endless_harvest_pages(fake_harvest, 20, total_pages=2, total_entries=0)
    data_import = run_harvest(alice, django_capture_on_commit_callbacks)
    assert (data_import.status, data_import.status_message) == (
        "failed", "Harvest kept sending next pages (more than 3); stopped so that the pull ends.")
    assert len(fake_harvest.requests_to("/v2/time_entries")) == 4


def test_endless_pages_without_totals_stop_at_the_hard_maximum(
    alice, fake_harvest, fake_toggl, sleeps, settings, django_capture_on_commit_callbacks
):
    settings.PULL_MAX_PAGES = 5
    endless_harvest_pages(fake_harvest, 20)
    data_import = run_harvest(alice, django_capture_on_commit_callbacks)
    assert (data_import.status, data_import.status_message) == (
        "failed", "Harvest kept sending next pages (more than 5); stopped so that the pull ends.")
    assert len(fake_harvest.requests_to("/v2/time_entries")) == 6

    fake_toggl.script(REPORT, [Canned(status=200, headers={"Content-Type": "application/json",
                                                          "X-Next-ID": str(n), "X-Next-Row-Number": str(n)},
                                      body="[]") for n in range(1, 21)])
    data_import = run_toggl(alice, django_capture_on_commit_callbacks)
    assert (data_import.status, data_import.status_message) == (
        "failed", "Toggl kept sending next pages (more than 5); stopped so that the pull ends.")
    assert len(fake_toggl.requests_to(REPORT)) == 6


def test_catalog_pages_that_repeat_stop_the_pull_before_anything_is_written(
    alice, fake_toggl, sleeps, django_capture_on_commit_callbacks
):
    fake_toggl.projects = [{"id": 10_000 + n, "name": f"Project {n}", "active": True} for n in range(200)]
    fake_toggl.catalog_paging = "ignores_page"
    data_import = run_toggl(alice, django_capture_on_commit_callbacks)
    assert (data_import.status, data_import.status_message) == (
        "failed", "Toggl sent the same page of projects again (page 2); stopped so that the pull ends.")
    projects = fake_toggl.requests_to("/api/v9/workspaces/2000002/projects")
    assert [r.query["page"] for r in projects] == ["1", "2"]
    assert Project.objects.count() == 0


def test_endless_catalog_pages_stop_at_the_hard_maximum(
    alice, fake_toggl, sleeps, settings, django_capture_on_commit_callbacks
):
    settings.PULL_MAX_PAGES = 3
    fake_toggl.catalog_paging = "endless"
    data_import = run_toggl(alice, django_capture_on_commit_callbacks)
    assert (data_import.status, data_import.status_message) == (
        "failed", "Toggl kept sending pages of projects (more than 3); stopped so that the pull ends.")
    assert len(fake_toggl.requests_to("/api/v9/workspaces/2000002/projects")) == 4
    assert Project.objects.count() == 0


def test_a_catalog_larger_than_one_write_batch_is_written_whole(
    alice, fake_toggl, sleeps, django_capture_on_commit_callbacks
):
    fake_toggl.projects = [{"id": 10_000 + n, "name": f"Project {n:03}", "active": n % 2 == 0} for n in range(450)]
    data_import = run_toggl(alice, django_capture_on_commit_callbacks)
    assert data_import.status == "completed", data_import.status_message
    assert [r.query["page"] for r in fake_toggl.requests_to("/api/v9/workspaces/2000002/projects")] == ["1", "2", "3"]
    assert (Project.objects.count(), Project.objects.filter(archived=True).count()) == (450, 225)
    assert Project.objects.get(name="Project 449").source_id == "10449"
