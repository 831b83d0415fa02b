"""Admitting a carrier API request: its rate limits and the carrier state's version, one round trip.

Every carrier request with a valid key is counted against that key's limits (by key id) on
Redis. The same round trip reads the version of the carrier state (revocations, keys: see
:mod:`eta.carrier.state`), so a process can answer tokens from what it has in memory and still
see a revocation the moment it is committed, without a database query per request.

Requests refused with 401 (no key, a malformed or an unknown one) are counted per client
address instead (:func:`refuse_if_over`, :func:`count_refused`): an address over that allowance
gets 429 for any key the process has not yet seen, before the database is asked. Counting by
the key's text would let an attacker spend a real carrier's allowance with invalid keys that
share its prefix, and give random invalid keys an allowance each.

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
from typing import Any, cast

from limits import RateLimitItem, parse_many
from limits.errors import StorageError
from limits.storage import RedisStorage
from redis import Redis
from redis.exceptions import RedisError

from eta.carrier.state import VERSION_KEY
from eta.extensions import limiter
from eta.web.problems import PROBLEM_BASE, Problem

log = logging.getLogger(__name__)

LIMIT_SCOPE = "carrier-api"
REFUSED_SCOPE = "carrier-api-refused"

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
            raise _over_limit(item, LIMIT_SCOPE, bucket, _KEY_OVER)
    return Admission(state_version=version.decode() if isinstance(version, bytes) else version)


def refuse_if_over(address: str, limits_text: str) -> None:
    """A 429 problem when ``address`` has used up its allowance of refused requests.

    One read (no count): called before a key the process does not know is looked up, so an
    address guessing keys stops costing database queries once over. Redis unreachable: the
    request goes on to the look-up, as :func:`admit` lets requests through.
    """
    items = _parsed_limits(limits_text)
    storage = limiter.limiter.storage
    try:
        if isinstance(storage, RedisStorage):
            counters = [storage.prefixed_key(i.key_for(REFUSED_SCOPE, address)) for i in items]
            counts = cast(Redis, storage.get_connection()).mget(counters)
            over = [
                item for item, n in zip(items, counts, strict=True) if int(n or 0) >= item.amount
            ]
        else:
            over = [
                item for item in items if not limiter.limiter.test(item, REFUSED_SCOPE, address)
            ]
    except (RedisError, StorageError, OSError):
        log.warning("carrier refused-key limit not checked: limiter storage unavailable")
        return
    if over:
        raise _over_limit(over[0], REFUSED_SCOPE, address, _ADDRESS_OVER)


def count_refused(address: str, limits_text: str) -> None:
    """Count one refused request (401) against ``address`` (best effort, one round trip)."""
    items = _parsed_limits(limits_text)
    storage = limiter.limiter.storage
    if not isinstance(storage, RedisStorage):
        for item in items:
            try:
                limiter.limiter.hit(item, REFUSED_SCOPE, address)
            except (RedisError, StorageError, OSError):
                return
        return
    counters = [storage.prefixed_key(item.key_for(REFUSED_SCOPE, address)) for item in items]
    try:
        # The admission script, so the counters expire exactly as the limits' own do.
        _script(storage)([VERSION_KEY, *counters], [item.get_expiry() for item in items])
    except (RedisError, OSError):
        log.warning("carrier refused-key limit not counted: Redis unavailable")


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
            raise _over_limit(item, LIMIT_SCOPE, bucket, _KEY_OVER)


_KEY_OVER = (
    "This API key is over its limit of {item} requests. "
    "Retry after the number of seconds in Retry-After, or ask for a higher limit."
)
_ADDRESS_OVER = (
    "Too many requests from this address had no valid API key (limit: {item}). "
    "Retry after the number of seconds in Retry-After with a valid key."
)


def _over_limit(item: RateLimitItem, scope: str, bucket: str, detail: str) -> Problem:
    """The 429 problem, with Retry-After from the window's reset time."""
    try:
        reset_at = limiter.limiter.get_window_stats(item, scope, bucket).reset_time
    except (RedisError, StorageError, OSError):
        reset_at = time.time() + item.get_expiry()
    retry_after = max(1, math.ceil(reset_at - time.time()))
    return Problem(
        429,
        "Too Many Requests",
        detail.format(item=item),
        type_=PROBLEM_BASE + "rate-limited",
        headers={"Retry-After": str(retry_after)},
    )
