"""A 1,000-passenger PAXLST manifest answered in at most 1 s, against verify-batch in the same run.

Run: `.venv/bin/python bench/paxlst.py [--passengers 1000] [--repeat 15]`

Prepares, as bench/verify.py does, a fresh PostgreSQL database with the real migrations and N
issued authorisations (one in ten expired), then sends the same N passports through the app
(in process, Flask's test client: the server-side cost, no network) as:
- a PAXLST interchange to `POST /api/v1/carrier/paxlst`, answered as JSON and as CUSRES;
- the reference: the same passports as JSON to `POST /api/v1/carrier/verify-batch`.
Also times the PAXLST reader alone (pydifact's tokeniser and eta's checks). Prints the median
and worst time of each and its ratio to verify-batch. Goal: the manifest within 1 s.
Needs PostgreSQL (ETA_BENCH_DATABASE) and Redis (ETA_BENCH_REDIS), as bench/verify.py.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.verify import DATABASE_NAME, DATABASE_SERVER, REDIS_URL, _prepare  # noqa: E402
from eta.timeutil import today  # noqa: E402
from tests.carrier.manifests import paxlst_of  # noqa: E402

GOAL_SECONDS = 1.0


def _times(run: Callable[[], object], repeat: int) -> list[float]:
    run()  # warm: imports, the carrier state, the statement cache
    seconds = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        seconds.append(time.perf_counter() - start)
    return seconds


def main() -> None:
    """Prepare the data, time each way of answering the manifest, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--passengers", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="eta-bench-paxlst-"))
    env = {
        "ETA_ENV": "development",
        "ETA_SECRET_KEY": "bench-secret-key",
        "ETA_DATABASE_URL": f"{DATABASE_SERVER}/{DATABASE_NAME}",
        "ETA_REDIS_URL": REDIS_URL,
        "ETA_KEYS_DIR": str(workdir / "keys"),
        "ETA_ISSUER": "https://eta.bench.example",
        "ETA_MAIL_URL": f"file://{workdir / 'outbox'}",
    }
    load_before = os.getloadavg()[0]
    print(f"preparing {args.passengers} authorisations in {DATABASE_NAME} ...", flush=True)
    try:
        data = _prepare(env, args.passengers)
        from eta import create_app
        from eta.carrier import paxlst

        app = create_app({"ETA_CARRIER_RATE_LIMIT": "10000000/minute"})
        client = app.test_client()
        numbers = data["numbers"]
        manifest = paxlst_of([(number, "SWE") for number in numbers])
        batch = json.dumps(
            {
                "passengers": [
                    {
                        "passport_number": number,
                        "issuing_country": "SWE",
                        "date_of_birth": "1974-08-12",
                        "travel_date": "2026-12-10",
                    }
                    for number in numbers
                ]
            }
        )
        key = {"Authorization": f"Bearer {data['key']}"}
        edifact = {**key, "Content-Type": paxlst.MIMETYPE}

        def post_manifest(accept: str) -> None:
            response = client.post(
                "/api/v1/carrier/paxlst", data=manifest, headers={**edifact, "Accept": accept}
            )
            if response.status_code != 200:
                raise RuntimeError(response.get_data(as_text=True)[:300])

        def post_batch() -> None:
            response = client.post(
                "/api/v1/carrier/verify-batch",
                data=batch,
                headers={**key, "Content-Type": "application/json"},
            )
            if response.status_code != 200:
                raise RuntimeError(response.get_data(as_text=True)[:300])

        answers = client.post("/api/v1/carrier/paxlst", data=manifest, headers=edifact)
        results = answers.get_json()["results"]
        tally = {word: sum(r["result"] == word for r in results) for word in ("OK", "NOT_OK")}
        rows = [
            ("verify-batch, JSON (reference)", _times(post_batch, args.repeat)),
            ("PAXLST -> JSON", _times(lambda: post_manifest("application/json"), args.repeat)),
            ("PAXLST -> CUSRES", _times(lambda: post_manifest(paxlst.MIMETYPE), args.repeat)),
            ("PAXLST reader alone", _times(lambda: paxlst.parse(manifest, today=today()), 15)),
        ]
        with app.app_context():
            from eta.extensions import db

            db.engine.dispose()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    reference = statistics.median(rows[0][1])
    print(
        f"\n{args.passengers} passengers, {len(manifest) / 1024:.0f} KiB of PAXLST "
        f"({tally['OK']} OK, {tally['NOT_OK']} NOT_OK)\n"
    )
    print(f"{'workload':<32} {'median ms':>9} {'worst ms':>9} {'/ batch':>8} {'goal':>8}")
    for name, seconds in rows:
        median = statistics.median(seconds)
        goal = "" if "reader" in name or "reference" in name else "<= 1000"
        met = "" if not goal else (" met" if max(seconds) <= GOAL_SECONDS else " MISSED")
        print(
            f"{name:<32} {median * 1000:>9.1f} {max(seconds) * 1000:>9.1f} "
            f"{median / reference:>8.2f} {goal:>8}{met}"
        )
    print(
        f"\nIn process (Flask test client), PostgreSQL and Redis on this machine; "
        f"{args.repeat} runs each after one warm-up; {os.cpu_count()} CPUs, load average "
        f"{load_before:.1f} before, {os.getloadavg()[0]:.1f} after."
    )


if __name__ == "__main__":
    main()
