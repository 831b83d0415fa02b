"""Logs: JSON lines with a request id that follows the work into its jobs, and no personal data
in any line across the main journeys (web and API submission, screening in a real worker
process, an officer's decision, a status look-up, carrier verification)."""

from __future__ import annotations

import copy
import datetime as dt
import json
import logging
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from eta.extensions import db
from eta.models import Application, ApplicationStatus, OutboxMessage
from eta.web.logs import JsonFormatter, TextFormatter
from tests.carrier.conftest import signing_key  # noqa: F401
from tests.factories import valid_payload
from tests.officer.conftest import (  # noqa: F401  (fixtures)
    csrf_token,
    make_officer,
    password_hash,
    sign_in,
)
from tests.traveller.test_journey import ANSWERS, post
from tests.web.test_metrics import BASELINE_LIST

ROOT = Path(__file__).resolve().parents[2]

# Two travellers whose every detail is distinctive enough to be found in any line that leaks it.
WEB = {"given": "Wilhelmina Clothilde", "surname": "Oyelaran-Tusk", "passport": "QX7345821"}
WEB_EMAIL = "wilhelmina.ot@example.org"
WEB_BIRTH = dt.date(1969, 3, 27)
API = {"given": "Bartholomew Ignatius", "surname": "Fairweather-Quill", "passport": "KT5519034"}
API_EMAIL = "bart.fq@example.net"
API_BIRTH = dt.date(1981, 11, 5)


def _personal_strings() -> list[str]:
    found: list[str] = []
    for person, email, birth in ((WEB, WEB_EMAIL, WEB_BIRTH), (API, API_EMAIL, API_BIRTH)):
        found += person["given"].split() + person["surname"].split("-") + [person["passport"]]
        found += [email, email.split("@")[0], birth.isoformat(), birth.strftime("%y%m%d")]
        found += [f"{birth.day} {birth.strftime('%B')} {birth.year}", birth.strftime("%d/%m/%Y")]
    return [text.lower() for text in found]


@pytest.fixture
def carrier_headers(app: Flask, tmp_path: Path) -> dict[str, str]:
    """A carrier's API key, and a watchlist loaded, each in an app context of its own.

    Not the `session` fixture: its app context would stay pushed through the test, and pages
    would share one `g` (and so one CSRF token) across the test's browsers.
    """
    from eta.accounts import create_carrier
    from eta.screening import lists

    path = tmp_path / "baseline.csv"
    path.write_text(BASELINE_LIST, encoding="utf-8")
    with app.app_context():
        lists.import_watchlist(db.session, source="BASELINE", fmt="csv", path=path, actor="test")
        _carrier, key = create_carrier(db.session, "Test Air")
        db.session.remove()
    return {"Authorization": f"Bearer {key}"}


