"""What a journey page costs the server: median milliseconds per POST of each page, and per GET
of Check your answers (which re-checks every page), through the Flask test client.

Run: `flock /tmp/eta-cpu.lock .venv/bin/python bench/journey_pages.py [--rounds 30]`.

Uses a throwaway SQLite database and embedded Redis under a temporary directory, CSRF and rate
limits off (one client sends everything). Prints one row a page; compare a branch with main by
running the same file from each checkout (`PYTHONPATH=<checkout>`).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(os.environ.get("PYTHONPATH", "") or Path(__file__).resolve().parents[1])
sys.path.insert(0, str(ROOT))


def _answers() -> dict[str, dict[str, str]]:
    arrival = dt.date.today() + dt.timedelta(days=30)
    return {
        "passport": {
            "nationality": "SWE",
            "passport.issuing_country": "SWE",
            "passport.number": "L898902C3",
            "passport.number_confirm": "L898902C3",
            "passport.issue_date-day": "16",
            "passport.issue_date-month": "4",
            "passport.issue_date-year": "2022",
            "passport.expiry_date-day": "15",
            "passport.expiry_date-month": "4",
            "passport.expiry_date-year": "2032",
        },
        "personal": {
            "given_names": "Anna Maria",
            "surname": "Eriksson",
            "sex": "F",
            "date_of_birth-day": "12",
            "date_of_birth-month": "8",
            "date_of_birth-year": "1974",
            "place_of_birth": "Stockholm",
        },
        "contact": {"email": "anna@example.org"},
        "address": {
            "home_address.line1": "Storgatan 1",
            "home_address.city": "Stockholm",
            "home_address.country": "SWE",
        },
        "occupation": {"occupation": "Teacher"},
        "travel": {
            "travel.purpose": "tourism",
            "travel.intended_arrival-day": str(arrival.day),
            "travel.intended_arrival-month": str(arrival.month),
            "travel.intended_arrival-year": str(arrival.year),
        },
        "background": {
            "answers.criminal_conviction": "no",
            "answers.previous_refusal": "no",
            "answers.removed_or_deported": "no",
            "answers.conflict_zone_travel": "no",
        },
        "declaration": {"declaration": "yes"},
    }


def main() -> None:
    """Walk the journey `--rounds` times and print the median time of each request."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=30)
    rounds = parser.parse_args().rounds
    with tempfile.TemporaryDirectory() as tmp:
        from eta.redis_connection import EmbeddedRedis

        redis = EmbeddedRedis(Path(tmp) / "redis")
        os.environ.update(
            {
                "ETA_ENV": "test",
                "ETA_SECRET_KEY": "bench-secret-key-not-for-production",
                "ETA_DATABASE_URL": f"sqlite:///{tmp}/bench.db",
                "ETA_REDIS_URL": redis.url,
                "ETA_KEYS_DIR": f"{tmp}/keys",
                "ETA_MAIL_URL": f"file://{tmp}/outbox",
            }
        )
        from flask_migrate import upgrade

        from eta import create_app
        from eta.extensions import limiter

        app = create_app({"WTF_CSRF_ENABLED": False})
        limiter.enabled = False
        with app.app_context():
            upgrade()
        timings: dict[str, list[float]] = {}
        answers = _answers()
        for _ in range(rounds):
            client = app.test_client()
            client.get("/apply")
            for slug, data in answers.items():
                started = time.perf_counter()
                response = client.post(f"/apply/{slug}", data=data)
                timings.setdefault(f"POST /apply/{slug}", []).append(time.perf_counter() - started)
                if response.status_code != 302:
                    raise SystemExit(f"{slug}: {response.status_code}")
            started = time.perf_counter()
            if client.get("/apply/check").status_code != 200:
                raise SystemExit("check answers did not open")
            timings.setdefault("GET /apply/check", []).append(time.perf_counter() - started)
        print(f"{'request':<28} {'median ms':>10}  ({rounds} rounds, {ROOT})")
        for name, values in timings.items():
            print(f"{name:<28} {statistics.median(values) * 1000:>10.1f}")
        redis.shutdown()


if __name__ == "__main__":
    main()
