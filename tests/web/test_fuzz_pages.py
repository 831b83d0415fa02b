"""Every HTML page, fed what attackers send, answers 4xx or a page: never a 5xx (issue 13).

The routes come from the app's url_map (the JSON API is left to tests/api/test_schemathesis.py).
Each is requested with every method it takes, as each role: a traveller (anonymous), an officer,
a supervisor, an admin and carrier staff. Every form field any of the role's pages names, and
the same names as query parameters, carry one hostile value: NUL, a lone surrogate (sent as the
bytes an attacker can send), a right-to-left override, integers far past any column, 10,000
characters, or hypothesis' own text. Path parameters are filled the same way (integers at and
past the bound of ``<int:...>``). The budget is a few examples a role, seconds in all.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from urllib.parse import quote, urlencode

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eta.web.edge import MAX_ID
from tests.officer.conftest import (  # noqa: F401  (fixtures)
    Staff,
    make_case,
    make_officer,
    password_hash,
    session_for,
)

HOSTILE = [
    "\x00",
    "a\x00b",
    "\ud800",
    "x\udfffy",
    "\u202eevil.exe",
    str(2**31),
    str(2**63),
    "9" * 40,
    "-" + "9" * 30,
    "A" * 10_000,
    "\u202e" + "\x00" * 3 + "\ud83d",
]
values = st.sampled_from(HOSTILE) | st.text(max_size=50)
PATH_INTEGERS = [0, 1, MAX_ID, MAX_ID + 1, 10**30]
_NAMES = re.compile(r'name="([^"]+)"')
_PARAMETER = re.compile(r"<(?:(\w+):)?(\w+)>")
# Query names the views read (search, filters, paging) besides the forms' own field names.
QUERY_NAMES = {"q", "check", "before", "after", "action", "page", "status", "next", "lang"}
CARRIER_PASSWORD = "correct horse battery"


def _encoded(value: str) -> str:
    """``value`` percent-encoded as UTF-8; a lone surrogate goes as the bytes that would hold it."""
    return quote(value.encode("utf-8", "surrogatepass"), safe="")


def _routes(app: Flask) -> list[tuple[str, str]]:
    """Every (rule, method) of the HTML pages; sign-outs last, so the session lasts the sweep."""
    found = {
        (rule.rule, method)
        for rule in app.url_map.iter_rules()
        if not rule.rule.startswith(("/api/", "/static/"))
        # A readiness probe answers 503 when a dependency is not ready: that is its job.
        and rule.rule != "/readyz"
        for method in sorted((rule.methods or set()) & {"GET", "POST"})
    }
    return sorted(found, key=lambda route: ("sign-out" in route[0], route))


def _path(rule: str, value: str, number: int) -> str:
    def fill(match: re.Match[str]) -> str:
        converter = match.group(1)
        return str(number) if converter == "int" else _encoded(value)

    return _PARAMETER.sub(fill, rule)


def _field_names(client: FlaskClient, routes: list[tuple[str, str]]) -> set[str]:
    """The names of every field on the pages this client can open."""
    names = set(QUERY_NAMES)
    for rule, method in routes:
        if method == "GET" and "<" not in rule:
            page = client.get(rule)
            if page.mimetype == "text/html":
                names.update(_NAMES.findall(page.get_data(as_text=True)))
            page.close()
    names.discard("csrf_token")  # CSRF is switched off so the values reach the views
    return names


@pytest.fixture
def open_forms(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Forms without CSRF tokens and no rate limits, so hostile values reach every view."""
    from eta.extensions import limiter

    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", False)
    limiter.enabled = False
    yield
    limiter.enabled = True


@pytest.fixture
def carrier_staff(app: Flask) -> Callable[[FlaskClient], FlaskClient]:
    """Sign a client in at the carrier desk as a real staff member (CLI-made, as operators do)."""
    runner = app.test_cli_runner()
    assert runner.invoke(args=["carrier", "create", "Fuzz Air"]).exit_code == 0
    added = runner.invoke(
        args=["carrier", "add-user", "Fuzz Air", "desk@fuzz.example"], input=CARRIER_PASSWORD
    )
    assert added.exit_code == 0, added.output

    def sign_in(client: FlaskClient) -> FlaskClient:
        answer = client.post(
            "/carrier/sign-in", data={"email": "desk@fuzz.example", "password": CARRIER_PASSWORD}
        )
        assert answer.status_code == 302, answer.get_data(as_text=True)
        return client

    return sign_in


ROLES = ["traveller", "officer", "supervisor", "admin", "carrier"]


@pytest.mark.parametrize("role", ROLES)
def test_no_page_answers_5xx_to_hostile_input(
    app: Flask,
    role: str,
    open_forms: None,
    make_officer: Callable[..., Staff],  # noqa: F811
    make_case: Callable[..., int],  # noqa: F811
    carrier_staff: Callable[[FlaskClient], FlaskClient],
) -> None:
    """Every route, every method, every field and query parameter: 4xx or a page, never 5xx."""
    make_case()  # ids 1 exist: the views get past their look-ups
    staff = make_officer(role) if role in ("officer", "supervisor", "admin") else None

    def client() -> FlaskClient:
        fresh = app.test_client()
        if staff is not None:
            return session_for(app, fresh, staff)
        if role == "carrier":
            return carrier_staff(fresh)
        return fresh

    routes = _routes(app)
    names = sorted(_field_names(client(), routes))
    failures: list[str] = []

    @given(value=values, number=st.sampled_from(PATH_INTEGERS))
    @settings(
        max_examples=4,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def sweep(value: str, number: int) -> None:
        visitor = client()
        pairs = urlencode([(name, value) for name in names], errors="surrogatepass")
        for rule, method in routes:
            path = _path(rule, value, number)
            if method == "GET":
                answer = visitor.get(path, query_string=pairs)
            else:
                answer = visitor.post(
                    path, data=pairs, content_type="application/x-www-form-urlencoded"
                )
            if answer.status_code >= 500:
                failures.append(f"{role} {method} {rule} {value[:20]!r} -> {answer.status_code}")
            answer.close()  # files sent as they are (the service worker) stay open otherwise

    sweep()
    assert not failures, "\n".join(sorted(set(failures)))


def test_the_sweep_reaches_the_views(app: Flask, open_forms: None) -> None:
    """A sanity check of the harness: the routes are found and a form field reaches its view."""
    routes = _routes(app)
    assert ("/officer/cases/<int:application_id>", "GET") in routes
    assert ("/status", "POST") in routes
    assert _path("/officer/cases/<int:application_id>", "x", 7) == "/officer/cases/7"
    answer = app.test_client().post(
        "/status", data=urlencode({"reference": "\u202e" * 3}), content_type=_FORM
    )
    assert answer.status_code in (200, 400, 422)


_FORM = "application/x-www-form-urlencoded"
