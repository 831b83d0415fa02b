"""Submissions per second through POST /api/v1/applications on gunicorn, PostgreSQL and Redis.

Run: `.venv/bin/python bench/submit.py [--workers 1 2] [--seconds 10] [--clients 8]`.
Needs PostgreSQL and Redis (defaults: postgresql+psycopg://postgres@127.0.0.1:5432 and
redis://127.0.0.1:6379/13). It recreates the database `eta_bench_submit`, migrates it, starts
gunicorn with each worker count (rate limits off: one client address sends everything), and
drives it with keep-alive HTTP clients for a fixed time. Every submission commits the
application, its event and audit record, and queues screening and the receipt email in Redis.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
VENV_BIN = Path(sys.executable).parent
DATABASE = "eta_bench_submit"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _payload(n: int) -> bytes:
    from tests.factories import valid_payload

    payload = valid_payload(email=f"anna{n}@example.org")
    payload["passport"]["number"] = f"BX{n:07d}"  # a passport of its own: no history hits
    return json.dumps(payload).encode()


def _prepare_database(admin_url: str, env: dict[str, str]) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(admin_url + "/postgres", isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)"))
        connection.execute(text(f"CREATE DATABASE {DATABASE}"))
    engine.dispose()
    subprocess.run([str(VENV_BIN / "eta"), "db", "upgrade"], env=env, check=True, cwd=ROOT)


def _wait_for(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/healthz")
            if connection.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("gunicorn did not start")


def _drive(port: int, seconds: float, clients: int) -> tuple[int, int, list[float]]:
    """Submit from `clients` keep-alive connections for `seconds`; (accepted, other, latencies)."""
    stop = time.monotonic() + seconds
    lock = threading.Lock()
    accepted = [0]
    other = [0]
    latencies: list[float] = []
    counter = [0]

    def client() -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while time.monotonic() < stop:
            with lock:
                counter[0] += 1
                n = counter[0]
            started = time.perf_counter()
            connection.request(
                "POST",
                "/api/v1/applications",
                body=_payload(n),
                headers={"Content-Type": "application/json"},
            )
            response = connection.getresponse()
            response.read()
            elapsed = time.perf_counter() - started
            with lock:
                latencies.append(elapsed)
                if response.status == 202:
                    accepted[0] += 1
                else:
                    other[0] += 1

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return accepted[0], other[0], latencies


def main() -> None:
    """Run the benchmark for each worker count and print a table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/13")
    args = parser.parse_args()

    env = {
        **os.environ,
        "ETA_ENV": "development",
        "ETA_SECRET_KEY": "bench-secret-key-not-for-production",
        "ETA_DATABASE_URL": f"{args.postgres}/{DATABASE}",
        "ETA_REDIS_URL": args.redis,
        "ETA_MAIL_URL": "file:///tmp/eta-bench-outbox",
    }
    _prepare_database(args.postgres, env)
    rows = []
    for workers in args.workers:
        port = _free_port()
        server = subprocess.Popen(
            [
                str(VENV_BIN / "gunicorn"),
                "--workers",
                str(workers),
                "--bind",
                f"127.0.0.1:{port}",
                "--log-level",
                "warning",
                'eta:create_app({"RATELIMIT_ENABLED": False})',
            ],
            env=env,
            cwd=ROOT,
        )
        try:
            _wait_for(port)
            _drive(port, 2.0, args.clients)  # warm-up: imports, pools, caches
            accepted, other, latencies = _drive(port, args.seconds, args.clients)
        finally:
            server.terminate()
            server.wait(timeout=30)
        latencies.sort()
        rows.append(
            (
                workers,
                accepted,
                other,
                accepted / args.seconds,
                statistics.median(latencies) * 1000,
                latencies[int(len(latencies) * 0.95)] * 1000,
            )
        )

    print(f"POST /api/v1/applications, {args.clients} keep-alive clients, {args.seconds:g} s each")
    header = ("workers", "accepted", "other", "submissions/s", "p50 ms", "p95 ms")
    print("{:>7} {:>9} {:>6} {:>14} {:>7} {:>7}".format(*header))
    for workers, accepted, other, rate, p50, p95 in rows:
        print(f"{workers:>7} {accepted:>9} {other:>6} {rate:>14.1f} {p50:>7.1f} {p95:>7.1f}")


if __name__ == "__main__":
    main()
