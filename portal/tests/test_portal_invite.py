import re

import pytest
from django.contrib.auth import get_user_model
from django.core import mail

pytestmark = pytest.mark.django_db


def invite_url(client):
    return f"/admin/timetracker/client/{client.pk}/invite-portal-contact/"


def test_admin_invites_a_contact_who_sets_a_password_and_logs_in(charlie_client, client, acme):
    assert invite_url(acme).encode() in charlie_client.get(f"/admin/timetracker/client/{acme.pk}/change/").content
    assert "Invite a portal contact for Acme" in charlie_client.get(invite_url(acme)).content.decode()

    response = charlie_client.post(invite_url(acme), {"email": "Erin@Acme.example", "first_name": "Erin"}, follow=True)

    erin = get_user_model().objects.get(username="erin@acme.example")
    assert (erin.email, erin.first_name, erin.is_staff, erin.has_usable_password()) == (
        "erin@acme.example",
        "Erin",
        False,
        False,
    )
    assert erin.profile.portal_client == acme
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["erin@acme.example"]
    assert mail.outbox[0].subject == "Your Acme time-tracking portal"
    link = re.search(r"http://testserver(/portal/set-password/[^/]+/[^/]+/)", mail.outbox[0].body).group(1)
    assert f"http://testserver{link}" in response.content.decode()  # shown to the admin too

    client.logout()
    form_page = client.get(link, follow=True)
    assert form_page.status_code == 200 and form_page.context["validlink"]
    done = client.post(
        form_page.redirect_chain[-1][0],
        {"new_password1": "a-long-portal-pass", "new_password2": "a-long-portal-pass"},
    )
    assert done["Location"] == "/portal/set-password/done/"

    login = client.post("/portal/login/", {"username": "erin@acme.example", "password": "a-long-portal-pass"})
    assert login["Location"] == "/portal/"
    assert client.get("/portal/").status_code == 200
    assert client.get(link, follow=True).context["validlink"] is False  # the link works once


def test_an_email_of_another_user_cannot_be_invited(charlie_client, acme, alice):
    response = charlie_client.post(invite_url(acme), {"email": "alice"})
    assert response.status_code == 200
    assert "Enter a valid email address." in response.content.decode()

    alice.username = "alice@example.com"
    alice.save()
    response = charlie_client.post(invite_url(acme), {"email": "alice@example.com"})

    assert "A user with this e-mail exists and is not a portal contact of this client." in response.content.decode()
    alice.refresh_from_db()
    assert alice.profile.portal_client is None
    assert mail.outbox == []


def test_only_admins_invite(alice_client, acme):
    response = alice_client.post(invite_url(acme), {"email": "x@acme.example"})

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")
    assert not get_user_model().objects.filter(username="x@acme.example").exists()
