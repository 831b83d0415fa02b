"""GET /metrics: the token, Prometheus text read by prometheus_client's own parser, figures that
move with real actions, and figures added up from a real gunicorn and a real RQ worker process."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from prometheus_client.parser import text_string_to_metric_families

from tests.carrier.conftest import auth_headers, authorise, carrier_key, signing_key  # noqa: F401
from tests.factories import valid_payload, verified_log
from tests.officer.conftest import (  # noqa: F401  (fixtures)
    csrf_token,
    make_case,
    make_officer,
    password_hash,
    signed_in,
)

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "metrics-token-for-tests-0123456789"
BEARER = {"Authorization": f"Bearer {TOKEN}"}
BASELINE_LIST = "id,full_name,date_of_birth,nationality\nB-1,Quentin Zebulon Halvorsen,1931,ISL\n"

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def parse(text: str) -> Samples:
    """Every sample of an exposition, read by prometheus_client's parser (fails on bad text)."""
    samples: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples: Samples, name: str, **labels: str) -> float:
    """One sample's value (0 when absent: a counter not incremented yet)."""
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def scrape(client: FlaskClient) -> Samples:
    """Scrape /metrics with the token."""
    response = client.get("/metrics", headers=BEARER)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "text/plain"
    return parse(response.get_data(as_text=True))


@pytest.fixture
def metrics_token(app: Flask, monkeypatch: pytest.MonkeyPatch) -> str:
    """ETA_METRICS_TOKEN set for the test."""
    monkeypatch.setitem(app.config, "ETA_METRICS_TOKEN", TOKEN)
    return TOKEN


@pytest.fixture
def baseline_watchlist(session: Any, tmp_path: Path) -> Any:
    """One unrelated listed person: screening clears ordinary applicants (it refers all without)."""
    from eta.screening import lists

    path = tmp_path / "baseline.csv"
    path.write_text(BASELINE_LIST, encoding="utf-8")
    return lists.import_watchlist(session, source="BASELINE", fmt="csv", path=path, actor="test")


def test_metrics_are_not_found_while_no_token_is_configured(app: Flask, client: FlaskClient):
    assert not app.config["ETA_METRICS_TOKEN"]
    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", headers={"Authorization": "Bearer "}).status_code == 404


@pytest.mark.parametrize(
    "header",
    [
        None,
        "Bearer wrong-token",
        f"Bearer {TOKEN[:-1]}x",  # same length, last character wrong
        f"Bearer {TOKEN}extra",
        f"Basic {TOKEN}",
        TOKEN,
    ],
)
def test_metrics_need_the_bearer_token(client: FlaskClient, metrics_token: str, header):
    headers = {"Authorization": header} if header else {}
    response = client.get("/metrics", headers=headers)
    assert response.status_code == 401
    assert response.mimetype == "application/problem+json"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert b"eta_" not in response.data
    # Not in the query string either: tokens there end up in proxies' logs.
    assert client.get(f"/metrics?token={TOKEN}").status_code == 401


def test_requests_are_labelled_by_route_never_by_path(client: FlaskClient, metrics_token: str):
    secret = "not-a-real-resume-token-ETA-7KQ2"
    client.get(f"/apply/resume/{secret}")
    client.get("/no/such/page/L898902C3")
    response = client.get("/metrics", headers=BEARER)
    text = response.get_data(as_text=True)
    assert secret not in text and "L898902C3" not in text
    samples = parse(text)
    resumed = [
        key
        for key in samples
        if key[0] == "eta_http_requests_total" and ("endpoint", "/apply/resume/<token>") in key[1]
    ]
    assert resumed, "the resume page's rule is the label"
    assert value(samples, "eta_http_requests_total", method="GET", endpoint="none", status="404")
    # Every answer names its request id, which the logs carry too.
    assert len(response.headers["X-Request-Id"]) == 32


