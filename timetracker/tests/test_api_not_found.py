"""Unknown or malformed addresses under /api/ answer the API's JSON 404, never Django's HTML page."""

import pytest

NOT_FOUND = {"success": False, "error": "Not found"}


@pytest.mark.parametrize(
    "url",
    ["/api/v1/imports/abc", "/api/import/status/abc", "/api/v1/clients/imports/1x", "/api/v1/nothing-here",
     "/api/import/status/", "/api/"],
)
@pytest.mark.parametrize("debug", [False, True])
def test_unknown_api_addresses_answer_json_404(alice_client, settings, url, debug):
    settings.DEBUG = debug
    response = alice_client.get(url)
    assert (response.status_code, response["Content-Type"], response.json()) == (404, "application/json", NOT_FOUND)


def test_a_post_to_an_unknown_api_address_is_a_404_not_a_csrf_403(db):
    from django.test import Client

    response = Client(enforce_csrf_checks=True).post("/api/v1/imports/abc", {"x": "1"})
    assert (response.status_code, response.json()) == (404, NOT_FOUND)


def test_other_addresses_keep_the_html_page(alice_client):
    response = alice_client.get("/no-such-page/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")
