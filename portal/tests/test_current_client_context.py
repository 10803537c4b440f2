"""The `current_client` context processor: no query during a restore, no failure on a
database error."""

import pytest
from django.contrib.auth import get_user_model
from django.db import connection

pytestmark = pytest.mark.django_db


def test_login_page_shows_the_signed_in_client(dana_client):
    response = dana_client.get("/portal/login/")

    assert "You are logged in for Acme." in response.content.decode()


def test_no_query_for_the_client_during_a_restore(dana_client, restore_in_progress, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = dana_client.get("/portal/login/")

    assert response.status_code == 200
    assert "You are logged in for" not in response.content.decode()


def test_a_database_error_renders_the_page_without_a_client(dana_client, dana):
    # A real failing query: the client table is gone (inside this test's transaction), as
    # while a restore replaces it.
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE timetracker_client RENAME TO timetracker_client_away")

    response = dana_client.get("/portal/login/")

    assert response.status_code == 200
    assert "You are logged in for" not in response.content.decode()
    assert 'name="username"' in response.content.decode()
    # The failed query was rolled back: the connection is still usable.
    assert get_user_model().objects.filter(username="dana").count() == 1


def test_pages_that_do_not_show_the_client_make_no_query_for_it(alice_client, alice, django_assert_num_queries):
    # session + user + the portal-contact check of the middleware; nothing for the client.
    with django_assert_num_queries(3):
        response = alice_client.get("/")

    assert response.status_code == 200
