"""The photo quality gate and the face template for one photo: p50, p95 and max on one core.

Run: `PYTHONPATH=$PWD .venv/bin/python bench/identity.py [--photo FILE] [--runs 50]`. Without
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


def main() -> None:
    """Time the gate and the template, print a table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photo")
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--scale", type=float, default=1.0)
    args = parser.parse_args()
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
