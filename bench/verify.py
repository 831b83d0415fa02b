"""Carrier verification under load: eta (gunicorn, 2 workers, PostgreSQL) against a bare reference.

Run: `.venv/bin/python bench/verify.py [--seconds 10] [--connections 16]`

Starts, in one run: a fresh PostgreSQL database with the real migrations and N issued
authorisations; eta under gunicorn (2 sync workers, Redis rate limiting on); and a reference
app under the same gunicorn settings — Flask + PyJWT doing nothing but the ES256 signature check
of each token. A load generator in another process drives both with the same requests over the
same number of connections and prints requests/s, p50/p99 latency and the ratio ours/reference
for verify-by-token, verify-by-passport and a 500-passenger batch.
Needs PostgreSQL (ETA_BENCH_DATABASE, default postgresql+psycopg://postgres@127.0.0.1:5432)
and Redis (ETA_BENCH_REDIS, default redis://127.0.0.1:6379/13).
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DATABASE_SERVER = os.environ.get(
    "ETA_BENCH_DATABASE", "postgresql+psycopg://postgres@127.0.0.1:5432"
)
REDIS_URL = os.environ.get("ETA_BENCH_REDIS", "redis://127.0.0.1:6379/13")
DATABASE_NAME = "eta_bench_verify"
BATCH_SIZE = 500

REFERENCE_APP = '''
"""Reference: Flask + PyJWT, the ES256 signature check and nothing else."""
import json, os
import jwt
from flask import Flask, jsonify, request

app = Flask(__name__)
KEYS = {k["kid"]: jwt.algorithms.ECAlgorithm.from_jwk(json.dumps(k))
        for k in json.load(open(os.environ["REFERENCE_JWKS"]))["keys"]}

def check(token):
    try:
        kid = jwt.get_unverified_header(token)["kid"]
        jwt.api_jws.PyJWS().decode(token, key=KEYS[kid], algorithms=["ES256"])
        return {"result": "OK"}
    except Exception:
        return {"result": "NOT_OK"}

@app.post("/api/v1/carrier/verify")
def verify():
    return jsonify(check(request.get_json()["token"]))

@app.post("/api/v1/carrier/verify-batch")
def verify_batch():
    return jsonify({"results": [check(p["token"]) for p in request.get_json()["passengers"]]})
'''


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_for(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"nothing listens on port {port}")


def _prepare(env: dict[str, str], passengers: int) -> dict[str, Any]:
    """Fresh database, a signing key, a carrier key and `passengers` issued authorisations."""
    from sqlalchemy import create_engine, text

    admin = create_engine(DATABASE_SERVER + "/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"DROP DATABASE IF EXISTS {DATABASE_NAME} WITH (FORCE)"))
        connection.execute(text(f"CREATE DATABASE {DATABASE_NAME}"))
    admin.dispose()
    os.environ.update(env)

    from flask_migrate import upgrade

    from eta import applications, authorisations, create_app
    from eta.accounts import create_carrier
    from eta.extensions import db
    from eta.issuance.keys import Keyring
    from eta.timeutil import utcnow
    from tests.factories import submitted_application

    Keyring.load(Path(env["ETA_KEYS_DIR"])).generate()
    app = create_app()
    tokens: list[str] = []
    numbers: list[str] = []
    with app.app_context():
        upgrade()
        _carrier, key = create_carrier(db.session, "Bench Air")
        for index in range(passengers):
            number = f"B{index:08d}"
            application = submitted_application(
                db.session(), passport_number=number, passport_number_normalised=number
            )
            applications.start_screening(db.session, application)
            applications.approve(db.session, application)
            issued_at = utcnow() - (timedelta(days=800) if index % 10 == 9 else timedelta(0))
            authorisation = authorisations.issue_for(db.session, application, now=issued_at)
            if authorisation is None:
                raise RuntimeError("the bench application was not issued an authorisation")
            tokens.append(authorisation.token)
            numbers.append(number)
        jwks = authorisations.public_jwks()
        db.engine.dispose()
    return {"key": key, "tokens": tokens, "numbers": numbers, "jwks": jwks}


def _gunicorn(app_spec: str, port: int, env: dict[str, str], cwd: Path) -> subprocess.Popen[bytes]:
    command = [
        str(Path(sys.executable).parent / "gunicorn"),
        "--workers",
        "2",
        "--bind",
        f"127.0.0.1:{port}",
        "--log-level",
        "warning",
        app_spec,
    ]
    process = subprocess.Popen(command, env={**os.environ, **env}, cwd=cwd, start_new_session=True)
    _wait_for(port)
    return process


def _stop(process: subprocess.Popen[bytes]) -> None:
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)


def _drive(
    port: int,
    path: str,
    bodies: list[bytes],
    headers: dict[str, str],
    connections: int,
    seconds: float,
    queue: Any,
) -> None:
    """Load generator (runs in its own process): closed loop, `connections` at once."""
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    stop_at = time.perf_counter() + seconds

    def client(offset: int) -> None:
        mine: list[float] = []
        failed = 0
        index = offset
        while time.perf_counter() < stop_at:
            body = bodies[index % len(bodies)]
            index += connections
            start = time.perf_counter()
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            try:
                connection.request("POST", path, body=body, headers=headers)
                response = connection.getresponse()
                response.read()
                if response.status != 200:
                    failed += 1
            except OSError:
                failed += 1
            finally:
                connection.close()
            mine.append(time.perf_counter() - start)
        with lock:
            latencies.extend(mine)
            errors[0] += failed

    threads = [threading.Thread(target=client, args=(n,)) for n in range(connections)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    queue.put((latencies, time.perf_counter() - began, errors[0]))


def _warm_up(port: int, path: str, body: bytes, headers: dict[str, str]) -> None:
    """Wait until both gunicorn workers have imported the app and answered a few requests."""
    deadline = time.monotonic() + 120
    answered = 0
    while answered < 20:
        if time.monotonic() > deadline:
            raise RuntimeError(f"port {port} never answered {path} with 200")
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        try:
            connection.request("POST", path, body=body, headers=headers)
            response = connection.getresponse()
            response.read()
            answered += response.status == 200
        except OSError:
            time.sleep(0.2)
        finally:
            connection.close()


def _measure(
    port: int,
    path: str,
    bodies: list[bytes],
    headers: dict[str, str],
    connections: int,
    seconds: float,
) -> tuple[list[float], float, int]:
    """One closed-loop run: the latencies, the seconds it took, the number of non-200 answers."""
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(
        target=_drive, args=(port, path, bodies, headers, connections, seconds, queue)
    )
    process.start()
    latencies, elapsed, errors = queue.get()
    process.join()
    return latencies, elapsed, errors


def _summary(runs: list[tuple[list[float], float, int]]) -> tuple[float, float, float, int]:
    """Requests/s, p50 and p99 in ms, and errors, over several runs of one app."""
    latencies = sorted(latency for run in runs for latency in run[0])
    elapsed = sum(run[1] for run in runs)
    errors = sum(run[2] for run in runs)
    p50 = statistics.median(latencies) * 1000
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000
    return len(latencies) / elapsed, p50, p99, errors


def main() -> None:
    """Set everything up, measure the three workloads on both apps, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--passengers", type=int, default=1000)
    parser.add_argument(
        "--rounds",
        type=int,
        default=4,
        help="alternate eta and the reference this many times per workload (seconds split)",
    )
    parser.add_argument(
        "--only",
        choices=("token", "passport", "batch"),
        action="append",
        help="measure only this workload (repeatable); default: all three",
    )
    args = parser.parse_args()

    load_before = os.getloadavg()[0]  # the machine is shared: say how busy it was
    workdir = Path(tempfile.mkdtemp(prefix="eta-bench-verify-"))
    env = {
        "ETA_ENV": "development",
        "ETA_SECRET_KEY": "bench-secret-key",
        "ETA_DATABASE_URL": f"{DATABASE_SERVER}/{DATABASE_NAME}",
        "ETA_REDIS_URL": REDIS_URL,
        "ETA_KEYS_DIR": str(workdir / "keys"),
        "ETA_ISSUER": "https://eta.bench.example",
        "ETA_MAIL_URL": f"file://{workdir / 'outbox'}",
    }
    print(f"preparing {args.passengers} authorisations in {DATABASE_NAME} ...", flush=True)
    data = _prepare(env, args.passengers)
    (workdir / "jwks.json").write_text(json.dumps(data["jwks"]))
    (workdir / "reference_app.py").write_text(REFERENCE_APP)

    ours_port, reference_port = _free_port(), _free_port()
    # The per-key limit is lifted for the run: the bench measures verification, not the limiter
    # (which still runs, on Redis, for every request).
    ours = _gunicorn(
        "eta:create_app({'ETA_CARRIER_RATE_LIMIT': '10000000/minute'})", ours_port, env, ROOT
    )
    reference = _gunicorn(
        "reference_app:app", reference_port, {"REFERENCE_JWKS": str(workdir / "jwks.json")}, workdir
    )
    tokens, numbers = data["tokens"], data["numbers"]
    by_token = [json.dumps({"token": token}).encode() for token in tokens]
    by_passport = [
        json.dumps({"passport_number": number, "issuing_country": "SWE"}).encode()
        for number in numbers
    ]
    batches_ours: list[bytes] = []
    batches_reference: list[bytes] = []
    for start in range(0, len(tokens), 97):
        passengers: list[dict[str, str]] = []
        for offset in range(BATCH_SIZE):
            index = (start + offset) % len(tokens)
            if offset % 2:
                passengers.append({"passport_number": numbers[index], "issuing_country": "SWE"})
            else:
                passengers.append({"token": tokens[index]})
        batches_ours.append(json.dumps({"passengers": passengers}).encode())
        all_tokens = [{"token": tokens[(start + n) % len(tokens)]} for n in range(BATCH_SIZE)]
        batches_reference.append(json.dumps({"passengers": all_tokens}).encode())

    ours_headers = {"Authorization": f"Bearer {data['key']}", "Content-Type": "application/json"}
    plain = {"Content-Type": "application/json"}
    workloads = [
        ("verify by token", "/api/v1/carrier/verify", by_token, by_token),
        ("verify by passport", "/api/v1/carrier/verify", by_passport, by_token),
        (
            f"batch of {BATCH_SIZE}",
            "/api/v1/carrier/verify-batch",
            batches_ours,
            batches_reference,
        ),
    ]
    if args.only:
        workloads = [w for w in workloads if any(choice in w[0] for choice in args.only)]
    rows = []
    try:
        for name, path, ours_bodies, reference_bodies in workloads:
            connections = args.connections if "batch" not in name else 2
            _warm_up(ours_port, path, ours_bodies[0], ours_headers)
            _warm_up(reference_port, path, reference_bodies[0], plain)
            # Alternating short runs, so a neighbour's burst on a shared machine falls on both
            # apps alike instead of on whichever happened to be measured at the time.
            share = args.seconds / args.rounds
            mine_runs, their_runs = [], []
            for _round in range(args.rounds):
                mine_runs.append(
                    _measure(ours_port, path, ours_bodies, ours_headers, connections, share)
                )
                their_runs.append(
                    _measure(reference_port, path, reference_bodies, plain, connections, share)
                )
            rows.append((name, connections, _summary(mine_runs), _summary(their_runs)))
            print(f"  measured {name}", flush=True)
    finally:
        _stop(ours)
        _stop(reference)
        shutil.rmtree(workdir, ignore_errors=True)

    print()
    print(
        f"{'workload':<20} {'conns':>5} | {'eta req/s':>9} {'p50 ms':>7} {'p99 ms':>7} "
        f"{'errs':>4} | {'ref req/s':>9} {'p50 ms':>7} {'p99 ms':>7} | {'ours/ref':>8}"
    )
    for name, connections, (rate, p50, p99, errs), (ref_rate, ref_p50, ref_p99, _e) in rows:
        print(
            f"{name:<20} {connections:>5} | {rate:>9.1f} {p50:>7.1f} {p99:>7.1f} {errs:>4} |"
            f" {ref_rate:>9.1f} {ref_p50:>7.1f} {ref_p99:>7.1f} | {rate / ref_rate:>8.2f}"
        )
    print(
        f"\n{args.seconds:.0f} s per measurement in {args.rounds} alternating rounds, "
        "gunicorn --workers 2 (sync) for both; "
        f"{os.cpu_count()} CPUs shared by servers, load generator and PostgreSQL; "
        f"load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after."
    )


if __name__ == "__main__":
    main()