def test_an_api_submission_and_its_screening_move_the_figures(
    app: Flask,
    client: FlaskClient,
    session: Any,
    metrics_token: str,
    baseline_watchlist: Any,
    run_jobs: Any,
):
    before = scrape(client)
    assert value(before, "eta_watchlist_version", source="BASELINE") == 1
    assert value(before, "eta_watchlist_entries", source="BASELINE") == 1
    assert 0 <= value(before, "eta_watchlist_age_seconds", source="BASELINE") < 60
    assert value(before, "eta_scrape_error", source="redis") == 0
    assert value(before, "eta_queue_jobs", queue="screening", state="queued") == 0

    response = client.post("/api/v1/applications", json=valid_payload())
    assert response.status_code == 202, response.get_json()
    queued = scrape(client)
    assert (
        value(queued, "eta_applications_submitted_total")
        == value(before, "eta_applications_submitted_total") + 1
    )
    api = {"method": "POST", "endpoint": "/api/v1/applications"}
    assert value(queued, "eta_http_requests_total", status="202", **api) == (
        value(before, "eta_http_requests_total", status="202", **api) + 1
    )
    assert value(queued, "eta_http_request_duration_seconds_count", **api) == (
        value(before, "eta_http_request_duration_seconds_count", **api) + 1
    )
    assert value(queued, "eta_queue_jobs", queue="screening", state="queued") == 1
    assert value(queued, "eta_queue_jobs", queue="notifications", state="queued") == 1
    assert 0 <= value(queued, "eta_queue_oldest_job_age_seconds", queue="screening") < 60
    assert value(queued, "eta_outbox_not_done") == 2  # screening and the receipt email
    assert value(queued, "eta_outbox_failing") == 0
    assert value(queued, "eta_applications_waiting", status="submitted") == 1
    assert value(queued, "eta_audit_unsequenced_events") >= 1

    assert run_jobs()
    done = scrape(client)
    approved = {"outcome": "approved", "actor": "system"}
    assert value(done, "eta_decisions_total", **approved) == (
        value(before, "eta_decisions_total", **approved) + 1
    )
    clear = {"purpose": "initial", "outcome": "clear"}
    assert value(done, "eta_screening_runs_total", **clear) == (
        value(before, "eta_screening_runs_total", **clear) + 1
    )
    screened = {"task": "screen_application", "outcome": "ok"}
    assert (
        value(done, "eta_jobs_total", **screened) == value(before, "eta_jobs_total", **screened) + 1
    )
    assert value(done, "eta_job_duration_seconds_count", task="screen_application") >= 1
    assert value(done, "eta_queue_jobs", queue="screening", state="queued") == 0
    assert value(done, "eta_queue_oldest_job_age_seconds", queue="screening") == 0
    assert value(done, "eta_outbox_not_done") == 0
    assert value(done, "eta_applications_waiting", status="submitted") == 0

    # The audit log: events wait for the sequencer, then a checkpoint covers them all.
    assert value(done, "eta_audit_checkpoint_lag_seconds") >= 0
    assert value(done, "eta_audit_unsequenced_events") >= 3
    verified_log(session)
    sequenced = scrape(client)
    assert value(sequenced, "eta_audit_unsequenced_events") == 0
    assert value(sequenced, "eta_audit_checkpoint_lag_seconds") == 0
    assert value(sequenced, "eta_audit_tree_size") >= 3
    assert value(sequenced, "eta_audit_checkpoint_tree_size") == value(
        sequenced, "eta_audit_tree_size"
    )


def test_a_referral_is_counted_for_its_check(
    client: FlaskClient, metrics_token: str, baseline_watchlist: Any, run_jobs: Any
):
    before = scrape(client)
    answers = {
        "criminal_conviction": True,
        "criminal_conviction_details": "Theft, 2009",
        "previous_refusal": False,
        "removed_or_deported": False,
        "conflict_zone_travel": False,
    }
    response = client.post("/api/v1/applications", json=valid_payload(answers=answers))
    assert response.status_code == 202, response.get_json()
    run_jobs()
    after = scrape(client)
    for name, labels in (
        ("eta_screening_referrals_total", {"check": "answers"}),
        ("eta_decisions_total", {"outcome": "referred", "actor": "system"}),
        ("eta_screening_runs_total", {"purpose": "initial", "outcome": "hit"}),
    ):
        assert value(after, name, **labels) == value(before, name, **labels) + 1, name
    assert value(after, "eta_screening_referrals_total", check="watchlist") == value(
        before, "eta_screening_referrals_total", check="watchlist"
    )
    assert value(after, "eta_applications_waiting", status="referred") == 1


