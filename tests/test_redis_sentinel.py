"""Redis primary SIGKILLed behind Sentinel under submission load (issue 19's drill, in the suite).

Real parts: a Redis primary, a replica and three Sentinels (Debian's redis-server and
redis-sentinel), a gunicorn node and two `eta worker`s reaching Redis through the Sentinels
(ETA_REDIS_SENTINELS), an HTTP client submitting with Idempotency-Keys. A third of the
applications is submitted before the primary is SIGKILLed, a third while Sentinel promotes the
replica, a third after: every accepted application ends decided, once, the web node answers
/readyz through the new master and no worker died. PostgreSQL stack only (the web node and the
workers share the test database); tests/fault_stack.py has the processes.
"""

from __future__ import annotations

import os

import pytest

from tests import fault_stack

pytestmark = pytest.mark.drill

APPLICATIONS = 18
WORKERS = 2


@pytest.fixture
def database_url(app) -> str:
    """The test database, emptied for this test (conftest), which the drill's processes share."""
    url = os.environ.get("ETA_DATABASE_URL", "")
    if not url.startswith("postgresql"):
        pytest.skip("the PostgreSQL stack's drill (several processes share the database)")
    missing = fault_stack.missing_programs("redis-server", "redis-sentinel")
    if missing:
        pytest.skip(f"needs {', '.join(missing)} (.ci/run installs them)")
    return url


def test_redis_primary_killed_behind_sentinel_under_load(database_url, tmp_path):
    outcome = fault_stack.run_sentinel_drill(
        dict(os.environ), database_url, tmp_path, applications=APPLICATIONS, workers=WORKERS
    )

    assert outcome.submitted == APPLICATIONS, outcome.notes
    assert outcome.lost == 0, outcome.notes  # every accepted application decided
    assert outcome.duplicated == 0, outcome.notes  # none decided twice, no second application
    assert outcome.redis_ready == "ok", outcome.notes  # the web node reconnected
    assert outcome.workers_alive == WORKERS, outcome.notes  # workers rode out the failover


def test_sentinel_settings_reach_the_client_and_the_rate_limiter(tmp_path):
    """ETA_REDIS_SENTINELS makes eta's client (the app's, `eta worker`'s) and the rate
    limiter's storage go through Sentinel to the master it names, database number included."""
    if fault_stack.missing_programs("redis-server", "redis-sentinel"):
        pytest.skip("needs redis-server and redis-sentinel")
    from limits.storage import storage_from_string
    from redis import Redis
    from redis.sentinel import SentinelConnectionPool

    from config import load_settings
    from eta.redis_connection import connect_configured, limiter_storage

    redis = fault_stack.SentinelRedis(tmp_path / "redis")
    redis.start()
    try:
        settings = load_settings(tmp_path, {**redis.env(), "ETA_REDIS_SENTINEL_DB": "3"})
        client = connect_configured(settings)
        assert isinstance(client.connection_pool, SentinelConnectionPool)
        client.set("eta:drill", "through sentinel")
        assert Redis(port=redis.primary_port, db=3).get("eta:drill") == b"through sentinel"

        uri, options = limiter_storage(settings)
        assert uri == f"redis+sentinel://{redis.addresses}/{redis.master}"
        storage = storage_from_string(uri, **options)
        assert storage.check()
        storage.incr("eta:drill:limit", 60)
        assert Redis(port=redis.primary_port, db=3).exists("LIMITS:eta:drill:limit")
    finally:
        redis.stop()
