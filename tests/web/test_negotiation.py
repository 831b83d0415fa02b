"""Accept-Language: the visitor's first language the service speaks, region or not."""

from __future__ import annotations

import pytest
from werkzeug.datastructures import LanguageAccept
from werkzeug.http import parse_accept_header

from eta.web.i18n import negotiate

SUPPORTED = ("en", "de", "es", "fr")


@pytest.mark.parametrize(
    ("header", "language"),
    [
        ("de-CH, fr;q=0.5", "de"),  # werkzeug's best_match alone answers fr here
        ("de-AT, en;q=0.8", "de"),
        ("es-419, es;q=0.9, en;q=0.8", "es"),
        ("es-MX", "es"),
        ("fr-CA, en;q=0.9", "fr"),
        ("it, de;q=0.7, es;q=0.9", "es"),
        ("en-GB, de;q=0.9", "en"),
        ("de;q=0, es", "es"),
        ("it, pt", "en"),
        ("*", "en"),
        ("", "en"),
    ],
)
def test_the_first_spoken_language_wins(header, language):
    assert negotiate(parse_accept_header(header, LanguageAccept), SUPPORTED) == language


@pytest.mark.parametrize(("header", "language"), [("de-CH, fr;q=0.5", "de"), ("es-AR", "es")])
def test_pages_and_problems_follow_the_regional_header(client, header, language):
    page = client.get("/", headers={"Accept-Language": header}).get_data(as_text=True)
    assert f'<html lang="{language}"' in page
    problem = client.post(
        "/api/v1/applications/status", json={}, headers={"Accept-Language": header}
    )
    assert problem.headers["Content-Language"] == language
