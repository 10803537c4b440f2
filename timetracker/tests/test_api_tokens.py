import re
from datetime import UTC, datetime
from io import StringIO
from types import SimpleNamespace

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from imports.models import DataImport
from timetracker import authentication
from timetracker.models import ApiToken, api_token_digest


def test_command_prints_token_once_and_stores_only_its_hash(alice):
    out = StringIO()
    call_command("api_token_create", "alice", "--scopes", "read:time_entries,write:time_entries", stdout=out, stderr=StringIO())
    raw = out.getvalue().strip()
    assert raw.startswith("tt_")
    token = ApiToken.objects.get(owner=alice)
    assert token.token_hash == api_token_digest(raw)
    assert raw not in (token.token_hash, token.prefix)
    assert token.scopes == ["read:time_entries", "write:time_entries"]


def test_command_rejects_unknown_scope(alice):
    with pytest.raises(CommandError, match="Unknown scope\\(s\\): read:everything"):
        call_command("api_token_create", "alice", "--scopes", "read:everything", stdout=StringIO())


@pytest.mark.parametrize(
    "held, required, granted",
    [
        (["write:time_entries"], "write:time_entries", True),
        (["read:time_entries"], "write:time_entries", False),
        (["write:*"], "write:time_entries", True),
        (["write:*"], "read:time_entries", False),
        (["*"], "read:mileage", True),
        (["admin:all"], "write:clients", True),
    ],
)
def test_scope_wildcards(held, required, granted):
    assert ApiToken(scopes=held).has_scope(required) is granted


def test_tokens_page_shows_new_token_once_and_lists_prefix(alice_client, alice):
    response = alice_client.post(
        "/account/tokens/", {"name": "laptop", "scopes": ["read:time_entries"]}
    )
    assert response.status_code == 200
    raw = response.context["new_raw_token"]
    assert raw.encode() in response.content
    token = ApiToken.objects.get(owner=alice, name="laptop")
    assert token.token_hash == api_token_digest(raw)
    listing = alice_client.get("/account/tokens/")
    assert raw.encode() not in listing.content
    assert f"tt_{token.prefix}".encode() in listing.content


def test_revoked_token_is_marked(alice_client, alice, api_token):
    api_token(alice, "read:time_entries", name="old")
    token = ApiToken.objects.get(name="old")
    alice_client.post("/account/tokens/", {"revoke": token.pk})
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert token.is_usable is False


def test_admin_adds_a_token_shown_once_that_authenticates(charlie_client, alice):
    response = charlie_client.post("/admin/timetracker/apitoken/add/", {
        "owner": alice.pk, "name": "ci", "scopes": ["read:time_entries"],
        "expires_at_0": "2030-01-31", "expires_at_1": "00:00:00",
    }, follow=True)
    assert response.status_code == 200
    shown = [str(message) for message in response.context["messages"]]
    raw = re.search(r"tt_[A-Za-z0-9_-]{43}", shown[0])[0]
    assert shown[0] == f"The new token is {raw} — copy it now: it is stored hashed and will not be shown again."
    assert response.content.count(raw.encode()) == 1
    token = ApiToken.objects.get()
    assert (token.owner, token.name, token.scopes, token.prefix, token.token_hash, token.expires_at) == (
        alice, "ci", ["read:time_entries"], raw[3:11], api_token_digest(raw), datetime(2030, 1, 31, tzinfo=UTC))

    data_import = DataImport.objects.create(owner=alice, import_type="csv")
    api = Client().get(f"/api/v1/imports/{data_import.pk}", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert (api.status_code, api.json()["id"]) == (200, data_import.pk)

    change_page = charlie_client.get(f"/admin/timetracker/apitoken/{token.pk}/change/")
    assert change_page.status_code == 200
    assert raw.encode() not in change_page.content and token.token_hash.encode() in change_page.content
    assert raw.encode() not in charlie_client.get("/admin/timetracker/apitoken/").content


def test_hourly_rate_limit_is_429_with_retry_after_until_the_next_hour(client, alice, api_token, settings, monkeypatch):
    settings.API_TOKEN_RATE_LIMIT_PER_MINUTE = 100
    settings.API_TOKEN_RATE_LIMIT_PER_HOUR = 3
    hour = 1764806400  # 2025-12-04 00:00:00 UTC
    now = [hour]
    monkeypatch.setattr(authentication, "time", SimpleNamespace(time=lambda: now[0]))
    raw = api_token(alice, "read:time_entries")
    data_import = DataImport.objects.create(owner=alice, import_type="csv")

    def get_at(seconds: float):
        now[0] = hour + seconds
        return client.get(f"/api/v1/imports/{data_import.pk}", HTTP_AUTHORIZATION=f"Bearer {raw}")

    # One a minute: never over the minute limit, the hour's fourth is over the hour's.
    assert [get_at(s).status_code for s in (10, 70, 130)] == [200, 200, 200]
    limited = get_at(1000.25)
    assert (limited.status_code, limited["Retry-After"], limited.json()) == (429, "2600", {
        "error": "Rate limit exceeded",
        "message": "Too many requests for this token; retry in 2600 seconds.",
        "error_code": "rate_limited",
    })
    assert get_at(3600).status_code == 200


@pytest.mark.parametrize("days", ["0", "-5"])
def test_command_refuses_a_token_that_would_already_have_expired(alice, days):
    with pytest.raises(CommandError) as refused:
        call_command("api_token_create", "alice", "--scopes", "read:time_entries", "--expires-in-days", days,
                     stdout=StringIO(), stderr=StringIO())
    assert re.fullmatch(
        r"The expiry \d{4}-\d\d-\d\d \d\d:\d\d UTC is not in the future; choose a later time, or none\.",
        str(refused.value),
    )
    assert ApiToken.objects.count() == 0


def test_tokens_page_refuses_an_expiry_in_the_past_and_shows_no_token(alice_client):
    response = alice_client.post(
        "/account/tokens/", {"name": "past", "scopes": ["read:time_entries"], "expires_at": "2020-01-01 00:00"}
    )
    assert response.status_code == 200
    assert response.context["form"].errors == {
        "expires_at": ["The expiry 2020-01-01 00:00 UTC is not in the future; choose a later time, or none."]
    }
    assert response.context.get("new_raw_token") is None
    assert b"tt_" not in response.content
    assert ApiToken.objects.count() == 0


def test_admin_refuses_an_expiry_in_the_past(charlie_client, alice):
    response = charlie_client.post("/admin/timetracker/apitoken/add/", {
        "owner": alice.pk, "name": "ci", "scopes": ["read:time_entries"],
        "expires_at_0": "2020-01-01", "expires_at_1": "00:00:00",
    })
    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {
        "expires_at": ["The expiry 2020-01-01 00:00 UTC is not in the future; choose a later time, or none."]
    }
    assert ApiToken.objects.count() == 0
