"""Every v1 error has the API's shape: auth errors as the original's token decorator
answered, everything else `{"success": false, "error": …}`, never DRF's `{"detail": …}`."""

import pytest

UNAUTHORIZED = {
    "error": "Authentication required",
    "message": "Send a valid API token as 'Authorization: Bearer tt_…'.",
    "error_code": "unauthorized",
}


@pytest.mark.parametrize("url", ["/api/v1/time-entries/import-csv", "/api/v1/import/harvest",
                                 "/api/v1/import/toggl"])
def test_no_token_is_the_same_401_everywhere(client, db, url):
    response = client.post(url, {"token": "x"}, content_type="application/json")
    assert (response.status_code, response.json()) == (401, UNAUTHORIZED)


@pytest.mark.parametrize("url", ["/api/v1/time-entries/import-csv", "/api/v1/import/harvest"])
def test_a_body_that_is_not_json_is_a_400_in_the_api_shape(client, alice, api_token, url):
    raw = api_token(alice, "write:time_entries")
    response = client.post(url, '{"csv": ', content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert (response.status_code, response.json()) == (400, {
        "success": False, "error": "JSON parse error - Expecting value: line 1 column 9 (char 8)"})
