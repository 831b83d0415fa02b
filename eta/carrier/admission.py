"""Admitting a carrier API request: its rate limits and the carrier state's version, one round trip.

Every carrier request must be counted against its key's limits on Redis. The same round trip
reads the version of the carrier state (revocations, keys: see :mod:`eta.carrier.state`), so a
process can answer tokens from what it has in memory and still see a revocation the moment it
is committed, without a database query per request.

The counters are the ones Flask-Limiter's fixed-window strategy keeps (same keys, same expiry),
so its own tools still read them; only the increment and the version read are sent as one Lua
script instead of one call each.
"""

from __future__ import annotations

import functools
import logging
import math
import time
from dataclasses import dataclass
from typing import Any

from limits import RateLimitItem, parse_many
from limits.errors import StorageError
from limits.storage import RedisStorage
from redis.exceptions import RedisError

from eta.carrier.state import VERSION_KEY
from eta.extensions import limiter
from eta.web.problems import PROBLEM_BASE, Problem

log = logging.getLogger(__name__)

LIMIT_SCOPE = "carrier-api"

# KEYS[1]: the state version; KEYS[2..]: one counter per limit, ARGV[i]: that counter's expiry.
# Same increment-then-expire as limits' incr_expire.lua, so the windows behave exactly alike.
_ADMIT_SCRIPT = """
local counts = {}
for i = 2, #KEYS do
    local current = redis.call("incrby", KEYS[i], 1)
    if current == 1 then
        redis.call("expire", KEYS[i], ARGV[i - 1])
    end
    counts[i - 1] = current
end
return {redis.call("get", KEYS[1]) or "", unpack(counts)}
"""


@dataclass(frozen=True)
class Admission:
    """The outcome of admitting a request that is within its limits.

    ``state_version`` is the carrier state's version as Redis had it, or None when it could
    not be read (Redis down, or a limiter storage that is not Redis): then nothing may be
    answered from memory.
    """

    state_version: str | None


@functools.lru_cache(maxsize=16)
def _parsed_limits(text: str) -> tuple[RateLimitItem, ...]:
    return tuple(parse_many(text))


def admit(bucket: str, limits_text: str) -> Admission:
    """Count one request of ``bucket`` against ``limits_text``; a 429 problem when over.

    When Redis is unreachable the request goes through (as RATELIMIT_SWALLOW_ERRORS says for
    the rest of the app: a carrier must not be unable to board passengers because of a
    limiter), with no state version.
    """
    items = _parsed_limits(limits_text)
    strategy = limiter.limiter
    storage = strategy.storage
    if not isinstance(storage, RedisStorage):
        _hit_each(items, bucket)  # another backend: its own calls, and no state to trust
        return Admission(state_version=None)
    counters = [storage.prefixed_key(item.key_for(LIMIT_SCOPE, bucket)) for item in items]
    keys = [VERSION_KEY, *counters]
    expiries = [item.get_expiry() for item in items]
    try:
        reply = _script(storage)(keys, expiries)
    except (RedisError, OSError):
        log.warning("carrier rate limit not checked: Redis unavailable")
        return Admission(state_version=None)
    version, *counts = reply
    for item, count in zip(items, counts, strict=True):
        if int(count) > item.amount:
            raise _over_limit(item, bucket)
    return Admission(state_version=version.decode() if isinstance(version, bytes) else version)


def _script(storage: RedisStorage) -> Any:
    """The script registered on the storage's client (redis-py loads it on first NOSCRIPT)."""
    script = getattr(storage, "_eta_admit_script", None)
    if script is None:
        script = storage.get_connection().register_script(_ADMIT_SCRIPT.encode())
        storage._eta_admit_script = script  # type: ignore[attr-defined]
    return script


def _hit_each(items: tuple[RateLimitItem, ...], bucket: str) -> None:
    strategy = limiter.limiter
    for item in items:
        try:
            allowed = strategy.hit(item, LIMIT_SCOPE, bucket)
        except (RedisError, StorageError, OSError):
            log.warning("carrier rate limit not checked: limiter storage unavailable")
            return
        if not allowed:
            raise _over_limit(item, bucket)


def _over_limit(item: RateLimitItem, bucket: str) -> Problem:
    """The 429 problem, with Retry-After from the window's reset time."""
    try:
        reset_at = limiter.limiter.get_window_stats(item, LIMIT_SCOPE, bucket).reset_time
    except (RedisError, StorageError, OSError):
        reset_at = time.time() + item.get_expiry()
    retry_after = max(1, math.ceil(reset_at - time.time()))
    return Problem(
        429,
        "Too Many Requests",
        f"This API key is over its limit of {item} requests. "
        "Retry after the number of seconds in Retry-After, or ask for a higher limit.",
        type_=PROBLEM_BASE + "rate-limited",
        headers={"Retry-After": str(retry_after)},
    )
