"""One of two web nodes SIGKILLed behind haproxy under load (issue 19's drill, in the suite).

Real parts: two gunicorn nodes (`gunicorn wsgi:app`, two workers each) behind Debian's haproxy
(tests/fault_stack.py writes its configuration: retries, redispatch, and L7 retries only for
requests that are safe to replay, submissions with an Idempotency-Key among them), a Redis and
an `eta worker` of the drill's own, and an HTTP client submitting four at a time. Once a third
is accepted, one node, master and workers, is SIGKILLed: the client sees no error (haproxy
retries what the dead node held, and sends the rest to the other node), every accepted
application is decided, none twice, none made twice. PostgreSQL stack only.
"""

from __future__ import annotations

import os

import pytest

from tests import fault_stack

pytestmark = pytest.mark.drill

APPLICATIONS = 30


@pytest.fixture
def database_url(app) -> str:
    """The test database, emptied for this test (conftest), which the drill's processes share."""
    url = os.environ.get("ETA_DATABASE_URL", "")
    if not url.startswith("postgresql"):
        pytest.skip("the PostgreSQL stack's drill (several processes share the database)")
    missing = fault_stack.missing_programs("redis-server", "haproxy")
    if missing:
        pytest.skip(f"needs {', '.join(missing)} (.ci/run installs them)")
    return url


def test_web_node_killed_behind_haproxy_under_load(database_url, tmp_path):
    outcome = fault_stack.run_web_node_drill(
        dict(os.environ), database_url, tmp_path, applications=APPLICATIONS
    )

    assert outcome.client_errors == 0, outcome.notes  # haproxy retried what the node held
    assert outcome.submitted == APPLICATIONS, outcome.notes
    assert outcome.lost == 0, outcome.notes
    assert outcome.duplicated == 0, outcome.notes


def test_haproxy_replays_only_what_is_safe_to_replay(tmp_path):
    """A node that reads a request and dies without answering: haproxy (the drill's
    configuration) replays a submission with an Idempotency-Key on the other node, and answers
    502 for a POST without one, which it must not send twice."""
    if fault_stack.missing_programs("haproxy"):
        pytest.skip("needs haproxy")
    import http.server
    import socket
    import threading

    import requests

    dying = socket.socket()
    dying.bind(("127.0.0.1", 0))
    dying.listen()
    served: list[str] = []

    def die_mid_request() -> None:
        while True:
            try:
                connection, _address = dying.accept()
            except OSError:
                return
            with connection:
                connection.recv(65536)  # the request, read whole; then no answer at all

    class Answering(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            served.append(self.headers.get("Idempotency-Key", "none"))
            self.send_response(202)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *_arguments: object) -> None:
            pass

    answering = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Answering)
    threading.Thread(target=die_mid_request, daemon=True).start()
    threading.Thread(target=answering.serve_forever, daemon=True).start()
    ports = [dying.getsockname()[1], answering.server_address[1]]
    balancer = fault_stack.Haproxy(tmp_path, ports, health_checks=False)
    balancer.start()
    try:
        url = f"{balancer.url}/api/v1/applications"
        with_key = [
            requests.post(url, json={"n": n}, headers={"Idempotency-Key": f"k-{n}"}, timeout=10)
            for n in range(4)
        ]
        without_key = [requests.post(url, json={"n": n}, timeout=10) for n in range(4)]
    finally:
        balancer.stop()
        answering.shutdown()
        answering.server_close()
        dying.close()

    assert [answer.status_code for answer in with_key] == [202] * 4
    assert served[:4] == [f"k-{n}" for n in range(4)]  # each replayed once, on the other node
    # Round robin sends every other one to the dying node: those are not replayed.
    assert sorted(answer.status_code for answer in without_key) == [202, 202, 502, 502]
