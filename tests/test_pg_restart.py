"""PostgreSQL restarted under submission load (issue 13's drill, in the suite): requests fail
fast with 503 and Retry-After, a client's retry with its Idempotency-Key gets the one
application, the worker resumes, nothing is lost or decided twice.

Real parts: a throwaway PostgreSQL cluster of the test's own (tests/pg_cluster.py: never the
shared server), restarted with `pg_ctl restart -m fast` while the API takes submissions, and a
real `eta worker` process screening them. PostgreSQL stack only, and only where a cluster can be
made (root, PostgreSQL 15's binaries); about 20 s.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tests import pg_cluster
from tests.factories import valid_payload

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def cluster() -> Iterator[pg_cluster.Cluster]:
    """A cluster of this test's own on a spare port, removed afterwards."""
    if not os.environ.get("ETA_DATABASE_URL", "").startswith("postgresql"):
        pytest.skip("the PostgreSQL stack's drill")
    if not pg_cluster.available():
        pytest.skip("a throwaway cluster needs root and PostgreSQL 15's initdb")
    directory = Path(tempfile.mkdtemp(prefix="eta-pg-restart-"))
    postgres = pwd.getpwnam("postgres")
    os.chown(directory, postgres.pw_uid, postgres.pw_gid)
    made = pg_cluster.Cluster(directory / "data", _free_port())
    made.start()
    try:
        made.create_database("eta")
        yield made
    finally:
        made.stop()
        shutil.rmtree(directory, ignore_errors=True)


def test_postgresql_restarted_under_submission_load(app, make_app, cluster, monkeypatch):
    from flask_migrate import upgrade

    from eta.extensions import db
    from eta.models import Application, ApplicationEvent
    from eta.models import ApplicationStatus as S

    monkeypatch.setenv("ETA_DATABASE_URL", cluster.url("eta"))
    monkeypatch.setenv("ETA_STUCK_AFTER_SECONDS", "5")
    monkeypatch.setenv("ETA_RETRY_AFTER_SECONDS", "1")
    monkeypatch.setenv("ETA_APPLY_RATE_LIMIT", "100000/minute")
    drilled = make_app({"SERVER_NAME": None})
    with drilled.app_context():
        upgrade()
    worker = subprocess.Popen(
        [str(Path(sys.executable).parent / "eta"), "worker"],
        cwd=ROOT,
        env=dict(os.environ),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    client = drilled.test_client()
    unavailable: list[float] = []

    def submit(numbers: range) -> list[str]:
        """Submit each application, retrying a 503 with its Idempotency-Key as a client does."""
        references = []
        for n in numbers:
            body = valid_payload(passport={**valid_payload()["passport"], "number": f"R{n:07d}"})
            headers = {"Idempotency-Key": f"restart-{n}"}
            for _attempt in range(200):
                started = time.monotonic()
                answer = client.post("/api/v1/applications", json=body, headers=headers)
                elapsed = time.monotonic() - started
                if answer.status_code == 202:
                    references.append(answer.get_json()["reference"])
                    break
                # Never a 500, never a hang: a 503 with Retry-After, in seconds.
                assert answer.status_code == 503, answer.get_data(as_text=True)
                assert answer.headers["Retry-After"] == "1"
                unavailable.append(elapsed)
                time.sleep(0.1)
            else:
                pytest.fail("the database never came back")
            time.sleep(0.05)
        return references

    restarting = threading.Thread(target=cluster.restart)
    try:
        references = submit(range(0, 8))
        restarting.start()
        references += submit(range(8, 20))
        restarting.join()
        assert unavailable, "the restart was not seen: the drill proves nothing"
        assert max(unavailable) < 3, unavailable

        with drilled.app_context():
            deadline = time.monotonic() + 45
            while True:
                decided = db.session.scalar(
                    select(func.count()).where(
                        Application.reference.in_(references),
                        Application.status.in_((S.APPROVED, S.REFERRED)),
                    )
                )
                db.session.rollback()
                if decided == len(references) or time.monotonic() > deadline:
                    break
                time.sleep(0.5)
            assert worker.poll() is None, "the worker exited instead of resuming"
            applications = db.session.scalar(select(func.count()).select_from(Application))
            decisions = db.session.execute(
                select(ApplicationEvent.application_id, func.count())
                .where(ApplicationEvent.to_status.in_((S.APPROVED, S.REFERRED)))
                .group_by(ApplicationEvent.application_id)
            ).all()
            db.session.remove()
        assert len(set(references)) == len(references) == 20
        assert applications == 20  # no ghost or duplicate from a retried submission
        assert decided == 20  # none lost
        assert all(count == 1 for _id, count in decisions)  # none decided twice
    finally:
        if restarting.is_alive():  # a failure mid-restart: let it end before the cluster stops
            restarting.join()
        worker.terminate()
        try:
            worker.wait(30)
        except subprocess.TimeoutExpired:  # a warm shutdown waits for its scheduler: end it
            worker.kill()
            worker.wait()
