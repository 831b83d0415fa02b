"""Submissions per second through POST /api/v1/applications against a bare reference, in one run.

Run: `.venv/bin/python bench/submit.py [--seconds 30] [--rounds 3] [--clients 8]`.

Needs PostgreSQL and Redis (defaults: postgresql+psycopg://postgres@127.0.0.1:5432 and
redis://127.0.0.1:6379/13; `--postgres`, `--redis`, `--database`). It recreates the database,
migrates it, then starts, side by side:

- eta under gunicorn with 2 web processes, and again with 4 (rate limits off: one client
  address sends everything; everything else as deployed: pre-ping, outbox, Redis);
- the reference under gunicorn with 2 web processes: bare Flask + SQLAlchemy Core that inserts
  the application and one event into the same tables, commits, and pushes one job id to Redis
  (`reference_app` below);
- the audit log's sequencer as in service: `eta worker --queues audit`, whose ticker runs it
  every ETA_AUDIT_CHECKPOINT_SECONDS.

A load generator in its own process drives each server from `--clients` keep-alive
connections, every request a new applicant, in short alternating rounds so that a neighbour's
burst on a shared machine falls on all of them alike. While it runs, the bench samples
pg_stat_activity and pg_locks (what our backends wait on) and the machine's CPU (/proc/stat).
It prints submissions/s, p50/p99 latency, the ratios eta/reference (goal ≥ 0.5) and 4 web
processes / 2 (goal ≥ 1.6 while PostgreSQL has headroom), and then the checkpoint lag: from each
audit event's commit to the first signed checkpoint covering it (goal: p99 ≤ 2 ×
ETA_AUDIT_CHECKPOINT_SECONDS).
"""

from __future__ import annotations

import argparse
import bisect
import datetime as dt
import http.client
import json
import multiprocessing
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
VENV_BIN = Path(sys.executable).parent
PATH = "/api/v1/applications"

if TYPE_CHECKING:
    from flask import Flask
    from sqlalchemy.engine import Engine


# --- the reference ----------------------------------------------------------------------------


def reference_app() -> Flask:
    """Bare Flask + SQLAlchemy Core: insert the application and one event, commit, push a job id.

    No validation, no audit log, no outbox, no idempotency: the least a submission can do on
    the same tables (eta's own, with their indexes) and the same Redis. gunicorn loads it with
    `--pythonpath bench 'submit:reference_app()'`.
    """
    from flask import Flask, jsonify, request
    from redis import Redis
    from sqlalchemy import create_engine, insert

    from eta.models import Application, ApplicationEvent

    applications = Application.__table__
    events = ApplicationEvent.__table__
    engine = create_engine(os.environ["ETA_DATABASE_URL"])
    redis = Redis.from_url(os.environ["ETA_REDIS_URL"])
    add_application = insert(applications).returning(applications.c.id)  # type: ignore[arg-type]
    add_event = insert(events)  # type: ignore[arg-type]
    app = Flask("reference")
    day = dt.date.fromisoformat

    @app.post(PATH)
    def submit() -> Any:
        document = request.get_json()
        passport, address = document["passport"], document["home_address"]
        now = dt.datetime.now(dt.UTC)
        reference = f"REF-{secrets.token_hex(6).upper()}"
        with engine.begin() as connection:
            application_id = connection.execute(
                add_application,
                {
                    "reference": reference,
                    "status": "submitted",
                    "status_changed_at": now,
                    "created_at": now,
                    "version": 1,
                    "channel": "api",
                    "language": document["language"],
                    "given_names": document["given_names"],
                    "surname": document["surname"],
                    "sex": document["sex"],
                    "date_of_birth": day(document["date_of_birth"]),
                    "place_of_birth": document["place_of_birth"],
                    "nationality": document["nationality"],
                    "passport_number": passport["number"],
                    "passport_number_normalised": passport["number"],
                    "passport_issuing_country": passport["issuing_country"],
                    "passport_issue_date": day(passport["issue_date"]),
                    "passport_expiry_date": day(passport["expiry_date"]),
                    "email": document["email"],
                    "phone": document["phone"],
                    "address_line1": address["line1"],
                    "address_city": address["city"],
                    "address_country": address["country"],
                    "occupation": document["occupation"],
                    "travel_purpose": document["travel"]["purpose"],
                    "intended_arrival": day(document["travel"]["intended_arrival"]),
                    "answers": document["answers"],
                },
            ).scalar_one()
            connection.execute(
                add_event,
                {
                    "application_id": application_id,
                    "at": now,
                    "to_status": "submitted",
                    "actor": "traveller",
                },
            )
        redis.rpush("bench:reference:jobs", application_id)
        return jsonify({"reference": reference, "status": "submitted"}), 202

    return app


