"""Fault drills under load: submitted / decided / lost / duplicated for each fault (issue 13).

Runs against a PostgreSQL database it empties (ETA_DRILL_DATABASE_URL, e.g.
postgresql+psycopg://postgres@127.0.0.1:5432/test_faults_drills) and a redis-server of its own
on a spare port. Two `eta worker` processes screen while applications arrive; each drill injects
one fault mid-way, then waits until nothing is left to decide (the sweeper and the outbox
recover what the fault lost). Run under `flock /tmp/eta-bench.lock .venv/bin/python
bench/drills.py`.

The PostgreSQL restart drill needs a cluster it may restart, never the shared server:
`--pg-cluster /tmp/pgdrill` makes one there (initdb as the postgres user, which needs root),
starts it on a spare port, and runs every drill on a database of it. That drill submits through
the HTTP API (the app's test client) with an Idempotency-Key per application, restarts the
cluster mid-way (pg_ctl restart -m fast), and retries every 503 with the same key, as a client
should: it prints how many requests got 503 and the slowest of them (fail fast, no hang).

Two subcommands drill faults of a deployment on several machines (issue 19), with real
processes from tests/fault_stack.py, on ETA_DRILL_DATABASE_URL too:

- `bench/drills.py sentinel`: a Redis primary, a replica and three Sentinels; one gunicorn node
  and two `eta worker`s connect through the Sentinels (ETA_REDIS_SENTINELS); the primary is
  SIGKILLed under submission load and Sentinel promotes the replica.
- `bench/drills.py web-node`: two gunicorn nodes behind haproxy (retries, redispatch); one node,
  master and workers, is SIGKILLed under load.
"""

from __future__ import annotations

import argparse
import atexit
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _redis(port: int, directory: str) -> subprocess.Popen:
    from redis import Redis
    from redis.exceptions import ConnectionError as RedisConnectionError

    server = subprocess.Popen(
        [
            *("redis-server", "--port", str(port), "--bind", "127.0.0.1"),
            *("--save", "", "--appendonly", "no", "--dir", directory),
        ],
        stdout=subprocess.DEVNULL,
    )
    for _ in range(200):
        try:
            Redis(port=port).ping()
            return server
        except RedisConnectionError:
            time.sleep(0.05)
    raise SystemExit("redis-server did not start")


def _prepared_database(url: str, workdir: str) -> None:
    """Empty the drill's database, migrate it and load a baseline watchlist."""
    from flask_migrate import upgrade
    from sqlalchemy import create_engine, text

    from eta import create_app
    from eta.extensions import db
    from eta.screening import lists

    engine = create_engine(url)
    with engine.begin() as connection:  # a database of its own, emptied: raw DDL is simplest
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    app = create_app({"SERVER_NAME": None})
    with app.app_context():
        upgrade()
        baseline = Path(workdir) / "baseline.csv"
        baseline.write_text(
            "id,full_name,date_of_birth,nationality\nB-1,Quentin Halvorsen,1931,ISL\n"
        )
        lists.import_watchlist(db.session, source="BASELINE", fmt="csv", path=baseline, actor="x")
        db.session.remove()
        for bound in db.engines.values():
            bound.dispose()


def multi_machine(command: str, applications: int, wait: float) -> None:
    """Run the `sentinel` or `web-node` drill on ETA_DRILL_DATABASE_URL and print its row."""
    from tests import fault_stack

    url = os.environ.get("ETA_DRILL_DATABASE_URL")
    if not url or not url.startswith("postgresql"):
        raise SystemExit("set ETA_DRILL_DATABASE_URL to a PostgreSQL database it may empty")
    missing = fault_stack.missing_programs("redis-server", "redis-sentinel", "haproxy")
    if missing:
        raise SystemExit(
            f"missing {', '.join(missing)} (Debian: apt-get install {' '.join(missing)})"
        )
    workdir = Path(tempfile.mkdtemp(prefix="eta-drills-"))
    env = {
        **os.environ,
        "ETA_ENV": "test",
        "ETA_SECRET_KEY": "drills-secret-not-for-production",
        "ETA_DATABASE_URL": url,
        "ETA_KEYS_DIR": f"{workdir}/keys",
        "ETA_MAIL_URL": f"file://{workdir}/outbox",
        "ETA_LOG_LEVEL": "WARNING",
    }
    os.environ.update(env)
    _prepared_database(url, str(workdir))
    if command == "sentinel":
        name = "Redis primary SIGKILLed"
        outcome = fault_stack.run_sentinel_drill(
            env, url, workdir, applications=applications, wait=wait
        )
    else:
        name = "web node SIGKILLed"
        outcome = fault_stack.run_web_node_drill(
            env, url, workdir, applications=applications, wait=wait
        )
    print(
        f"{'drill':<26} {'submitted':>9} {'decided':>8} {'lost':>5} "
        f"{'duplicated':>10} {'seconds':>8}"
    )
    print(
        f"{name:<26} {outcome.submitted:>9} {outcome.decided:>8} {outcome.lost:>5} "
        f"{outcome.duplicated:>10} {outcome.seconds:>8.1f}"
    )
    for note in outcome.notes:
        print(f"{'':<26} {note}")
    print(f"{'':<26} outbox rows re-sent by the relay: {outcome.resent}; logs in {workdir}")


