"""Bad input never makes a 500: problem+json under /api/, a helpful HTML page elsewhere."""

from __future__ import annotations

import json

import pytest

from config.settings import MAX_REQUEST_BYTES

STATUS_URL = "/api/v1/applications/status"
PROBLEM = "application/problem+json"


def _assert_problem(response, status):
    assert response.status_code == status, response.get_data(as_text=True)[:300]
    assert response.mimetype == PROBLEM
    body = response.get_json(force=True)
    assert body["status"] == status
    assert body["title"]
    assert "type" in body
    return body


@pytest.mark.parametrize(
    ("data", "content_type", "status"),
    [
        ("{not json", "application/json", 400),
        ('{"reference": "ETA-', "application/json", 400),
        ("", "application/json", 400),
        (b"\xff\xfe\x00garbage", "application/json", 400),
        ('{"a": NaN}', "application/json", 400),
        ("[1, 2, 3]", "application/json", 422),
        ('"just a string"', "application/json", 422),
        ("null", "application/json", 422),
        ("reference=ETA", "application/x-www-form-urlencoded", 415),
        ("{}", "text/plain", 415),
        ("[" * 100_000 + "]" * 100_000, "application/json", 400),
    ],
    ids=[
        "malformed",
        "truncated",
        "empty",
        "not-utf8",
        "nan",
        "array",
        "string",
        "null",
        "form-encoded",
        "text-plain",
        "deeply-nested",
    ],
)
def test_malformed_bodies_get_a_problem_document(client, data, content_type, status):
    response = client.post(STATUS_URL, data=data, content_type=content_type)
    _assert_problem(response, status)


def test_wrong_types_get_field_errors(client):
    response = client.post(
        STATUS_URL, json={"reference": 12, "passport_number": ["x"], "date_of_birth": "12/08/1974"}
    )
    body = _assert_problem(response, 422)
    assert body["errors"]["reference"] == ["Must be a string."]
    assert body["errors"]["passport_number"] == ["Must be a string."]
    assert "YYYY-MM-DD" in body["errors"]["date_of_birth"][0]


def test_missing_fields_are_named_in_the_users_words(client):
    body = _assert_problem(client.post(STATUS_URL, json={}), 422)
    assert body["errors"]["reference"] == ["Enter your application reference."]
    assert body["errors"]["passport_number"] == ["Enter your passport number."]
    assert body["errors"]["date_of_birth"] == ["Enter your date of birth."]


def test_a_body_over_the_limit_is_refused(client):
    big = json.dumps({"reference": "x" * (MAX_REQUEST_BYTES + 10)})
    _assert_problem(client.post(STATUS_URL, data=big, content_type="application/json"), 413)


def test_unknown_api_route_and_method(client):
    _assert_problem(client.get("/api/v1/nothing-here"), 404)
    body = _assert_problem(client.get(STATUS_URL), 405)
    assert "not allowed" in body["title"].lower()


def test_unknown_page_is_an_html_404_with_a_way_back(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert "Page not found" in page
    assert 'href="/"' in page


def test_unknown_application_and_wrong_details_answer_the_same(client):
    body = _assert_problem(
        client.post(
            STATUS_URL,
            json={
                "reference": "ETA-2345-6789-AB",
                "passport_number": "X1",
                "date_of_birth": "1970-01-01",
            },
        ),
        404,
    )
    assert body["detail"] == "We could not find an application with those details."


def test_security_headers_are_on_every_page(client):
    response = client.get("/")
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Cache-Control"] == "no-store"