# --- servers ----------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _prepare_database(server: str, database: str, env: dict[str, str]) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(server + "/postgres", isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        # DDL takes no bound parameters; the name comes from this bench's own option.
        connection.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{database}"'))
    engine.dispose()
    subprocess.run([str(VENV_BIN / "eta"), "db", "upgrade"], env=env, check=True, cwd=ROOT)


@dataclass
class Server:
    """One gunicorn serving one app, as a process group of its own."""

    label: str
    workers: int
    app_spec: str
    port: int = 0
    process: subprocess.Popen[bytes] | None = None
    extra: list[str] = field(default_factory=list)

    def start(self, env: dict[str, str]) -> None:
        """Start gunicorn; wait until it answers."""
        self.port = _free_port()
        command = [
            str(VENV_BIN / "gunicorn"),
            "--workers",
            str(self.workers),
            "--bind",
            f"127.0.0.1:{self.port}",
            "--log-level",
            "warning",
            *self.extra,
            self.app_spec,
        ]
        self.process = subprocess.Popen(command, env=env, cwd=ROOT, start_new_session=True)

    def pids(self) -> list[int]:
        """The gunicorn master and its workers."""
        if self.process is None:
            return []
        return [self.process.pid, *_children(self.process.pid)]

    def stop(self) -> None:
        """Stop the whole process group."""
        if self.process is not None:
            _stop(self.process)


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(child) for child in text.split()]


def _stop(process: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=15)
    except ProcessLookupError:
        pass
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


# --- load -------------------------------------------------------------------------------------


def _body_template() -> str:
    from tests.factories import valid_payload

    payload = valid_payload(email="anna.NUMBER@example.org")
    # A passport of its own for each request: a new applicant, no history hits.
    payload["passport"]["number"] = "BXNUMBER"
    return json.dumps(payload)