def main() -> None:
    """Run each drill and print its table row."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--applications", type=int, default=60)
    parser.add_argument("--wait", type=float, default=120.0, help="seconds to wait for recovery")
    commands = parser.add_subparsers(dest="command", metavar="{sentinel,web-node}")
    for command, text in (
        ("sentinel", "Redis primary SIGKILLed behind Sentinel under submission load"),
        ("web-node", "one of two gunicorn nodes behind haproxy SIGKILLed under load"),
    ):
        sub = commands.add_parser(command, help=text, description=text)
        sub.add_argument("--applications", type=int, default=60)
        sub.add_argument("--wait", type=float, default=120.0, help="seconds to wait for recovery")
    parser.add_argument(
        "--pg-cluster",
        type=Path,
        help="a directory for a throwaway PostgreSQL cluster (made if missing): every drill runs "
        "on it, the PostgreSQL restart drill included",
    )
    parser.add_argument("--only", help="run only the drills whose name contains this text")
    options = parser.parse_args()
    if options.command:
        multi_machine(options.command, options.applications, options.wait)
        return
    from tests.pg_cluster import Cluster

    cluster = None
    if options.pg_cluster is not None:
        cluster = Cluster(options.pg_cluster.resolve(), _free_port())
        cluster.start()
        atexit.register(cluster.stop)  # however the drills end, SystemExit included
        cluster.create_database("drills")
        os.environ["ETA_DRILL_DATABASE_URL"] = cluster.url("drills")
    url = os.environ.get("ETA_DRILL_DATABASE_URL")
    if not url or not url.startswith("postgresql"):
        raise SystemExit(
            "set ETA_DRILL_DATABASE_URL to a PostgreSQL database it may empty, or --pg-cluster"
        )
    workdir = tempfile.mkdtemp(prefix="eta-drills-")
    port = _free_port()
    env = {
        **os.environ,
        "ETA_ENV": "test",
        "ETA_SECRET_KEY": "drills-secret-not-for-production",
        "ETA_DATABASE_URL": url,
        "ETA_REDIS_URL": f"redis://127.0.0.1:{port}/0",
        "ETA_KEYS_DIR": f"{workdir}/keys",
        "ETA_MAIL_URL": f"file://{workdir}/outbox",
        "ETA_STUCK_AFTER_SECONDS": "5",
        "ETA_CHECK_TIMEOUT_SECONDS": "1",
        # The restart drill submits through the API, faster than a traveller would.
        "ETA_APPLY_RATE_LIMIT": "100000/minute",
        "ETA_RETRY_AFTER_SECONDS": "1",
    }
    os.environ.update(env)
    from flask_migrate import upgrade
    from sqlalchemy import create_engine, func, select, text

    from eta import applications, create_app
    from eta.extensions import db, redis_client
    from eta.models import Application, ApplicationEvent
    from eta.models import ApplicationStatus as S
    from eta.outbox import enqueue
    from eta.screening import lists
    from eta.tasks import SCREENING
    from tests.factories import application_fields

    engine = create_engine(url)
    with engine.begin() as connection:  # a database of its own, emptied: raw DDL is simplest
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    redis_server = _redis(port, workdir)
    app = create_app({"SERVER_NAME": None})
    with app.app_context():
        upgrade()
        baseline = Path(workdir) / "baseline.csv"
        baseline.write_text(
            "id,full_name,date_of_birth,nationality\nB-1,Quentin Halvorsen,1931,ISL\n"
        )
        lists.import_watchlist(db.session, source="BASELINE", fmt="csv", path=baseline, actor="x")

    def worker() -> subprocess.Popen:
        return subprocess.Popen(
            [str(Path(sys.executable).parent / "eta"), "worker"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def submit(count: int, offset: int) -> list[int]:
        ids = []
        for n in range(count):
            fields = application_fields(passport_number=f"D{offset + n:07d}", surname=f"Drill{n}")
            application = applications.submit(db.session, Application(**fields))
            ids.append(application.id)
            try:
                enqueue(
                    redis_client.client,
                    SCREENING,
                    "workers.screening.screen_application",
                    application.id,
                    job_id=f"screen-{application.id}",
                )
            except Exception as error:  # Redis down: the sweeper finds it later (the drill)
                print(f"  enqueue failed ({type(error).__name__}): left to the sweeper")
            time.sleep(0.02)
        return ids

    client = app.test_client()

    def submit_over_http(count: int, offset: int, stats: dict[str, float]) -> list[str]:
        """Submit through the API, each with its Idempotency-Key; retry a 503 with that key.

        Called outside any app context, so that each request has its own, as under gunicorn
        (inside one, every request would share one database session). Returns the references.
        """
        from tests.factories import valid_payload

        references = []
        for n in range(count):
            number = f"D{offset + n:07d}"
            body = valid_payload(passport={**valid_payload()["passport"], "number": number})
            headers = {"Idempotency-Key": f"drill-{number}"}
            while True:
                started = time.monotonic()
                answer = client.post("/api/v1/applications", json=body, headers=headers)
                elapsed = time.monotonic() - started
                if answer.status_code == 202:
                    break
                if answer.status_code != 503 or "Retry-After" not in answer.headers:
                    raise SystemExit(f"  unexpected answer {answer.status_code}: {answer.text}")
                stats["unavailable"] += 1
                stats["slowest_503"] = max(stats["slowest_503"], elapsed)
                time.sleep(0.2)  # a client would wait Retry-After; shorter here, more load
            references.append(answer.get_json()["reference"])
            time.sleep(0.02)
        return references

    workers = [worker(), worker()]
    print(
        f"{'drill':<26} {'submitted':>9} {'decided':>8} {'lost':>5} "
        f"{'duplicated':>10} {'seconds':>8}"
    )
    offset = 0
    locker = None
    for drill in (
        "worker SIGKILL",
        "Redis stopped under load",
        "check's table locked",
        "PostgreSQL restarted",
    ):
        if options.only and options.only.lower() not in drill.lower():
            continue
        if drill == "PostgreSQL restarted" and cluster is None:
            print(
                f"{drill:<26} skipped: needs --pg-cluster, a throwaway cluster of its own "
                "(the shared 5432 server is never restarted)"
            )
            continue
        started = time.monotonic()
        stats = {"unavailable": 0, "slowest_503": 0.0}
        references: list[str] = []
        if drill == "PostgreSQL restarted" and cluster is not None:
            half = options.applications // 2
            references = submit_over_http(half, offset, stats)
            restarting = threading.Thread(target=cluster.restart)
            restarting.start()
            references += submit_over_http(options.applications - half, offset + half, stats)
            restarting.join()
        extra = 0
        with app.app_context():
            if references:
                ids = list(
                    db.session.scalars(
                        select(Application.id).where(Application.reference.in_(references))
                    )
                )
                # A retry that made a second application (another reference, or a ghost no
                # client heard of) for one of this drill's passports is a duplicate.
                numbers = [f"D{offset + n:07d}" for n in range(options.applications)]
                made = db.session.scalar(
                    select(func.count()).where(Application.passport_number.in_(numbers))
                )
                extra = int(made or 0) - len(set(references))
            else:
                ids = submit(options.applications // 2, offset)
            if drill == "worker SIGKILL":
                workers[0].send_signal(signal.SIGKILL)
                workers[0].wait()
                workers[0] = worker()
            elif drill == "Redis stopped under load":
                redis_server.terminate()
                redis_server.wait()
            elif drill == "check's table locked":
                locker = engine.connect()
                locker.begin()
                locker.execute(text("LOCK TABLE lost_stolen_documents IN ACCESS EXCLUSIVE MODE"))
            if drill != "PostgreSQL restarted":
                ids += submit(options.applications - len(ids), offset + len(ids))
            if drill == "Redis stopped under load":
                time.sleep(3)
                redis_server = _redis(port, workdir)  # back, empty: the sweeper re-enqueues
            if locker is not None:
                time.sleep(3)
                locker.rollback()
                locker.close()
                locker = None
            offset += len(ids)
            deadline = time.monotonic() + options.wait
            while True:
                db.session.expire_all()
                decided = db.session.scalar(
                    select(func.count()).where(
                        Application.id.in_(ids), Application.status.in_((S.APPROVED, S.REFERRED))
                    )
                )
                if decided == len(ids) or time.monotonic() > deadline:
                    break
                db.session.rollback()
                time.sleep(0.5)
            decisions = db.session.execute(
                select(ApplicationEvent.application_id, func.count())
                .where(
                    ApplicationEvent.application_id.in_(ids),
                    ApplicationEvent.to_status.in_((S.APPROVED, S.REFERRED)),
                )
                .group_by(ApplicationEvent.application_id)
            ).all()
            duplicated = sum(1 for _id, count in decisions if count > 1)
            duplicated += extra
            db.session.remove()
        seconds = time.monotonic() - started
        # Over HTTP, what was submitted is what the client was told was accepted (202).
        submitted = len(references) if references else len(ids)
        print(
            f"{drill:<26} {submitted:>9} {decided:>8} {submitted - decided:>5} "
            f"{duplicated:>10} {seconds:>8.1f}"
        )
        if drill == "PostgreSQL restarted":
            print(
                f"{'':<26} {int(stats['unavailable'])} requests answered 503 with Retry-After "
                f"during the restart, the slowest in {stats['slowest_503']:.2f} s; no 500; "
                f"workers still running: {sum(w.poll() is None for w in workers)} of {len(workers)}"
            )
    for process in workers:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:  # a warm shutdown waits for its scheduler: end it
            process.kill()
            process.wait()
    redis_server.terminate()
    redis_server.wait()
    engine.dispose()
    if cluster is not None:
        with app.app_context():
            for bound in db.engines.values():
                bound.dispose()


if __name__ == "__main__":
    main()
