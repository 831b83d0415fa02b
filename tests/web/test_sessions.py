"""Sessions: pages keep the language choice in a cookie; the JSON API never reads or sets one."""

from __future__ import annotations


def test_a_page_keeps_the_language_choice_in_a_session_cookie(app, client):
    response = client.get("/?lang=fr")
    assert response.status_code == 200
    cookie = app.config["SESSION_COOKIE_NAME"] + "="
    assert any(header.startswith(cookie) for header in response.headers.getlist("Set-Cookie"))
    assert '<html lang="fr"' in client.get("/").get_data(as_text=True)  # read back


def test_the_api_sets_no_cookie_even_when_asked_for_a_language(client):
    response = client.post("/api/v1/applications/status?lang=fr", json={})
    assert response.status_code in (404, 422)
    assert response.headers.getlist("Set-Cookie") == []
    carrier = client.post("/api/v1/carrier/verify?lang=fr", json={"token": "x"})
    assert carrier.status_code == 401
    assert carrier.headers.getlist("Set-Cookie") == []