def _drive(port: int, seconds: float, clients: int, first: int, template: str, queue: Any) -> None:
    """Load generator (its own process): `clients` keep-alive connections for `seconds`."""
    stop = time.perf_counter() + seconds
    lock = threading.Lock()
    latencies: list[float] = []
    refused = [0]
    counter = [first]

    def client() -> None:
        mine: list[float] = []
        failed = 0
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        while time.perf_counter() < stop:
            with lock:
                counter[0] += 1
                n = counter[0]
            body = template.replace("NUMBER", f"{n:07d}").encode()
            started = time.perf_counter()
            try:
                connection.request(
                    "POST", PATH, body=body, headers={"Content-Type": "application/json"}
                )
                response = connection.getresponse()
                response.read()
                ok = response.status == 202
            except OSError:
                ok = False
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            mine.append(time.perf_counter() - started)
            failed += not ok
        connection.close()
        with lock:
            latencies.extend(mine)
            refused[0] += failed

    threads = [threading.Thread(target=client) for _ in range(clients)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    queue.put((latencies, time.perf_counter() - began, refused[0], counter[0]))


def _wait_until_served(port: int, template: str, first: int, timeout: float = 60.0) -> None:
    """Until the server answers submissions (every web process has imported its app)."""
    deadline = time.monotonic() + timeout
    answered = 0
    while answered < 10:
        if time.monotonic() > deadline:
            raise RuntimeError(f"port {port} never answered {PATH} with 202")
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        try:
            body = template.replace("NUMBER", f"{first + answered:07d}").encode()
            connection.request(
                "POST", PATH, body=body, headers={"Content-Type": "application/json"}
            )
            response = connection.getresponse()
            response.read()
            answered += response.status == 202
        except OSError:
            time.sleep(0.3)
        finally:
            connection.close()


# --- what the machine and PostgreSQL were doing -----------------------------------------------


def _cpu_jiffies() -> tuple[int, int]:
    """(busy, total) jiffies of the whole machine, from /proc/stat."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return sum(fields) - idle, sum(fields)


def _process_jiffies(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        try:
            parts = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(parts[11]) + int(parts[12])  # utime + stime
    return total


def _postgres_pids() -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() == "postgres":
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


@dataclass
class Waits:
    """What our database's backends were doing, sampled from pg_stat_activity and pg_locks."""

    samples: int = 0
    active: int = 0  # backend-samples running a statement
    by_kind: Counter[str] = field(default_factory=Counter)  # wait_event_type (or "CPU")
    by_event: Counter[str] = field(default_factory=Counter)
    ungranted_locks: int = 0  # lock-samples: pg_locks rows not granted
    max_waiting_on_locks: int = 0


class Sampler(threading.Thread):
    """Samples our backends every `interval` seconds while `label` is set."""

    def __init__(self, engine: Engine, database: str, interval: float = 0.05) -> None:
        super().__init__(daemon=True)
        self.engine, self.database, self.interval = engine, database, interval
        self.label: str | None = None
        self.waits: dict[str, Waits] = {}
        self.stopped = threading.Event()

    def run(self) -> None:
        """Sample until stopped."""
        from sqlalchemy import and_, column, func, select, table

        activity = table(
            "pg_stat_activity",
            column("pid"),
            column("datname"),
            column("state"),
            column("wait_event_type"),
            column("wait_event"),
            column("backend_type"),
        )
        locks = table("pg_locks", column("pid"), column("granted"))
        ours = and_(
            activity.c.datname == self.database,
            activity.c.backend_type == "client backend",
            activity.c.pid != func.pg_backend_pid(),
        )
        running = select(activity.c.wait_event_type, activity.c.wait_event).where(
            ours, activity.c.state == "active"
        )
        waiting = (
            select(func.count())
            .select_from(locks.join(activity, locks.c.pid == activity.c.pid))
            .where(ours, locks.c.granted.is_(False))
        )
        with self.engine.connect() as connection:
            while not self.stopped.wait(self.interval):
                label = self.label
                if label is None:
                    continue
                rows = connection.execute(running).all()
                ungranted = int(connection.execute(waiting).scalar_one())
                connection.rollback()  # a fresh snapshot of the statistics each time
                waits = self.waits.setdefault(label, Waits())
                waits.samples += 1
                waits.active += len(rows)
                for kind, event in rows:
                    waits.by_kind[kind or "CPU"] += 1
                    if kind:
                        waits.by_event[f"{kind}:{event}"] += 1
                waits.ungranted_locks += ungranted
                waits.max_waiting_on_locks = max(waits.max_waiting_on_locks, ungranted)


# --- checkpoint lag ---------------------------------------------------------------------------


def _wait_for_checkpoint(engine: Engine, timeout: float) -> int:
    """Wait until every audit event is in the tree and a checkpoint covers them all; how many."""
    from sqlalchemy import func, select

    from eta.models import AuditCheckpoint, AuditEvent

    deadline = time.monotonic() + timeout
    while True:
        with engine.connect() as connection:
            events = connection.execute(select(func.count()).select_from(AuditEvent)).scalar_one()
            signed = connection.execute(select(func.max(AuditCheckpoint.tree_size))).scalar()
        if signed == events or time.monotonic() > deadline:
            return int(events)
        time.sleep(0.5)


def _checkpoint_lags(engine: Engine) -> tuple[list[float], int]:
    """Seconds from each event's commit to the first checkpoint covering it; events uncovered.

    An event's `at` is taken just before its transaction commits, so the lag is if anything
    over-stated by the rest of that request.
    """
    from sqlalchemy import select

    from eta.models import AuditCheckpoint, AuditEvent

    with engine.connect() as connection:
        signed = connection.execute(
            select(AuditCheckpoint.tree_size, AuditCheckpoint.signed_at).order_by(
                AuditCheckpoint.tree_size
            )
        ).all()
        events = connection.execute(select(AuditEvent.position, AuditEvent.at)).all()
    sizes = [size for size, _ in signed]
    lags: list[float] = []
    uncovered = 0
    for position, at in events:
        index = bisect.bisect_right(sizes, position) if position is not None else len(sizes)
        if index == len(sizes):
            uncovered += 1
            continue
        lags.append((signed[index][1] - at).total_seconds())
    return sorted(lags), uncovered


# --- the run ----------------------------------------------------------------------------------


@dataclass
class Result:
    """What one server did over all its rounds."""

    latencies: list[float] = field(default_factory=list)
    seconds: float = 0.0
    refused: int = 0
    busy: int = 0  # machine busy jiffies during its rounds
    total: int = 0  # machine jiffies during its rounds
    server_cpu: int = 0  # jiffies of its gunicorn processes
    postgres_cpu: int = 0  # jiffies of every postgres process on the machine

    def rate(self) -> float:
        """Accepted submissions per second."""
        return (len(self.latencies) - self.refused) / self.seconds if self.seconds else 0.0

    def percentile(self, fraction: float) -> float:
        """A latency percentile in ms."""
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))] * 1000


