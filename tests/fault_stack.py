"""Real processes for the multi-machine fault drills (issue 19): Redis behind Sentinel, gunicorn
nodes behind haproxy, `eta worker`s, and an HTTP client submitting under load.

Shared by the drills in the suite (tests/test_redis_sentinel.py, tests/test_web_node_loss.py)
and their `bench/drills.py` subcommands, which print the same figures over longer runs. Every
process listens on a spare port of 127.0.0.1 and is ended by the object that started it, by its
own pid (a gunicorn node by its own process group).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
MASTER = "eta"
# Sentinel's failure detection, short for a drill (production keeps its own, in seconds).
DOWN_AFTER_MS = 1000
FAILOVER_TIMEOUT_MS = 5000


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def missing_programs(*names: str) -> list[str]:
    """The programs of `names` not on PATH (the drill skips, or .ci/run installs them)."""
    return [name for name in names if shutil.which(name) is None]


def _stop(process: subprocess.Popen[Any] | None, seconds: float = 10) -> None:
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(seconds)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _wait(condition: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if condition():
                return
        except (OSError, requests.RequestException):
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{what} within {seconds:.0f} s")


def _redis_ping(port: int) -> bool:
    from redis import Redis

    return bool(Redis(port=port, socket_connect_timeout=0.5, socket_timeout=0.5).ping())


def redis_server(port: int, directory: Path, *extra: str) -> subprocess.Popen[bytes]:
    """A redis-server on `port` without persistence (Redis holds only work to do)."""
    directory.mkdir(parents=True, exist_ok=True)
    server = subprocess.Popen(
        [
            *("redis-server", "--port", str(port), "--bind", "127.0.0.1"),
            *("--save", "", "--appendonly", "no", "--dir", str(directory), *extra),
        ],
        stdout=subprocess.DEVNULL,
    )
    _wait(lambda: _redis_ping(port), 10, f"redis-server on {port} did not start")
    return server


class SentinelRedis:
    """A Redis primary, one replica and three Sentinels watching them (quorum 2)."""

    def __init__(self, directory: Path, master: str = MASTER) -> None:
        self.directory, self.master = directory, master
        self.primary_port, self.replica_port = free_port(), free_port()
        self.sentinel_ports = [free_port() for _ in range(3)]
        self.primary: subprocess.Popen[bytes] | None = None
        self.replica: subprocess.Popen[bytes] | None = None
        self.sentinels: list[subprocess.Popen[bytes]] = []

    @property
    def addresses(self) -> str:
        """The Sentinels as ETA_REDIS_SENTINELS lists them."""
        return ",".join(f"127.0.0.1:{port}" for port in self.sentinel_ports)

    def env(self) -> dict[str, str]:
        """What an eta process needs to reach Redis through these Sentinels."""
        return {"ETA_REDIS_SENTINELS": self.addresses, "ETA_REDIS_SENTINEL_MASTER": self.master}

    def start(self) -> None:
        """Start the primary, the replica (in sync) and the Sentinels (each knowing the others)."""
        self.primary = redis_server(self.primary_port, self.directory / "primary")
        self.replica = redis_server(
            self.replica_port,
            self.directory / "replica",
            *("--replicaof", "127.0.0.1", str(self.primary_port)),
        )
        _wait(self._replica_in_sync, 15, "the replica did not sync")
        for port in self.sentinel_ports:
            folder = self.directory / f"sentinel-{port}"
            folder.mkdir(parents=True, exist_ok=True)
            configuration = folder / "sentinel.conf"  # Sentinel rewrites it: one each
            configuration.write_text(
                f"port {port}\nbind 127.0.0.1\ndir {folder}\n"
                f"sentinel monitor {self.master} 127.0.0.1 {self.primary_port} 2\n"
                f"sentinel down-after-milliseconds {self.master} {DOWN_AFTER_MS}\n"
                f"sentinel failover-timeout {self.master} {FAILOVER_TIMEOUT_MS}\n"
                f"sentinel parallel-syncs {self.master} 1\n"
            )
            self.sentinels.append(
                subprocess.Popen(
                    ["redis-sentinel", str(configuration)],
                    stdout=subprocess.DEVNULL,
                )
            )
        # A failover needs a majority of Sentinels that know each other and the replica.
        _wait(self._sentinels_ready, 30, "the Sentinels did not find each other")

    def _replica_in_sync(self) -> bool:
        from redis import Redis

        info = Redis(port=self.replica_port, socket_timeout=0.5).info("replication")
        return info.get("master_link_status") == "up"

    def _sentinels_ready(self) -> bool:
        from redis import Redis

        for port in self.sentinel_ports:
            sentinel = Redis(port=port, socket_timeout=0.5, decode_responses=True)
            state = sentinel.sentinel_master(self.master)
            if int(state["num-other-sentinels"]) < 2 or int(state["num-slaves"]) < 1:
                return False
        return True

    def master_port(self) -> int | None:
        """The master's port as a majority of the Sentinels now name it (None: no agreement)."""
        from redis import Redis
        from redis.exceptions import RedisError

        named: dict[int, int] = {}
        for port in self.sentinel_ports:
            try:
                sentinel = Redis(port=port, socket_timeout=0.5)
                address = sentinel.sentinel_get_master_addr_by_name(self.master)
            except (OSError, RedisError):  # a Sentinel that cannot answer has no say
                continue
            if address:
                named[int(address[1])] = named.get(int(address[1]), 0) + 1
        for port, votes in named.items():
            if votes >= 2:
                return port
        return None

    def workers(self) -> int:
        """How many RQ workers the primary has registered (they are up and listening)."""
        from redis import Redis

        return int(Redis(port=self.primary_port, socket_timeout=0.5).scard("rq:workers"))

    def kill_primary(self) -> float:
        """SIGKILL the primary (no goodbye to anyone); returns the monotonic time it died."""
        assert self.primary is not None  # started first
        self.primary.send_signal(signal.SIGKILL)
        self.primary.wait()
        return time.monotonic()

    def wait_promoted(self, seconds: float = 30) -> float:
        """Wait until the Sentinels name the replica master and it accepts writes; returns when."""
        from redis import Redis

        def promoted() -> bool:
            if self.master_port() != self.replica_port:
                return False
            role = Redis(port=self.replica_port, socket_timeout=0.5).info("replication")["role"]
            return bool(role == "master")

        _wait(promoted, seconds, "Sentinel did not promote the replica")
        return time.monotonic()

    def stop(self) -> None:
        """End every process this set started."""
        for process in (*self.sentinels, self.replica, self.primary):
            _stop(process)