def test_an_officers_decision_is_counted_as_the_officers(
    client: FlaskClient,
    metrics_token: str,
    signed_in: Any,  # noqa: F811
    make_case: Any,  # noqa: F811
):
    case_id = make_case()
    officer, _staff = signed_in()
    before = scrape(client)
    page = officer.get(f"/officer/cases/{case_id}").get_data(as_text=True)
    version = page.split('name="version" value="', 1)[1].split('"', 1)[0]
    response = officer.post(
        f"/officer/cases/{case_id}/approve",
        data={"csrf_token": csrf_token(officer, "/officer/account"), "version": version},
    )
    assert response.status_code == 302
    after = scrape(client)
    by_officer = {"outcome": "approved", "actor": "officer"}
    assert value(after, "eta_decisions_total", **by_officer) == (
        value(before, "eta_decisions_total", **by_officer) + 1
    )
    assert value(after, "eta_decisions_total", outcome="approved", actor="system") == value(
        before, "eta_decisions_total", outcome="approved", actor="system"
    )


def test_carrier_answers_are_counted_per_result(
    app: Flask,
    client: FlaskClient,
    metrics_token: str,
    auth_headers: dict[str, str],  # noqa: F811
    authorise: Any,  # noqa: F811
):
    token = authorise().token
    before = scrape(client)
    unknown = {"passport_number": "ZZ0000001", "issuing_country": "SWE"}
    assert (
        client.post("/api/v1/carrier/verify", json={"token": token}, headers=auth_headers).json[
            "result"
        ]
        == "OK"
    )
    assert (
        client.post("/api/v1/carrier/verify", json=unknown, headers=auth_headers).json["reason"]
        == "not_found"
    )
    batch = client.post(
        "/api/v1/carrier/verify-batch",
        json={"passengers": [unknown, {"token": token}, unknown]},
        headers=auth_headers,
    )
    assert batch.status_code == 200
    app.extensions["eta.carrier_query_log"].flush()  # the log writes in batches; now
    after = scrape(client)

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved("eta_carrier_answers_total", kind="token", result="OK", reason="ok") == 1
    assert (
        moved("eta_carrier_answers_total", kind="passport", result="NOT_OK", reason="not_found")
        == 1
    )
    assert moved("eta_carrier_answers_total", kind="batch", result="NOT_OK", reason="") == 1
    assert moved("eta_carrier_passengers_total", kind="batch", answer="NOT_OK") == 2
    assert moved("eta_carrier_passengers_total", kind="batch", answer="other") == 1
    # Carrier requests are timed per route like any other.
    verify = {"method": "POST", "endpoint": "/api/v1/carrier/verify"}
    assert moved("eta_http_request_duration_seconds_count", **verify) == 2


def test_the_carrier_states_stale_age_shows_while_the_database_is_down(
    app: Flask,
    client: FlaskClient,
    metrics_token: str,
    auth_headers: dict[str, str],  # noqa: F811
    authorise: Any,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
):
    from sqlalchemy import create_engine

    from eta.authorisations import state as carrier_state  # the one cache's age limit
    from eta.carrier.service import CARRIER_BIND
    from eta.extensions import db

    body = {"token": authorise().token}
    assert client.post("/api/v1/carrier/verify", json=body, headers=auth_headers).status_code == 200
    assert value(scrape(client), "eta_carrier_state_stale_seconds") == 0
    # A real connection that fails (nothing listens on port 1), as in tests/carrier/test_state.
    dead = create_engine("postgresql+psycopg://eta@127.0.0.1:1/eta", pool_pre_ping=False)
    with app.app_context():
        monkeypatch.setitem(db.engines, CARRIER_BIND, dead)
    monkeypatch.setattr(carrier_state, "MAX_AGE_SECONDS", 0.0)  # every request reloads
    time.sleep(0.3)
    answer = client.post("/api/v1/carrier/verify", json=body, headers=auth_headers)
    assert answer.status_code == 200 and answer.json["result"] == "OK"  # from the last state
    stale = value(scrape(client), "eta_carrier_state_stale_seconds")
    assert 0.2 <= stale < 30
    # The database is back: the next reload succeeds and the age returns to 0.
    monkeypatch.undo()
    monkeypatch.setitem(app.config, "ETA_METRICS_TOKEN", TOKEN)
    monkeypatch.setattr(carrier_state, "MAX_AGE_SECONDS", 0.0)
    assert client.post("/api/v1/carrier/verify", json=body, headers=auth_headers).status_code == 200
    assert value(scrape(client), "eta_carrier_state_stale_seconds") == 0
    dead.dispose()


