"""The photo quality gate and the face template for one photo: p50, p95 and max on one core.

Run: `PYTHONPATH=$PWD .venv/bin/python bench/identity.py [--photo FILE] [--runs 50]`.
`--index 1000000` instead times the 1:N index (eta.identity.index) at that many templates:
build, p95 search latency on one thread, recall@1 against exact search (see `index_bench`). Without
`--photo`, a head crop of tests/data/faces/obama-1.jpg (400×500); `--scale 3` enlarges it (to a
phone-sized 1200×1500) to show the cost of the full-size decode. Each run is what a submission
does: base64 decode, Pillow decode and re-encode, detection on the scaled copy, the measures,
then the template. The models are loaded once before timing (a worker keeps them).
"""

from __future__ import annotations

import argparse
import base64
import io
import os
import statistics
import sys
import time
from pathlib import Path

# Runnable from a checkout without installing the package.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from PIL import Image

from eta.identity import faces
from eta.identity.gate import check_photo, template_of
from eta.identity.settings import PhotoSettings

ROOT = Path(__file__).resolve().parents[1]


def _photo(path: str | None, scale: float) -> str:
    if path:
        picture = Image.open(path).convert("RGB")
    else:
        picture = Image.open(ROOT / "tests/data/faces/obama-1.jpg").convert("RGB")
        picture = picture.crop((150, 0, 550, 500))
    if scale != 1:
        size = (round(picture.width * scale), round(picture.height * scale))
        picture = picture.resize(size, Image.Resampling.LANCZOS)
    out = io.BytesIO()
    picture.save(out, "JPEG", quality=92)
    print(f"photo: {picture.width}×{picture.height}, {len(out.getvalue()) / 1024:.0f} KiB JPEG")
    return base64.b64encode(out.getvalue()).decode()


def _p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def index_bench(count: int, probes: int, nprobes: list[int]) -> None:
    """The 1:N index at `count` synthetic templates (tests/identity/synthetic.py).

    Probes are new photos of enrolled people (the search screening does for a returning face);
    recall@1 is the share whose first answer is exact search's first answer. Searches run one
    at a time on one thread, as a worker's face check does; the exact (flat) index is timed on
    a few probes for comparison.
    """
    import faiss
    import numpy as np

    from eta.identity.index import FaceIndex, IndexSettings, cells_for
    from tests.identity.synthetic import Population, exact_nearest

    started = time.perf_counter()
    people = Population(count, seed=7)
    print(f"templates: {count:,} generated in {time.perf_counter() - started:.1f} s")
    ann = FaceIndex(IndexSettings())
    started = time.perf_counter()
    ann.build(range(count), people.enrolled)  # k-means on both cores, as a worker would
    build = time.perf_counter() - started
    asked = people.rng.choice(count, size=probes, replace=False)
    queries = people.photo(asked)
    exact = np.concatenate(
        [exact_nearest(people.enrolled, queries[i : i + 100]) for i in range(0, probes, 100)]
    )
    faiss.omp_set_num_threads(1)
    rows = []
    for nprobe in nprobes:
        ann.set_nprobe(nprobe)
        ann.search(queries[0], 10)  # warm up
        timings, found = [], []
        for query in queries:
            begin = time.perf_counter()
            answer = ann.search(query, 10)
            timings.append((time.perf_counter() - begin) * 1000)
            found.append(answer[0][0])
        rows.append((nprobe, timings, float((np.array(found) == exact).mean())))
    mated = float((exact == asked).mean())
    flat = FaceIndex(IndexSettings(ann_from=count + 1))
    flat.build(range(count), people.enrolled)
    flat_ms = []
    for query in queries[:50]:
        begin = time.perf_counter()
        flat.search(query, 10)
        flat_ms.append((time.perf_counter() - begin) * 1000)
    print(f"load average {os.getloadavg()[0]:.2f}")
    print("| measure | value |\n|---|---|")
    print(f"| templates | {count:,} (IVF, {cells_for(count):,} cells) |")
    print(f"| build (train + add, 2 threads) | {build:.1f} s |")
    for nprobe, timings, recall in rows:
        print(
            f"| nprobe {nprobe}: search p50 / p95 / max (10 nearest, 1 thread) | "
            f"{statistics.median(timings):.2f} / {_p(timings, 0.95):.2f} / {max(timings):.2f} ms |"
        )
        print(
            f"| nprobe {nprobe}: recall@1 against exact search ({probes:,} probes) | {recall:.4f} |"
        )
    print(f"| exact search finds the probe's own person | {mated:.4f} |")
    print(
        f"| exact search p50 / p95 (flat, 1 thread, 50 probes) | {statistics.median(flat_ms):.1f}"
        f" / {_p(flat_ms, 0.95):.1f} ms |"
    )


def main() -> None:
    """Time the gate and the template (or, with --index N, the 1:N index); print a table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photo")
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--index", type=int, help="time the 1:N index at this many templates")
    parser.add_argument("--probes", type=int, default=2000)
    parser.add_argument("--nprobe", default="64", help="IVF cells searched; a comma list: each")
    args = parser.parse_args()
    if args.index:
        index_bench(args.index, args.probes, [int(n) for n in args.nprobe.split(",")])
        return
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})  # one core
    sent = _photo(args.photo, args.scale)
    settings = PhotoSettings(key=None)
    faces.models()
    check_photo(sent, settings)  # warm up
    gate_ms, template_ms, total_ms = [], [], []
    for _ in range(args.runs):
        start = time.perf_counter()
        accepted = check_photo(sent, settings)
        middle = time.perf_counter()
        template_of(accepted)
        end = time.perf_counter()
        gate_ms.append((middle - start) * 1000)
        template_ms.append((end - middle) * 1000)
        total_ms.append((end - start) * 1000)
    print(f"runs: {args.runs}, one core, load average {os.getloadavg()[0]:.2f}")
    print(f"{'ms':<18}{'p50':>8}{'p95':>8}{'max':>8}")
    for name, values in (
        ("gate", gate_ms),
        ("template", template_ms),
        ("gate + template", total_ms),
    ):
        print(
            f"{name:<18}{statistics.median(values):>8.1f}{_p(values, 0.95):>8.1f}"
            f"{max(values):>8.1f}"
        )


if __name__ == "__main__":
    main()
