import pytest
from django.test import Client as HttpClient

from timetracker.models import Client

pytestmark = pytest.mark.django_db


def test_anonymous_visitors_go_to_the_portal_login(client):
    response = client.get("/portal/reports/?days=7")

    assert response.status_code == 302
    assert response["Location"] == "/portal/login/?next=/portal/reports/%3Fdays%3D7"


def test_normal_users_get_403_on_portal_pages(alice_client):
    assert alice_client.get("/portal/").status_code == 403
    assert alice_client.get("/portal/reports/?format=csv").status_code == 403


def test_contact_of_an_archived_client_gets_403(dana_client, acme):
    Client.objects.filter(pk=acme.pk).update(status=Client.Status.ARCHIVED)

    assert dana_client.get("/portal/").status_code == 403


def test_portal_contacts_cannot_reach_the_application(dana_client):
    home = dana_client.get("/")
    assert (home.status_code, home["Location"]) == (302, "/portal/")
    assert dana_client.get("/import-export/")["Location"] == "/portal/"
    assert dana_client.get("/admin/")["Location"] == "/portal/"
    api = dana_client.get("/api/v1/time-entries/")
    assert (api.status_code, api.json()) == (403, {"error": "Portal contacts have no access to this API"})


def test_login_with_the_portal_form(dana, acme):
    browser = HttpClient(enforce_csrf_checks=True)
    page = browser.get("/portal/login/?next=/portal/%3Fdays%3D7")
    assert page.status_code == 200
    token = page.cookies["csrftoken"].value

    response = browser.post(
        "/portal/login/",
        {"username": "dana", "password": "dana-password", "next": "/portal/?days=7", "csrfmiddlewaretoken": token},
    )

    assert (response.status_code, response["Location"]) == (302, "/portal/?days=7")
    assert browser.get("/portal/?days=7").status_code == 200


def test_login_needs_the_csrf_token(dana):
    browser = HttpClient(enforce_csrf_checks=True)

    response = browser.post("/portal/login/", {"username": "dana", "password": "dana-password"})

    assert response.status_code == 403


def test_login_refuses_users_without_portal_access(client, alice):
    response = client.post("/portal/login/", {"username": "alice", "password": "alice-password"})

    assert response.status_code == 200
    assert "This account has no client portal access." in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_login_does_not_redirect_outside_the_portal(client, dana):
    response = client.post(
        "/portal/login/", {"username": "dana", "password": "dana-password", "next": "https://evil.example/"}
    )

    assert response["Location"] == "/portal/"


def test_logout(dana_client):
    assert dana_client.get("/portal/logout/").status_code == 405

    response = dana_client.post("/portal/logout/")

    assert response["Location"] == "/portal/login/"
    assert dana_client.get("/portal/").status_code == 302
