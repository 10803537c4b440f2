"""The export panel: on /exports/ now, and includable in the Import/Export page."""

from django.template import engines
from django.test import RequestFactory

from .factories import at, entry


def test_exports_page_for_a_user(alice, login):
    entry(alice, start=at("2024-01-01 09:00"), end=at("2024-01-01 10:00"), client="Acme", task="Design", tags=("web",))

    page = login(alice).get("/exports/").content.decode()

    assert "Export as JSON" in page and "Export as ZIP" in page
    assert '<option value="csv">CSV</option><option value="xlsx">XLSX</option><option value="json">JSON</option>' in page
    assert ">Acme</option>" in page and ">Website (Acme)</option>" in page and ">web</option>" in page
    assert 'data-history-url="/api/export/history"' in page
    assert "all users" not in page  # only admins choose other users


def test_exports_page_for_an_admin_offers_users(alice, bob, charlie, login):
    page = login(charlie).get("/exports/").content.decode()

    assert '<option value="all">all users</option>' in page
    assert '<option value="alice">alice</option>' in page and '<option value="bob">bob</option>' in page
    assert '<option value="charlie">' not in page  # "me" already stands for the admin


def test_anonymous_is_sent_to_login(client, db):
    response = client.get("/exports/")
    assert (response.status_code, response["Location"]) == (302, "/accounts/login/?next=/exports/")


def test_panel_renders_inside_another_page_with_only_the_request(alice):
    request = RequestFactory().get("/import-export/")
    request.user = alice
    template = engines["django"].from_string('<main>{% include "exports/export_panel.html" %}</main>')

    html = template.render({}, request)

    assert '<section id="export-panel"' in html and "Export as ZIP" in html
    assert 'data-gdpr-url="/api/export/gdpr"' in html