class GunicornNode:
    """`gunicorn wsgi:app` on a spare port, in a process group of its own (a whole node)."""

    def __init__(self, env: Mapping[str, str], workers: int = 2, log: Path | None = None) -> None:
        self.port = free_port()
        self.env, self.workers, self.log = dict(env), workers, log
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The node's base URL."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        """Start the node and wait until it answers /healthz."""
        output: Any = self.log.open("ab") if self.log else subprocess.DEVNULL
        self.process = subprocess.Popen(
            [
                str(BIN / "gunicorn"),
                *("--workers", str(self.workers), "--bind", f"127.0.0.1:{self.port}"),
                *("--timeout", "60", "--graceful-timeout", "5", "wsgi:app"),
            ],
            cwd=ROOT,
            env=self.env,
            stdout=output,
            stderr=output,
            start_new_session=True,  # its own group: SIGKILL takes master and workers at once
        )
        if self.log:
            output.close()  # the node writes to its own copy
        _wait(
            lambda: requests.get(f"{self.url}/healthz", timeout=1).status_code == 200,
            60,
            f"gunicorn on {self.port} did not start",
        )

    def kill(self) -> None:
        """SIGKILL the master and every worker at once, as a machine that loses power."""
        assert self.process is not None  # started first
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        """Stop the node (SIGTERM to its master, which stops its workers)."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


def haproxy_config(
    port: int, servers: Iterable[int], stats_port: int, *, health_checks: bool = True
) -> str:
    """An haproxy configuration balancing `servers`, retrying what is safe to retry.

    haproxy 2.6 applies `retry-on` to any method, POST included, but only to a request it holds
    whole: `option http-buffer-request` makes it read the body before choosing a node (without
    it a POST whose node dies answers 502, and one on a kept-alive connection is dropped
    without an answer). A request is then retried on another node when its connection failed
    (conn-failure: never sent), or when the node closed it or stayed silent without a byte of
    answer (empty-response, response-timeout: the node died mid-request). That is safe for reads
    and for a submission with an Idempotency-Key (SPEC §6: the retry answers the first
    submission's reference); every other POST (forms, decisions) is retried only when it was
    never sent (`disable-l7-retry`). 5xx answers go back to the client as they are: a 503 with
    Retry-After is the application's answer, not a node lost.
    """
    check = " check inter 500ms fall 2 rise 2" if health_checks else ""
    lines = [
        "global",
        "    maxconn 256",
        "    log stdout format raw local0",
        "defaults",
        "    mode http",
        "    log global",
        "    option httplog",
        "    timeout connect 1s",
        "    timeout client 60s",
        "    timeout server 30s",
        "    option http-server-close",
        # The whole request is read before a node is chosen: only then can it be replayed.
        "    option http-buffer-request",
        "    retries 3",
        "    option redispatch 1",
        "    retry-on conn-failure empty-response response-timeout",
        "frontend web",
        f"    bind 127.0.0.1:{port}",
        "    default_backend nodes",
        "backend nodes",
        "    balance roundrobin",
        "    acl idempotent_post req.hdr(Idempotency-Key) -m found",
        "    http-request disable-l7-retry if METH_POST !idempotent_post",
        "    option httpchk GET /healthz",
        *(
            f"    server node{n} 127.0.0.1:{server}{check}"
            for n, server in enumerate(servers, start=1)
        ),
        "listen stats",
        f"    bind 127.0.0.1:{stats_port}",
        "    stats enable",
        "    stats uri /stats",
    ]
    return "\n".join(lines) + "\n"


class Haproxy:
    """Debian's haproxy in front of `servers`, with its configuration in `directory`."""

    def __init__(
        self, directory: Path, servers: Iterable[int], *, health_checks: bool = True
    ) -> None:
        self.port, self.stats_port = free_port(), free_port()
        directory.mkdir(parents=True, exist_ok=True)
        self.configuration = directory / "haproxy.cfg"
        self.configuration.write_text(
            haproxy_config(self.port, servers, self.stats_port, health_checks=health_checks)
        )
        self.health_checks = health_checks
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The balancer's base URL."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        """Check the configuration, start haproxy in the foreground, wait for it to answer."""
        subprocess.run(
            ["haproxy", "-c", "-q", "-f", str(self.configuration)],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        with (self.configuration.parent / "haproxy.log").open("ab") as log:
            self.process = subprocess.Popen(
                ["haproxy", "-db", "-f", str(self.configuration)], stdout=log, stderr=log
            )
        _wait(
            lambda: requests.get(f"http://127.0.0.1:{self.stats_port}/stats", timeout=1).ok,
            20,
            "haproxy did not start",
        )
        if self.health_checks:  # and a node to send to
            _wait(
                lambda: requests.get(f"{self.url}/healthz", timeout=1).status_code == 200,
                20,
                "haproxy found no node up",
            )

    def retries(self) -> dict[str, int]:
        """The backend's retried and redispatched requests, from haproxy's CSV statistics."""
        text = requests.get(f"http://127.0.0.1:{self.stats_port}/stats;csv", timeout=5).text
        header, *rows = text.splitlines()
        names = header.lstrip("# ").split(",")
        for row in rows:
            values = dict(zip(names, row.split(","), strict=False))
            if values.get("pxname") == "nodes" and values.get("svname") == "BACKEND":
                return {
                    "retried": int(values.get("wretr") or 0),
                    "redispatched": int(values.get("wredis") or 0),
                }
        return {"retried": 0, "redispatched": 0}

    def stop(self) -> None:
        """Stop haproxy."""
        _stop(self.process)


def worker(env: Mapping[str, str], log: Path | None = None) -> subprocess.Popen[bytes]:
    """An `eta worker` process (all queues, with the scheduler and the periodic ticker)."""
    output: Any = log.open("ab") if log else subprocess.DEVNULL
    process = subprocess.Popen(
        [str(BIN / "eta"), "worker"],
        cwd=ROOT,
        env=dict(env),
        stdout=output,
        stderr=output,
    )
    if log:
        output.close()  # the worker writes to its own copy
    return process


def stop_worker(process: subprocess.Popen[bytes]) -> None:
    """Stop a worker; a warm shutdown waits for its scheduler, so end it after 30 s."""
    _stop(process, 30)


@dataclass
class Load:
    """What the client saw while submitting: references accepted, errors and retries."""

    references: dict[str, str] = field(default_factory=dict)  # passport number -> reference
    errors: list[str] = field(default_factory=list)  # answers the client saw that were not 202
    slowest: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)


def submit_load(
    base_url: str,
    numbers: list[str],
    load: Load,
    *,
    threads: int = 3,
    pause: float = 0.02,
    give_up_after: float = 90,
) -> None:
    """Submit an application for each passport number over HTTP, `threads` at a time.

    Each carries an Idempotency-Key of its own; an answer other than 202 (a 503, a connection
    refused) is noted in `load.errors` and retried with the same key and body, as a client
    should, until accepted or `give_up_after` seconds have passed.
    """
    from tests.factories import valid_payload

    queue = list(numbers)
    take = threading.Lock()

    def run() -> None:
        session = requests.Session()
        while True:
            with take:
                if not queue:
                    return
                number = queue.pop(0)
            body = valid_payload(passport={**valid_payload()["passport"], "number": number})
            headers = {"Idempotency-Key": f"drill-{number}"}
            deadline = time.monotonic() + give_up_after
            while time.monotonic() < deadline:
                started = time.monotonic()
                try:
                    answer = session.post(
                        f"{base_url}/api/v1/applications",
                        json=body,
                        headers=headers,
                        timeout=60,
                    )
                except requests.RequestException as error:
                    seen = f"{type(error).__name__} ({str(error)[-80:]})"
                    session = requests.Session()
                else:
                    if answer.status_code == 202:
                        with load.lock:
                            load.references[number] = answer.json()["reference"]
                            load.slowest = max(load.slowest, time.monotonic() - started)
                        break
                    seen = f"HTTP {answer.status_code}"
                with load.lock:
                    load.errors.append(seen)
                time.sleep(0.2)
            time.sleep(pause)

    running = [threading.Thread(target=run) for _ in range(threads)]
    for thread in running:
        thread.start()
    for thread in running:
        thread.join()


@dataclass
class Outcome:
    """A drill's figures: what the client was told was accepted, and what the database says."""

    submitted: int
    decided: int
    duplicated: int
    resent: int = 0  # outbox rows the relay pushed again after the push at commit failed
    seconds: float = 0.0
    client_errors: int = 0  # answers other than 202 the client saw (and retried)
    redis_ready: str | None = None  # /readyz's Redis check after the fault ("ok")
    workers_alive: int | None = None  # eta worker processes still running after the fault
    notes: list[str] = field(default_factory=list)

    @property
    def lost(self) -> int:
        """Accepted applications never decided."""
        return self.submitted - self.decided


def wait_decided(database_url: str, load: Load, numbers: list[str], seconds: float) -> Outcome:
    """Wait until every accepted application is decided (or `seconds` pass); count the figures.

    Duplicated: an application with more than one decision event, or a second application for
    one of the drill's passport numbers (a retried submission that made another).
    """
    from sqlalchemy import create_engine, func, select

    from eta.models import Application, ApplicationEvent, OutboxMessage
    from eta.models import ApplicationStatus as S

    references = list(load.references.values())
    engine = create_engine(database_url)
    try:
        deadline = time.monotonic() + seconds
        with engine.connect() as connection:
            while True:
                decided = int(
                    connection.scalar(
                        select(func.count()).where(
                            Application.reference.in_(references),
                            Application.status.in_((S.APPROVED, S.REFERRED)),
                        )
                    )
                    or 0
                )
                connection.rollback()
                if decided == len(references) or time.monotonic() > deadline:
                    break
                time.sleep(0.5)
            made = int(
                connection.scalar(
                    select(func.count()).where(Application.passport_number.in_(numbers))
                )
                or 0
            )
            decisions = connection.execute(
                select(ApplicationEvent.application_id, func.count())
                .join(Application, Application.id == ApplicationEvent.application_id)
                .where(
                    Application.passport_number.in_(numbers),
                    ApplicationEvent.to_status.in_((S.APPROVED, S.REFERRED)),
                )
                .group_by(ApplicationEvent.application_id)
            ).all()
            # Pushed at commit, the row's sent_at is its created_at; a later one is the relay's.
            resent = int(
                connection.scalar(
                    select(func.count()).where(
                        OutboxMessage.key.like("screen-%"),
                        OutboxMessage.sent_at > OutboxMessage.created_at,
                    )
                )
                or 0
            )
    finally:
        engine.dispose()
    duplicated = sum(1 for _id, count in decisions if count > 1)
    duplicated += max(made - len(set(references)), 0)
    duplicated += len(references) - len(set(references))
    return Outcome(len(references), decided, duplicated, resent)


def numbers_for(prefix: str, count: int, offset: int = 0) -> list[str]:
    """Passport numbers of a drill's applications (unique per drill run)."""
    stamp = f"{int(time.time()) % 100000:05d}"
    return [f"{prefix}{stamp}{offset + n:03d}" for n in range(count)]


def drill_env(base: Mapping[str, str], **overrides: str) -> dict[str, str]:
    """The environment of a drill's processes: `base` with quick recovery and no rate limit."""
    env = {
        **base,
        "ETA_STUCK_AFTER_SECONDS": "5",
        "ETA_SWEEP_SECONDS": "5",
        "ETA_CHECK_TIMEOUT_SECONDS": "1",
        "ETA_APPLY_RATE_LIMIT": "100000/minute",
        "ETA_RETRY_AFTER_SECONDS": "1",
        "PYTHONPATH": str(ROOT),
        **overrides,
    }
    return env


def run_sentinel_drill(
    env: Mapping[str, str],
    database_url: str,
    directory: Path,
    *,
    applications: int = 30,
    workers: int = 2,
    wait: float = 90,
) -> Outcome:
    """Redis primary SIGKILLed under submission load; Sentinel promotes the replica.

    One gunicorn node and `workers` `eta worker`s reach Redis through the three Sentinels; a
    third of the applications is submitted before the kill, a third while Sentinel fails over,
    and the last third once the replica is master. Returns the figures once every accepted
    application is decided (or `wait` seconds have passed).
    """
    redis = SentinelRedis(directory / "redis")
    redis.start()
    drilled = drill_env(env, **redis.env())
    drilled.pop("ETA_REDIS_URL", None)
    web = GunicornNode(drilled, log=directory / "web.log")
    running: list[subprocess.Popen[bytes]] = []
    started = time.monotonic()
    try:
        web.start()
        running = [worker(drilled, directory / f"worker-{n}.log") for n in range(workers)]
        _wait(lambda: redis.workers() >= workers, 60, "the workers did not start")
        numbers = numbers_for("S", applications)
        load = Load()
        third = applications // 3
        submit_load(web.url, numbers[:third], load)
        killed = redis.kill_primary()
        during = threading.Thread(
            target=submit_load, args=(web.url, numbers[third : 2 * third], load)
        )
        during.start()
        promoted = redis.wait_promoted()
        during.join()
        # After the failover: these are queued on the new master, for reconnected workers.
        submit_load(web.url, numbers[2 * third :], load)
        outcome = wait_decided(database_url, load, numbers, wait)
        ready = requests.get(f"{web.url}/readyz", timeout=10).json()["checks"]["redis"]
        outcome.notes.append(
            f"replica promoted {promoted - killed:.1f} s after the primary's SIGKILL; "
            f"client saw {len(load.errors)} non-202 answers ({_summary(load.errors)}); slowest "
            f"accepted submission {load.slowest:.1f} s; /readyz's Redis check after: {ready}; "
            f"workers running: {sum(p.poll() is None for p in running)} of {len(running)}"
        )
        outcome.client_errors = len(load.errors)
        outcome.redis_ready = ready
        outcome.workers_alive = sum(p.poll() is None for p in running)
    finally:
        for process in running:
            stop_worker(process)
        web.stop()
        redis.stop()
    outcome.seconds = time.monotonic() - started
    return outcome


def run_web_node_drill(
    env: Mapping[str, str],
    database_url: str,
    directory: Path,
    *,
    applications: int = 40,
    wait: float = 90,
) -> Outcome:
    """One of two gunicorn nodes behind haproxy SIGKILLed (master and workers) under load.

    Redis is a plain redis-server of the drill's own; one `eta worker` decides. The client
    submits through haproxy; the node dies once a third of the applications is accepted.
    """
    redis = redis_server(free_port(), directory / "redis")
    port = int(redis.args[2])
    drilled = drill_env(env, ETA_REDIS_URL=f"redis://127.0.0.1:{port}/0")
    for name in ("ETA_REDIS_SENTINELS", "ETA_REDIS_SENTINEL_MASTER"):
        drilled.pop(name, None)
    nodes = [GunicornNode(drilled, log=directory / f"node-{n}.log") for n in (1, 2)]
    balancer: Haproxy | None = None
    running: subprocess.Popen[bytes] | None = None
    started = time.monotonic()
    try:
        for node in nodes:
            node.start()
        balancer = Haproxy(directory / "haproxy", [node.port for node in nodes])
        balancer.start()
        running = worker(drilled, directory / "worker.log")
        numbers = numbers_for("W", applications)
        load = Load()
        loading = threading.Thread(
            target=submit_load, args=(balancer.url, numbers, load), kwargs={"threads": 4}
        )
        loading.start()
        _wait(lambda: len(load.references) >= applications // 3, 60, "no submissions accepted")
        nodes[0].kill()
        loading.join()
        retries = balancer.retries()
        outcome = wait_decided(database_url, load, numbers, wait)
        outcome.notes.append(
            f"client saw {len(load.errors)} non-202 answers ({_summary(load.errors)}); haproxy "
            f"retried {retries['retried']} and redispatched {retries['redispatched']} "
            f"requests; slowest accepted submission {load.slowest:.1f} s"
        )
        outcome.client_errors = len(load.errors)
        outcome.workers_alive = int(running.poll() is None)
    finally:
        if running is not None:
            stop_worker(running)
        if balancer is not None:
            balancer.stop()
        for node in nodes:
            node.stop()
        _stop(redis)
    outcome.seconds = time.monotonic() - started
    return outcome


def _summary(errors: list[str]) -> str:
    if not errors:
        return "none"
    counts: dict[str, int] = {}
    for error in errors:
        counts[error] = counts.get(error, 0) + 1
    return ", ".join(f"{count} × {name}" for name, count in sorted(counts.items()))