class Collected(logging.Handler):
    """Every record of this process, formatted as the JSON lines an operator would read."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(JsonFormatter())
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def collected() -> Iterator[Collected]:
    """Collect every log record at DEBUG and above during the test."""
    handler = Collected()
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield handler
    root.removeHandler(handler)
    root.setLevel(level)


def _worker(env: dict[str, str]) -> list[str]:
    """Run a real `eta worker --burst` process at DEBUG; returns every line it printed."""
    done = subprocess.run(
        [str(Path(sys.executable).parent / "eta"), "worker", "--burst"],
        cwd=ROOT,
        env={**env, "ETA_LOG_LEVEL": "DEBUG", "ETA_LOG_FORMAT": "json", "PYTHONPATH": str(ROOT)},
        capture_output=True,
        timeout=240,
    )
    lines = (done.stdout + done.stderr).decode().splitlines()
    assert done.returncode == 0, "\n".join(lines[-30:])
    return [line for line in lines if line.strip()]


def _web_answers() -> dict[str, dict[str, str]]:
    answers = copy.deepcopy(ANSWERS)
    answers["passport"]["passport.number"] = WEB["passport"]
    answers["passport"]["passport.number_confirm"] = WEB["passport"]
    answers["personal"].update(
        {
            "given_names": WEB["given"],
            "surname": WEB["surname"],
            "date_of_birth-day": str(WEB_BIRTH.day),
            "date_of_birth-month": str(WEB_BIRTH.month),
            "date_of_birth-year": str(WEB_BIRTH.year),
        }
    )
    answers["contact"]["email"] = WEB_EMAIL
    return answers


def _api_payload() -> dict[str, Any]:
    payload = valid_payload(
        given_names=API["given"],
        surname=API["surname"],
        date_of_birth=API_BIRTH.isoformat(),
        email=API_EMAIL,
        answers={
            "criminal_conviction": True,
            "criminal_conviction_details": "Theft, 2009",
            "previous_refusal": False,
            "removed_or_deported": False,
            "conflict_zone_travel": False,
        },
    )
    payload["passport"] = {**payload["passport"], "number": API["passport"]}
    return payload


def test_the_main_journeys_log_json_lines_with_request_ids_and_no_personal_data(
    app: Flask,
    client: FlaskClient,
    collected: Collected,
    signing_key: None,  # noqa: F811
    carrier_headers: dict[str, str],
    make_officer: Any,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    test_env: dict[str, str],
):
    env = dict(os.environ)
    # The web journey, to its confirmation.
    client.get("/apply")
    for slug, data in _web_answers().items():
        assert post(client, f"/apply/{slug}", data).status_code == 302, slug
    assert post(client, "/apply/check", {}).status_code == 302
    # The API, behind a proxy eta trusts, which names the request.
    monkeypatch.setitem(app.config, "ETA_TRUSTED_PROXIES", 1)
    submitted = client.post(
        "/api/v1/applications", json=_api_payload(), headers={"X-Request-Id": "req-api-7f3a"}
    )
    assert submitted.status_code == 202, submitted.get_json()
    assert submitted.headers["X-Request-Id"] == "req-api-7f3a"
    reference = submitted.get_json()["reference"]
    # A client's own id is not believed without a trusted proxy: a new one is made.
    monkeypatch.setitem(app.config, "ETA_TRUSTED_PROXIES", 0)
    forged = client.get("/healthz", headers={"X-Request-Id": "forged-by-a-client"})
    assert forged.headers["X-Request-Id"] != "forged-by-a-client"
    with app.app_context():
        rows = db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
        assert rows and all(row.request_id for row in rows)  # the web journey's rows too
        api_rows = [row for row in rows if row.request_id == "req-api-7f3a"]
        assert len(api_rows) == 2  # its screening and its receipt carry the request's id

    # Screening (and the receipts, and the web traveller's issuance) in a real worker process.
    worker_lines = _worker(env)
    with app.app_context():
        api_application = db.session.scalar(
            select(Application).where(Application.reference == reference)
        )
        assert api_application is not None
        assert api_application.status == ApplicationStatus.REFERRED
        case_id = api_application.id
        web_application = db.session.scalar(select(Application).where(Application.channel == "web"))
        assert web_application is not None
        assert web_application.status == ApplicationStatus.APPROVED
    # The job that emailed the API traveller's receipt logged under the submission's id.
    receipt = [
        json.loads(line)
        for line in worker_lines
        if f"sent submitted notification for application {case_id}" in line
    ]
    assert receipt and all(line["request_id"] == "req-api-7f3a" for line in receipt)

    # An officer approves the referred case; the issuance runs in a real worker again.
    officer = sign_in(app, app.test_client(), make_officer())  # password, then TOTP code
    opened = officer.get(f"/officer/cases/{case_id}")
    assert opened.status_code == 200, opened.headers.get("Location")
    page = opened.get_data(as_text=True)
    version = re.search(r'name="version" value="(\d+)"', page)
    assert version is not None
    approved = officer.post(
        f"/officer/cases/{case_id}/approve",
        data={"csrf_token": csrf_token(officer, "/officer/account"), "version": version.group(1)},
    )
    assert approved.status_code == 302
    worker_lines += _worker(env)

    # The traveller looks up the status; a carrier checks both travellers.
    status = client.post(
        "/api/v1/applications/status",
        json={
            "reference": reference,
            "passport_number": API["passport"],
            "date_of_birth": API_BIRTH.isoformat(),
        },
    )
    assert status.status_code == 200 and status.get_json()["status"] == "approved"
    token = status.get_json()["authorisation"]["token"]
    by_token = client.post("/api/v1/carrier/verify", json={"token": token}, headers=carrier_headers)
    assert by_token.get_json()["result"] == "OK"
    by_passport = client.post(
        "/api/v1/carrier/verify",
        json={
            "passport_number": WEB["passport"],
            "issuing_country": "SWE",
            "date_of_birth": WEB_BIRTH.isoformat(),
        },
        headers=carrier_headers,
    )
    assert by_passport.get_json()["result"] == "OK", by_passport.get_json()
    app.extensions["eta.carrier_query_log"].flush()

    lines = collected.lines + worker_lines
    assert len(collected.lines) > 20 and len(worker_lines) > 5
    personal = _personal_strings()
    for line in lines:
        record = json.loads(line)  # every line is one JSON object
        assert {"time", "level", "logger", "message"} <= record.keys(), line
        lowered = line.lower()
        leaked = [text for text in personal if text in lowered]
        assert not leaked, f"{leaked} in a log line: {line}"
    # The access lines name routes, each with the id of its request.
    access = [json.loads(line) for line in collected.lines if '"logger": "eta.access"' in line]
    assert any(line["endpoint"] == "/apply/<slug>" for line in access), access[:3]
    assert all(len(line["request_id"]) >= 8 for line in access)


def test_the_text_format_names_the_request_id_too():
    record = logging.LogRecord("eta.test", logging.INFO, __file__, 1, "hello %s", ("world",), None)
    from eta.web.logs import bound_request_id

    with bound_request_id("abc123"):
        line = TextFormatter().format(record)
        as_json = json.loads(JsonFormatter().format(record))
    assert "[abc123] hello world" in line
    assert as_json["request_id"] == "abc123" and as_json["message"] == "hello world"


def test_log_settings_are_checked(tmp_path: Path):
    from config import ConfigurationError, load_settings

    assert load_settings(tmp_path, {})["ETA_LOG_FORMAT"] == "json"
    assert load_settings(tmp_path, {"ETA_LOG_LEVEL": "debug"})["ETA_LOG_LEVEL"] == "DEBUG"
    assert load_settings(tmp_path, {})["ETA_METRICS_TOKEN"] is None
    with pytest.raises(ConfigurationError, match="ETA_LOG_FORMAT must be json or text"):
        load_settings(tmp_path, {"ETA_LOG_FORMAT": "xml"})
    with pytest.raises(ConfigurationError, match="ETA_LOG_LEVEL must be one of"):
        load_settings(tmp_path, {"ETA_LOG_LEVEL": "loud"})
