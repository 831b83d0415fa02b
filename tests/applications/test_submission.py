"""Submitting once: the web draft is consumed once, the API honours Idempotency-Key (SPEC §6).

And no ghost applications: everything the answer needs is read before the commit, so a
connection lost after COMMIT cannot turn a saved application into an error, and a retry with
the same key answers with the application that was saved.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from eta.applications.idempotency import IdempotentRequest
from eta.extensions import db, limiter
from eta.models import Application, IdempotencyKey
from eta.outbox import enqueue
from eta.tasks import MAINTENANCE
from eta.timeutil import utcnow
from tests.factories import valid_payload
from tests.traveller.test_journey import complete_pages, csrf, post, text
from workers import maintenance

URL = "/api/v1/applications"


@pytest.fixture(autouse=True)
def _no_rate_limits() -> Iterator[None]:
    """Several submissions from one address: the limiter is not what these tests are about."""
    limiter.enabled = False
    yield
    limiter.enabled = True


def _count(app: Any, model: type = Application) -> int:
    with app.app_context():
        count = db.session.scalar(select(func.count()).select_from(model))
        db.session.remove()
        return int(count or 0)


def _reference(body: str) -> str:
    match = re.search(r'data-testid="reference">([^<]+)<', body)
    assert match, body
    return match.group(1)


@pytest.fixture
def commits_meet() -> Iterator[Callable[[], None]]:
    """Arm: the next two commits of any session wait for each other (up to 2 s).

    Two requests racing to submit are then made to overlap exactly where a check-then-write
    would let both through. When the code under test makes the second request wait for the
    first (a row lock, a unique key), the first waits out the 2 s alone and goes on.
    """
    barrier = threading.Barrier(2, timeout=2)
    armed = threading.Event()

    def meet(_session: Session) -> None:
        if armed.is_set():
            with contextlib.suppress(threading.BrokenBarrierError):
                barrier.wait()

    event.listen(Session, "before_commit", meet)
    yield armed.set
    event.remove(Session, "before_commit", meet)


def _concurrently(*calls: Callable[[], requests.Response]) -> list[requests.Response]:
    results: list[Any] = [None] * len(calls)

    def run(index: int) -> None:
        results[index] = calls[index]()

    threads = [threading.Thread(target=run, args=(index,)) for index in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return results


# ---- the web journey ------------------------------------------------------------------------


def test_a_second_submit_of_the_same_draft_shows_the_first_confirmation(client):
    """A double click: the second POST carries the cookie from before the first answer."""
    complete_pages(client)
    form = {"csrf_token": csrf(client, "/apply/check")}  # the page both clicks are sent from
    before = client.get_cookie("eta_session").value
    first = client.post("/apply/check", data=form)
    assert first.headers["Location"].endswith("/apply/confirmation")
    reference = _reference(text(client.get("/apply/confirmation")))

    client.set_cookie("eta_session", before)
    second = client.post("/apply/check", data=form)
    assert second.status_code == 302
    assert second.headers["Location"].endswith("/apply/confirmation")
    assert _reference(text(client.get("/apply/confirmation"))) == reference
    assert _count(client.application) == 1


def test_two_concurrent_submits_of_one_draft_make_one_application(
    client, live_server, commits_meet
):
    complete_pages(client)
    browser = requests.Session()
    browser.cookies.set("eta_session", client.get_cookie("eta_session").value)
    page = browser.get(f"{live_server}/apply/check")
    assert page.status_code == 200
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    cookies = browser.cookies.get_dict()

    def submit() -> requests.Response:
        return requests.post(
            f"{live_server}/apply/check",
            data={"csrf_token": token},
            cookies=cookies,
            allow_redirects=False,
            timeout=20,
        )

    commits_meet()
    answers = _concurrently(submit, submit)
    assert [answer.status_code for answer in answers] == [302, 302]
    assert all(a.headers["Location"].endswith("/apply/confirmation") for a in answers)
    assert _count(client.application) == 1
    references = set()
    for answer in answers:
        confirmation = requests.get(
            f"{live_server}/apply/confirmation", cookies=answer.cookies, timeout=20
        )
        references.add(_reference(confirmation.text))
    with client.application.app_context():
        assert references == {db.session.scalar(select(Application.reference))}


# ---- the API's Idempotency-Key --------------------------------------------------------------


def test_the_same_key_and_body_answer_the_first_response_again(client):
    payload = valid_payload()
    headers = {"Idempotency-Key": "3f0c2a9e-5d1b-4c7e-9a51-0d6b2f8e7c41"}
    first = client.post(URL, json=payload, headers=headers)
    # The same document, its keys in another order: still the same body.
    again = client.post(URL, json=dict(reversed(payload.items())), headers=headers)
    assert first.status_code == again.status_code == 202
    assert again.get_json() == first.get_json()
    assert again.headers["Location"] == first.headers["Location"]
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert _count(client.application) == 1
    # Another key is another application.
    other = client.post(URL, json=payload, headers={"Idempotency-Key": "another-key"})
    assert other.get_json()["reference"] != first.get_json()["reference"]
    assert _count(client.application) == 2


def test_a_replay_answers_the_first_response_even_after_the_status_moved(client):
    headers = {"Idempotency-Key": "k-1"}
    first = client.post(URL, json=valid_payload(), headers=headers).get_json()
    with client.application.app_context():
        application = db.session.scalar(select(Application))
        application.status = "screening"
        db.session.commit()
    assert client.post(URL, json=valid_payload(), headers=headers).get_json() == first


def test_the_same_key_with_another_body_is_a_422_problem(client):
    headers = {"Idempotency-Key": "k-1"}
    client.post(URL, json=valid_payload(), headers=headers)
    response = client.post(URL, json=valid_payload(occupation="Nurse"), headers=headers)
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["type"].endswith("/idempotency-key-reused")
    # Even an invalid body: the key, not the validation, answers first.
    invalid = client.post(URL, json={"surname": "X"}, headers=headers)
    assert invalid.get_json()["type"].endswith("/idempotency-key-reused")
    assert _count(client.application) == 1


@pytest.mark.parametrize(
    "key",
    ["", "a" * 256, "with space", "tab\there", "caf\xe9"],
    ids=["empty", "256 characters", "space", "tab", "not ASCII"],
)
def test_a_malformed_key_is_a_400_problem_and_saves_nothing(client, key):
    response = client.post(URL, json=valid_payload(), headers={"Idempotency-Key": key})
    assert response.status_code == 400
    assert response.mimetype == "application/problem+json"
    assert "Idempotency-Key" in response.get_json()["errors"]
    assert _count(client.application) == 0


def test_keys_of_255_visible_characters_are_accepted(client):
    key = "".join(chr(code) for code in range(0x21, 0x7F)) * 3  # every visible character
    response = client.post(URL, json=valid_payload(), headers={"Idempotency-Key": key[:255]})
    assert response.status_code == 202


def test_only_hashes_of_key_and_body_are_stored(client):
    client.post(URL, json=valid_payload(), headers={"Idempotency-Key": "secret-key-1"})
    with client.application.app_context():
        row = db.session.scalar(select(IdempotencyKey))
        expected = IdempotentRequest.of("secret-key-1", valid_payload())
        assert (row.key_hash, row.request_hash) == (expected.key_hash, expected.request_hash)
        assert "secret-key-1" not in repr(row.__dict__) and "Eriksson" not in repr(row.__dict__)
        assert set(row.response) == {"reference", "status"}


def test_an_expired_key_starts_afresh_and_the_daily_job_purges_it(client, redis, run_jobs):
    app = client.application
    headers = {"Idempotency-Key": "k-1"}
    first = client.post(URL, json=valid_payload(), headers=headers).get_json()
    hours = app.config["ETA_IDEMPOTENCY_HOURS"]
    with app.app_context():
        row = db.session.scalar(select(IdempotencyKey))
        assert row.expires_at - row.created_at == dt.timedelta(hours=hours)
        row.expires_at = utcnow() - dt.timedelta(seconds=1)
        db.session.commit()
    # Past its lifetime the key is forgotten, even with another body.
    second = client.post(URL, json=valid_payload(occupation="Nurse"), headers=headers)
    assert second.status_code == 202
    assert second.get_json()["reference"] != first["reference"]
    with app.app_context():
        db.session.add(
            IdempotencyKey(
                key_hash="0" * 64,
                request_hash="0" * 64,
                response={"reference": "x", "status": "submitted"},
                created_at=utcnow() - dt.timedelta(hours=hours + 1),
                expires_at=utcnow() - dt.timedelta(hours=1),
            )
        )
        db.session.commit()
        db.session.remove()
    # The daily maintenance job, run by a real worker.
    enqueue(redis, MAINTENANCE, maintenance.erase_personal_data, job_id="daily")
    assert run_jobs((MAINTENANCE,))
    with app.app_context():
        kept = db.session.scalars(select(IdempotencyKey.key_hash)).all()
        assert kept == [IdempotentRequest.of("k-1", {}).key_hash]


def test_two_concurrent_requests_with_one_key_make_one_application(
    client, live_server, commits_meet
):
    payload = valid_payload()

    def submit() -> requests.Response:
        return requests.post(
            f"{live_server}{URL}", json=payload, headers={"Idempotency-Key": "k-1"}, timeout=20
        )

    commits_meet()
    answers = _concurrently(submit, submit)
    assert [answer.status_code for answer in answers] == [202, 202]
    assert answers[0].json() == answers[1].json()
    assert _count(client.application) == 1


def test_the_api_and_openapi_document_the_header(client):
    document = client.get("/api/v1/openapi.json").get_json()
    operation = document["paths"]["/api/v1/applications"]["post"]
    parameters = {p["name"]: p for p in operation["parameters"]}
    schema = parameters["Idempotency-Key"]["schema"]
    assert (schema["minLength"], schema["maxLength"]) == (1, 255)
    assert parameters["Idempotency-Key"]["in"] == "header"
    assert "422" in operation["responses"] and "400" in operation["responses"]


# ---- no ghost applications ------------------------------------------------------------------


class AfterCommit:
    """The SQL statements sent after a session's commit (since the last `reset`)."""

    def __init__(self) -> None:
        self.committed = threading.Event()
        self.statements: list[str] = []

    def reset(self) -> None:
        self.committed.clear()
        self.statements.clear()

    def on_commit(self, _session: Session) -> None:
        self.committed.set()

    def on_statement(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if self.committed.is_set():
            self.statements.append(statement)


@pytest.fixture
def after_commit(app: Any) -> Iterator[AfterCommit]:
    """Count what reaches the database once a commit is done (nothing should)."""
    recorder = AfterCommit()
    with app.app_context():
        engine = db.engine
    event.listen(Session, "after_commit", recorder.on_commit)
    event.listen(engine, "before_cursor_execute", recorder.on_statement)
    yield recorder
    event.remove(Session, "after_commit", recorder.on_commit)
    event.remove(engine, "before_cursor_execute", recorder.on_statement)


def test_the_api_answer_is_read_before_the_commit(client, after_commit):
    response = client.post(URL, json=valid_payload(), headers={"Idempotency-Key": "k-1"})
    assert response.status_code == 202
    assert after_commit.committed.is_set()
    assert _only_outbox(after_commit.statements)


def _only_outbox(statements: list[str]) -> bool:
    """After the commit, only the outbox's best-effort "sent" mark may run: no read."""
    return all(s.startswith("UPDATE outbox") for s in statements)


def test_the_web_submission_reads_nothing_after_the_commit(client, after_commit):
    complete_pages(client)
    after_commit.reset()  # the journey's pages committed their answers before
    response = post(client, "/apply/check", {})  # its GET (the CSRF token) commits nothing
    assert response.headers["Location"].endswith("/apply/confirmation")
    assert after_commit.committed.is_set()
    assert _only_outbox(after_commit.statements)


class ConnectionLost(Exception):
    """The database connection dropped once COMMIT had been sent: the client gets no answer."""


def test_a_retry_after_a_lost_answer_returns_the_committed_application(client):
    """The ghost application: committed, but the first request never answered 202."""
    fail_once = threading.Event()

    def drop(_session: Session) -> None:
        if not fail_once.is_set():
            fail_once.set()
            raise ConnectionLost

    headers = {"Idempotency-Key": "retry-me"}
    event.listen(Session, "after_commit", drop)
    try:
        lost = client.post(URL, json=valid_payload(), headers=headers)
        assert lost.status_code == 500  # what the client saw during the PostgreSQL restart
    finally:
        event.remove(Session, "after_commit", drop)
    assert _count(client.application) == 1  # the ghost
    retry = client.post(URL, json=valid_payload(), headers=headers)
    assert retry.status_code == 202
    with client.application.app_context():
        assert retry.get_json()["reference"] == db.session.scalar(select(Application.reference))
    assert _count(client.application) == 1


def test_a_submission_is_one_transaction_and_its_outbox_rows_are_sent(app, client):
    """Outbox rows used to be marked sent by a second transaction after every push."""
    from eta.models import OutboxMessage

    with app.app_context():
        engine = db.engine
    commits: list[object] = []

    def committed(connection: object) -> None:
        commits.append(connection)

    event.listen(engine, "commit", committed)
    try:
        response = client.post("/api/v1/applications", json=valid_payload())
    finally:
        event.remove(engine, "commit", committed)
    assert response.status_code == 202, response.get_json()
    assert len(commits) == 1
    with app.app_context():
        rows = db.session.scalars(select(OutboxMessage)).all()
        assert len(rows) == 2 and all(row.sent_at is not None for row in rows)


@pytest.fixture
def references_drawn(monkeypatch: pytest.MonkeyPatch) -> Callable[[list[str]], list[str]]:
    """Arm: the next references drawn are `planned`, in order (then fresh ones); returns the draws.

    A collision of two random references is a one-in-1e14 event: this makes it happen on
    demand, through the one function that draws them.
    """
    from eta.applications import lifecycle

    drawn: list[str] = []

    def arm(planned: list[str]) -> list[str]:
        queue = list(planned)
        fresh = lifecycle.new_reference

        def draw() -> str:
            reference = queue.pop(0) if queue else fresh()
            drawn.append(reference)
            return reference

        monkeypatch.setattr(lifecycle, "new_reference", draw)
        return drawn

    return arm


def test_an_api_submission_whose_reference_is_taken_is_saved_under_a_fresh_one(
    client, references_drawn
):
    """No look-up before the INSERT: the unique constraint refuses, the transaction runs again."""
    first = client.post(URL, json=valid_payload(), headers={"Idempotency-Key": "first-one"})
    assert first.status_code == 202
    taken = first.get_json()["reference"]
    drawn = references_drawn([taken])
    second = client.post(
        URL,
        json=valid_payload(passport_number="X7654321"),
        headers={"Idempotency-Key": "second-one"},
    )
    assert second.status_code == 202, second.get_json()
    assert len(drawn) == 2 and drawn[0] == taken
    assert second.get_json()["reference"] == drawn[1] != taken
    assert _count(client.application) == 2
    assert _count(client.application, IdempotencyKey) == 2  # the claim was rolled back, then won
    with client.application.app_context():
        from eta.models import ApplicationEvent, OutboxMessage

        assert db.session.scalar(select(func.count()).select_from(ApplicationEvent)) == 2
        keys = set(db.session.scalars(select(OutboxMessage.key)))
        ids = set(db.session.scalars(select(Application.id)))
        assert keys == {key for i in ids for key in (f"screen-{i}", f"notify-{i}-submitted")}


def test_a_web_submission_whose_reference_is_taken_still_consumes_its_draft_once(
    client, references_drawn
):
    """The draft claim is rolled back with the taken reference, then claimed again: one app."""
    taken = client.post(URL, json=valid_payload()).get_json()["reference"]
    drawn = references_drawn([taken])
    complete_pages(client)
    answer = client.post("/apply/check", data={"csrf_token": csrf(client, "/apply/check")})
    assert answer.headers["Location"].endswith("/apply/confirmation")
    reference = _reference(text(client.get("/apply/confirmation")))
    assert reference == drawn[1] != taken
    assert _count(client.application) == 2


def test_a_submission_that_only_draws_taken_references_is_an_error_not_a_loop(
    app, client, references_drawn
):
    """A broken generator ends in an error after REFERENCE_ATTEMPTS, and saves nothing."""
    from eta.applications.submission import REFERENCE_ATTEMPTS

    taken = client.post(URL, json=valid_payload()).get_json()["reference"]
    drawn = references_drawn([taken] * 50)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    answer = client.post(URL, json=valid_payload(passport_number="X7654321"))
    assert answer.status_code == 500
    assert len(drawn) == REFERENCE_ATTEMPTS
    assert _count(client.application) == 1
