"""The chip check's parts on one core: passive authentication and the chip face's template.

Run: `PYTHONPATH=$PWD .venv/bin/python bench/chip.py [--runs 50]`. The chip is built as the
tests build it (tests/chip/builder.py: ECDSA P-256 CSCA and document signer, SHA-256), with a
420×525 JPEG of tests/data/faces/obama-2.jpg and the same picture as JPEG2000 in DG2. Passive
authentication is timed against 1 and 200 imported CSCA certificates (the issuer's name picks
the one that verifies; each other one costs a name comparison). The models are loaded first.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from eta.chip import lds, passive
from eta.identity import faces
from eta.screening.chip import chip_face
from tests.chip import builder
from tests.identity.conftest import encoded, portrait


def _time(work: Callable[[], object], runs: int) -> tuple[float, float]:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        work()
        samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    return statistics.median(samples), samples[min(len(samples) - 1, int(0.95 * len(samples)))]


def main() -> None:
    """Print a table of p50 / p95 milliseconds per step."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=50)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    picture = portrait("obama-2")
    picture.thumbnail((420, 525))
    jpeg = encoded(picture, "JPEG", quality=75)
    jp2 = encoded(picture, "JPEG2000", quality_mode="rates", quality_layers=[40])
    chip = builder.chip(jpeg)
    now = dt.datetime.now(dt.UTC)
    many = [builder.csca(common=f"CSCA {n}").certificate for n in range(199)]
    faces.models()
    rows = [
        ("passive authentication, 1 CSCA", lambda: passive.verify(
            lds.read_sod(chip.sod), chip.files(), [chip.authority.certificate], now)),
        ("passive authentication, 200 CSCAs", lambda: passive.verify(
            lds.read_sod(chip.sod), chip.files(), [*many, chip.authority.certificate], now)),
        (f"chip face template, JPEG {len(jpeg) // 1024} KiB", lambda: chip_face(
            lds.read_face(builder.dg2(jpeg)), 640)),
        (f"chip face template, JPEG2000 {len(jp2) // 1024} KiB", lambda: chip_face(
            lds.read_face(builder.dg2(jp2, lds.JPEG2000)), 640)),
    ]  # fmt: skip
    print(f"| step ({args.runs} runs, one core) | p50 ms | p95 ms |")
    print("|---|---|---|")
    for label, work in rows:
        p50, p95 = _time(work, args.runs)
        print(f"| {label} | {p50:.1f} | {p95:.1f} |")


if __name__ == "__main__":
    main()
