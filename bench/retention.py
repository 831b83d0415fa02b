"""Erasure throughput: how long the retention purge takes for N due applications.

Run: `PYTHONPATH=$PWD .venv/bin/python bench/retention.py DATABASE_URL [--rows 20000]`. The
database is emptied and rebuilt (schema by create_all): use a scratch database. Each application
is refused with two events and one screening hit quoting the name; every other one has an
authorisation with a token. Prints wall and CPU time of `erase_due()`, rows/s, and the load
average before and after.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import time
from pathlib import Path

# Runnable from a checkout without installing the package.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import insert, select

from eta import create_app
from eta.applications.retention import count_due, erase_due
from eta.extensions import db
from eta.models import (
    Application,
    ApplicationEvent,
    Authorisation,
    Base,
    ScreeningHit,
    ScreeningRun,
)
from eta.timeutil import utcnow
from tests.factories import application_fields


def _fill(rows: int) -> None:
    now = utcnow()
    ended = now - dt.timedelta(days=6 * 365)
    # The test suite's specimen traveller, ended (refused) six years ago and due for erasure.
    base = application_fields(
        status="refused",
        status_changed_at=ended,
        created_at=ended - dt.timedelta(days=2),
        version=1,
        channel="web",
        language="en",
        passport_issue_date=dt.date(2020, 1, 1),
        passport_expiry_date=dt.date(2030, 1, 1),
        intended_arrival=dt.date(2021, 1, 1),
        answers={"criminal_conviction": True, "criminal_conviction_details": "theft"},
        erase_after=now - dt.timedelta(days=1),
    )
    for start in range(0, rows, 5000):
        chunk = range(start, min(start + 5000, rows))
        db.session.execute(
            insert(Application),
            [
                {**base, "reference": f"ETA-B{n:011d}"[:16], "passport_number": f"P{n}"}
                for n in chunk
            ],
        )
    ids = db.session.scalars(select(Application.id).order_by(Application.id)).all()
    db.session.execute(
        insert(ApplicationEvent),
        [
            {"application_id": i, "at": ended, "to_status": status, "actor": "system"}
            for i in ids
            for status in ("submitted", "refused")
        ],
    )
    db.session.execute(
        insert(ScreeningRun),
        [{"application_id": i, "algorithm_version": "b", "outcome": "hit"} for i in ids],
    )
    runs = db.session.scalars(select(ScreeningRun.id).order_by(ScreeningRun.id)).all()
    db.session.execute(
        insert(ScreeningHit),
        [
            {
                "run_id": r,
                "check_name": "watchlist",
                "code": "watchlist_match",
                "score": 0.9,
                "explanation": "UN 1 ERIKSSON ANNA (0.90)",
                "details": {"source": "UN", "listed_name": "ERIKSSON ANNA"},
            }
            for r in runs
        ],
    )
    db.session.execute(
        insert(Authorisation),
        [
            {
                "application_id": i,
                "jti": f"jti-{i}",
                "kid": "k",
                "issued_at": ended,
                "valid_from": ended,
                "valid_until": ended,
                "token": "h.p.s",
                "passport_number_normalised": "L898902C3",
                "passport_issuing_country": "SWE",
            }
            for i in ids[::2]
        ],
    )
    db.session.commit()


def main() -> None:
    """Fill a scratch database with due applications, erase them, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("database_url")
    parser.add_argument("--rows", type=int, default=20_000)
    args = parser.parse_args()
    app = create_app({"SQLALCHEMY_DATABASE_URI": args.database_url})
    with app.app_context():
        Base.metadata.drop_all(db.engine)
        Base.metadata.create_all(db.engine)
        _fill(args.rows)
        if count_due(db.session).applications != args.rows:
            raise SystemExit("the filled rows are not all due")
        load_before = os.getloadavg()
        wall, cpu = time.perf_counter(), time.process_time()
        result = erase_due(db.session)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        load_after = os.getloadavg()
        if result.applications != args.rows or count_due(db.session).applications:
            raise SystemExit(f"erased {result.applications} of {args.rows}")
        print(f"database: {db.engine.dialect.name}, rows erased: {result.applications}")
        print(f"wall {wall:.2f} s, CPU (this process) {cpu:.2f} s, {args.rows / wall:.0f} rows/s")
        print(f"load average before {load_before[0]:.2f}, after {load_after[0]:.2f}")
        db.session.close()  # its open transaction would block the DROP below
        Base.metadata.drop_all(db.engine)


if __name__ == "__main__":
    main()