def _percentile(values: list[float], fraction: float) -> float:
    return values[min(len(values) - 1, int(len(values) * fraction))]


def main() -> None:
    """Set up, measure eta (2 and 4 web processes) and the reference in rounds, print it all."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0, help="per server, over all rounds")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432")
    parser.add_argument("--database", default="eta_bench_submit")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/13")
    parser.add_argument(
        "--no-four", action="store_true", help="skip eta with 4 web processes (faster run)"
    )
    args = parser.parse_args()

    from redis import Redis
    from sqlalchemy import create_engine

    from config.settings import load_settings

    redis = Redis.from_url(args.redis)
    if redis.dbsize():
        sys.exit(f"Redis {args.redis} already holds keys: give the bench an empty database")
    load_before = os.getloadavg()
    workdir = Path(tempfile.mkdtemp(prefix="eta-bench-submit-"))
    env = {
        **os.environ,
        "ETA_ENV": "development",
        "ETA_SECRET_KEY": "bench-secret-key-not-for-production",
        "ETA_DATABASE_URL": f"{args.postgres}/{args.database}",
        "ETA_REDIS_URL": args.redis,
        "ETA_KEYS_DIR": str(workdir / "keys"),
        "ETA_MAIL_URL": f"file://{workdir / 'outbox'}",
    }
    period = int(load_settings(workdir, env)["ETA_AUDIT_CHECKPOINT_SECONDS"])
    print(f"preparing {args.database} ...", flush=True)
    _prepare_database(args.postgres, args.database, env)

    eta_spec = 'eta:create_app({"RATELIMIT_ENABLED": False})'
    servers = [Server("eta, 2 web processes", 2, eta_spec)]
    servers.append(
        Server(
            "reference, 2 web processes",
            2,
            "submit:reference_app()",
            extra=["--pythonpath", str(ROOT / "bench")],
        )
    )
    if not args.no_four:
        servers.append(Server("eta, 4 web processes", 4, eta_spec))
    sequencer = subprocess.Popen(
        [str(VENV_BIN / "eta"), "worker", "--queues", "audit"],
        env=env,
        cwd=ROOT,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,  # RQ logs every job; the lag below says how it went
    )
    monitor = create_engine(env["ETA_DATABASE_URL"])
    sampler = Sampler(monitor, args.database)
    template = _body_template()
    results = {server.label: Result() for server in servers}
    numbers = 0
    context = multiprocessing.get_context("spawn")
    try:
        for server in servers:
            server.start(env)
        for server in servers:
            _wait_until_served(server.port, template, numbers)
            numbers += 10_000
        sampler.start()
        share = args.seconds / args.rounds
        for round_number in range(args.rounds):
            for server in servers:
                queue = context.Queue()
                process = context.Process(
                    target=_drive,
                    args=(server.port, min(2.0, share), args.clients, numbers, template, queue),
                )
                process.start()  # a short warm-up: connections opened, pools filled
                numbers = queue.get()[3] + 1
                process.join()
                result = results[server.label]
                pids = server.pids()
                postgres = _postgres_pids()
                cpu_before, own_before = _cpu_jiffies(), _process_jiffies(pids)
                postgres_before = _process_jiffies(postgres)
                sampler.label = server.label
                queue = context.Queue()
                process = context.Process(
                    target=_drive,
                    args=(server.port, share, args.clients, numbers, template, queue),
                )
                process.start()
                latencies, elapsed, refused, numbers = queue.get()
                numbers += 1
                process.join()
                sampler.label = None
                cpu_after = _cpu_jiffies()
                result.latencies.extend(latencies)
                result.seconds += elapsed
                result.refused += refused
                result.busy += cpu_after[0] - cpu_before[0]
                result.total += cpu_after[1] - cpu_before[1]
                result.server_cpu += _process_jiffies(pids) - own_before
                result.postgres_cpu += _process_jiffies(postgres) - postgres_before
            print(f"  round {round_number + 1} of {args.rounds} done", flush=True)
        for server in servers:
            server.stop()
        covered = _wait_for_checkpoint(monitor, timeout=6 * period)
        lags, uncovered = _checkpoint_lags(monitor)
    finally:
        sampler.stopped.set()
        for server in servers:
            server.stop()
        _stop(sequencer)
        monitor.dispose()
        redis.flushdb()
        shutil.rmtree(workdir, ignore_errors=True)

    _report(args, servers, results, sampler.waits, period, covered, lags, uncovered, load_before)


def _report(
    args: argparse.Namespace,
    servers: list[Server],
    results: dict[str, Result],
    waits: dict[str, Waits],
    period: int,
    covered: int,
    lags: list[float],
    uncovered: int,
    load_before: tuple[float, float, float],
) -> None:
    hz = os.sysconf("SC_CLK_TCK")
    cores = os.cpu_count() or 1
    print()
    print(
        f"POST {PATH}, {args.clients} keep-alive clients, {args.seconds:g} s per server in "
        f"{args.rounds} alternating rounds; every request a new applicant"
    )
    header = (
        f"{'server':<27} {'accepted/s':>10} {'refused':>7} {'p50 ms':>7} {'p99 ms':>7}"
        f" {'machine busy':>12} {'web CPU':>8} {'pg CPU':>7}"
    )
    print(header)
    for server in servers:
        result = results[server.label]
        busy = result.busy / result.total if result.total else 0.0
        web = result.server_cpu / hz / result.seconds
        pg = result.postgres_cpu / hz / result.seconds
        print(
            f"{server.label:<27} {result.rate():>10.1f} {result.refused:>7}"
            f" {result.percentile(0.5):>7.1f} {result.percentile(0.99):>7.1f}"
            f" {busy:>11.0%} {web:>7.2f}c {pg:>6.2f}c"
        )
    eta2 = results["eta, 2 web processes"].rate()
    reference = results["reference, 2 web processes"].rate()
    print(f"\neta / reference (2 web processes each): {eta2 / reference:.2f}  (goal >= 0.5)")
    if "eta, 4 web processes" in results:
        eta4 = results["eta, 4 web processes"].rate()
        print(f"eta 4 web processes / 2:                {eta4 / eta2:.2f}  (goal >= 1.6)")
    print(
        f"(machine busy: share of all {cores} cores in use during the rounds; web and pg CPU in "
        "cores: the server's gunicorn processes, and every postgres process on the machine)"
    )
    print("\nWhat our PostgreSQL backends were doing while eta was measured (sampled every 50 ms):")
    for label, sample in waits.items():
        if not label.startswith("eta"):
            continue
        active = sample.active or 1
        top = ", ".join(
            f"{name} {count / active:.0%}" for name, count in sample.by_event.most_common(4)
        )
        print(
            f"  {label}: {sample.active / max(sample.samples, 1):.1f} backends active on average;"
            f" running (no wait) {sample.by_kind['CPU'] / active:.0%},"
            f" waiting on a heavyweight lock {sample.by_kind['Lock'] / active:.1%}"
            f" (ungranted pg_locks rows: {sample.ungranted_locks} in {sample.samples} samples,"
            f" at most {sample.max_waiting_on_locks} at once); waits: {top or 'none'}"
        )
    print(
        f"\nCheckpoint lag (an audit event's commit to the first signed checkpoint covering it), "
        f"{len(lags)} events, ETA_AUDIT_CHECKPOINT_SECONDS={period}:"
    )
    if lags:
        print(
            f"  p50 {_percentile(lags, 0.5):.2f} s, p99 {_percentile(lags, 0.99):.2f} s, "
            f"max {lags[-1]:.2f} s (goal: p99 <= {2 * period} s); "
            f"{uncovered} of {covered} events not covered by a checkpoint when the bench ended"
        )
    print(
        f"\nload average {load_before[0]:.2f} {load_before[1]:.2f} {load_before[2]:.2f} before, "
        f"{' '.join(f'{x:.2f}' for x in os.getloadavg())} after ({cores} CPUs shared by the "
        "servers, the load generator, the sequencer, PostgreSQL, Redis and other engineers' work)"
    )


if __name__ == "__main__":
    main()
