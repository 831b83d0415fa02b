"""Liveness and readiness: /readyz names what is down, /healthz stays up."""

from __future__ import annotations

import os

import pytest

from eta.redis_connection import EmbeddedRedis


@pytest.fixture
def a_watchlist(session, tmp_path):
    """One loaded list: without any, /readyz says so (screening would refer everyone)."""
    from eta.screening import lists

    path = tmp_path / "list.csv"
    path.write_text("id,full_name\nH-1,Quentin Zebulon Halvorsen\n", encoding="utf-8")
    lists.import_watchlist(session, source="HEALTH", fmt="csv", path=path, actor="test")


def test_healthz_and_readyz_when_everything_is_up(client, a_watchlist):
    assert client.get("/healthz").status_code == 200
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json == {
        "status": "ok",
        "checks": {"database": "ok", "redis": "ok", "watchlist": "ok"},
    }


def test_readyz_names_a_missing_watchlist(client):
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json["checks"]["watchlist"] == "no watchlist loaded"
    assert response.json["detail"] == "watchlist: no watchlist loaded"


def test_stopping_redis_makes_readyz_fail_naming_redis(
    app, make_app, tmp_path, monkeypatch, a_watchlist
):
    own_redis = EmbeddedRedis(tmp_path / "redis")
    monkeypatch.setenv("ETA_REDIS_URL", own_redis.url)
    second = make_app()
    client = second.test_client()
    assert client.get("/readyz").status_code == 200

    own_redis.shutdown()
    assert not os.path.exists(own_redis.url.removeprefix("unix://"))

    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json["checks"] == {"database": "ok", "redis": "unavailable", "watchlist": "ok"}
    assert "redis" in response.json["detail"]
    assert client.get("/healthz").status_code == 200


def test_unreachable_database_is_named(app, make_app, monkeypatch):
    monkeypatch.setenv("ETA_DATABASE_URL", "postgresql+psycopg://nobody@127.0.0.1:1/none")
    client = make_app().test_client()
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json["checks"]["database"] == "unavailable"
    assert response.json["checks"]["redis"] == "ok"