def test_a_source_that_cannot_be_read_is_named_and_the_rest_still_answers(
    client: FlaskClient, metrics_token: str, monkeypatch: pytest.MonkeyPatch
):
    from redis import Redis

    from eta.extensions import RedisClient

    down = Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2)
    monkeypatch.setattr(RedisClient, "client", property(lambda _self: down))
    samples = scrape(client)
    assert value(samples, "eta_scrape_error", source="redis") == 1
    assert value(samples, "eta_scrape_error", source="outbox") == 0
    assert ("eta_outbox_not_done", ()) in samples


# ---- several processes, one machine ------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _http(url: str, *, body: dict[str, Any] | None = None, headers: dict[str, str] | None = None):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, headers=headers or {})  # noqa: S310
    if data is not None:
        request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310  (our server)
        return response.status, dict(response.headers), response.read().decode()


@pytest.fixture
def served(app: Flask, tmp_path: Path) -> Iterator[tuple[str, dict[str, str], Path]]:
    """gunicorn with two workers on the test stack, in multiprocess mode; yields (url, env, dir)."""
    directory = tmp_path / "prometheus"
    directory.mkdir()
    env = {
        **os.environ,
        "PROMETHEUS_MULTIPROC_DIR": str(directory),
        "ETA_METRICS_TOKEN": TOKEN,
        "PYTHONPATH": str(ROOT),
    }
    port = _free_port()
    server = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "gunicorn"),
            "--workers",
            "2",
            "--bind",
            f"127.0.0.1:{port}",
            "wsgi:app",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120  # a loaded machine starts Python slowly
        while True:
            assert server.poll() is None, "gunicorn exited"
            try:
                if _http(f"{url}/healthz")[0] == 200:
                    break
            except (urllib.error.URLError, ConnectionError):
                pass
            assert time.monotonic() < deadline, "gunicorn never answered"
            time.sleep(0.2)
        yield url, env, directory
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(30)


def test_gunicorn_workers_and_an_rq_worker_are_added_up(
    served: tuple[str, dict[str, str], Path], baseline_watchlist: Any
):
    url, env, directory = served
    status, _headers, _ = _http(f"{url}/api/v1/applications", body=valid_payload())
    assert status == 202
    # A real worker process screens it (then issues and emails) and exits.
    worker = subprocess.run(
        [str(Path(sys.executable).parent / "eta"), "worker", "--burst"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        timeout=240,
    )
    assert worker.returncode == 0, worker.stderr.decode()[-2000:]
    pids = {path.stem.rsplit("_", 1)[-1] for path in directory.glob("*.db")}
    assert len(pids) >= 2  # at least a web process and the worker wrote their figures
    # Whichever gunicorn worker answers, the figures are the machine's: the worker's jobs and
    # decisions, and the submission answered by one of the web processes.
    for _ in range(6):
        status, _headers, text = _http(f"{url}/metrics", headers=BEARER)
        assert status == 200
        samples = parse(text)
        assert value(samples, "eta_jobs_total", task="screen_application", outcome="ok") == 1
        assert value(samples, "eta_decisions_total", outcome="approved", actor="system") == 1
        assert value(samples, "eta_applications_submitted_total") == 1
        assert (
            value(
                samples,
                "eta_http_requests_total",
                method="POST",
                endpoint="/api/v1/applications",
                status="202",
            )
            == 1
        )
        assert value(samples, "eta_queue_jobs", queue="screening", state="queued") == 0


def test_the_grafana_dashboard_uses_only_metrics_eta_exposes(client: FlaskClient, metrics_token):
    dashboard = json.loads((ROOT / "docs" / "grafana-dashboard.json").read_text(encoding="utf-8"))
    expressions = [
        target["expr"] for panel in dashboard["panels"] for target in panel.get("targets", [])
    ]
    used = {
        re.sub(r"_(total|bucket|count|sum)$", "", name)
        for expr in expressions
        for name in re.findall(r"\beta_[a-z_]+", expr)
    }
    response = client.get("/metrics", headers=BEARER)
    families = {family.name for family in text_string_to_metric_families(response.text)}
    assert used and used <= families, sorted(used - families)
