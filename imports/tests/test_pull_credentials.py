"""Requirement 5: tokens never appear in the import record, the logs, errors, the history
page or the broker message; the task receives them encrypted."""

import base64
import json
import logging
import os

import pytest
import redis
from django.conf import settings
from django.forms.models import model_to_dict

from imports.models import DataImport
from imports.pulls import (
    pull_credentials_open,
    pull_credentials_seal,
    pull_execute,
    pull_start,
)
from timetracker.celery import app as celery_app

from .fake_harvest import HARVEST_TOKEN, harvest_entry
from .fake_toggl import TOGGL_TOKEN

pytest_plugins = ["imports.tests.pull_fixtures"]

WRONG_TOKEN = "wrong-token-that-must-not-leak-987"


def record_text(data_import: DataImport) -> str:
    return json.dumps(model_to_dict(data_import), default=str)


def test_tokens_appear_nowhere_after_successful_and_failed_pulls(
    alice_client, alice, fake_toggl, fake_harvest, caplog, django_capture_on_commit_callbacks
):
    caplog.set_level(logging.DEBUG)
    fake_toggl.add_entry(entry_id=1, start="2024-01-02T08:00:00+00:00", stop="2024-01-02T09:00:00+00:00")
    fake_harvest.entries = [harvest_entry(2, "2024-01-03", hours=1)]
    pages = []
    for url, body in [
        ("/import-export/toggl/", {"token": TOGGL_TOKEN, "workspace_id": "2000002"}),
        ("/import-export/toggl/", {"token": WRONG_TOKEN, "workspace_id": "2000002"}),
        ("/import-export/harvest/", {"token": HARVEST_TOKEN, "account_id": "424242"}),
        ("/import-export/harvest/", {"token": WRONG_TOKEN, "account_id": "424242"}),
    ]:
        with django_capture_on_commit_callbacks(execute=True):
            pages.append(alice_client.post(url, {**body, "start": "2024-01-01", "end": "2024-01-31"}))
    assert [p.status_code for p in pages] == [302] * 4
    imports = list(DataImport.objects.order_by("pk"))
    assert [(i.import_type, i.status) for i in imports] == [
        ("toggl", "completed"), ("toggl", "failed"), ("harvest", "completed"), ("harvest", "failed")]
    assert [i.status_message for i in imports if i.status == "failed"] == [
        "Toggl rejected the API token", "Harvest rejected the token or account id"]
    history = alice_client.get("/import-export/toggl/").content.decode() + \
        alice_client.get("/import-export/harvest/").content.decode()
    for secret in (TOGGL_TOKEN, HARVEST_TOKEN, WRONG_TOKEN):
        for data_import in imports:
            assert secret not in record_text(data_import)
        assert secret not in caplog.text
        assert secret not in history
    assert "Toggl GET /api/v9/me -> 200" in caplog.text  # the logs were captured


def test_a_form_error_does_not_send_the_token_back(alice_client, fake_toggl):
    response = alice_client.post("/import-export/toggl/", {"token": TOGGL_TOKEN, "workspace_id": "x",
                                                           "start": "2024-01-01", "end": "2024-01-31"})
    assert response.status_code == 400
    page = response.content.decode()
    assert 'workspace_id: &quot;x&quot; is not a Toggl workspace id.' in page
    assert TOGGL_TOKEN not in page


@pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs the Redis that scripts/test.sh starts")
def test_the_broker_message_carries_the_token_encrypted_only(alice, fake_toggl, django_capture_on_commit_callbacks):
    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    celery_app.control.purge()
    celery_app.conf.task_always_eager = False  # really publish to Redis; no worker consumes it
    try:
        with django_capture_on_commit_callbacks(execute=True):
            data_import = pull_start(user=alice, source="toggl", params={
                "token": TOGGL_TOKEN, "workspace_id": "2000002", "start": "2024-01-01", "end": "2024-01-31"})
        messages = broker.lrange("celery", 0, -1)
    finally:
        celery_app.conf.task_always_eager = True
        celery_app.control.purge()
    assert len(messages) == 1
    message = json.loads(messages[0])
    assert message["headers"]["task"] == "imports.pull_tasks.toggl_pull"
    assert TOGGL_TOKEN.encode() not in messages[0]
    args = json.loads(base64.b64decode(message["body"]))[0]
    assert args[0] == data_import.pk
    assert pull_credentials_open(args[1]) == {"token": TOGGL_TOKEN}


def test_sealed_credentials_cannot_be_altered(alice):
    sealed = pull_credentials_seal({"token": TOGGL_TOKEN})
    assert TOGGL_TOKEN not in sealed
    data_import = DataImport.objects.create(owner=alice, import_type="toggl", options={
        "start": "2024-01-01", "end": "2024-01-31", "workspace_id": "1"})
    outcome = pull_execute(import_id=data_import.pk, sealed_credentials=sealed[:-4] + "AAAA")
    data_import.refresh_from_db()
    assert outcome.status == "failed"
    assert data_import.status_message == (
        "The import's credentials could not be read (expired or altered); start the import again.")
