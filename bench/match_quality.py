"""Measure name-matching quality on the labelled pairs, with a tuning half and a held-out half.

Usage: .venv/bin/python bench/match_quality.py [--data DIR] [--errors]

Pairs are split by a hash of the pair (stable across runs and machines). The threshold is chosen on
the tuning half only (the highest F1, recall >= 0.85 preferred); DEFAULT_THRESHOLD in
eta/screening/names.py is set from that choice, and precision/recall/F1 at it are then reported
on the held-out half and on all pairs. The cross-script table lists each pair with its expected
minimum.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from eta.screening.names import DEFAULT_THRESHOLD, name_similarity  # noqa: E402

DEFAULT_DATA = ROOT / ".." / "shared" / "data" / "names"

Pair = tuple[str, str, bool]


def load_pairs(path: Path) -> list[Pair]:
    with path.open(encoding="utf-8") as handle:
        return [
            (row["name1"], row["name2"], row["is_match"].strip().lower() == "true")
            for row in csv.DictReader(handle)
        ]


def is_tuning(pair: Pair) -> bool:
    digest = hashlib.sha256(f"{pair[0]}\x1f{pair[1]}".encode()).digest()
    return digest[0] % 2 == 0


def confusion(scored: list[tuple[float, bool]], threshold: float) -> tuple[int, int, int, int]:
    tp = sum(1 for s, m in scored if m and s >= threshold)
    fp = sum(1 for s, m in scored if not m and s >= threshold)
    fn = sum(1 for s, m in scored if m and s < threshold)
    tn = len(scored) - tp - fp - fn
    return tp, fp, fn, tn


def prf(scored: list[tuple[float, bool]], threshold: float) -> tuple[float, float, float]:
    tp, fp, fn, _ = confusion(scored, threshold)
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def choose_threshold(scored: list[tuple[float, bool]]) -> tuple[float, list[str]]:
    """Best F1 on the tuning half among thresholds with recall >= 0.85 (else best F1 overall)."""
    rows = []
    candidates = []
    for step in range(50, 96):
        threshold = step / 100
        precision, recall, f1 = prf(scored, threshold)
        candidates.append((f1, recall >= 0.85, threshold))
        rows.append(f"  {threshold:5.2f}  {precision:6.3f}  {recall:6.3f}  {f1:6.3f}")
    eligible = [c for c in candidates if c[1]] or candidates
    best = max(eligible, key=lambda c: (round(c[0], 6), -c[2]))
    return best[2], rows


def report(label: str, scored: list[tuple[float, bool]], threshold: float) -> str:
    precision, recall, f1 = prf(scored, threshold)
    tp, fp, fn, tn = confusion(scored, threshold)
    return (
        f"| {label:<10} | {len(scored):5} | {threshold:5.2f} | {precision:5.3f} | {recall:5.3f} "
        f"| {f1:5.3f} | {tp:3} | {fp:3} | {fn:3} | {tn:3} |"
    )


def cross_script(path: Path) -> list[tuple[str, str, float, float]]:
    rows = []
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            query, expected, minimum, *_ = line.split(",")
            rows.append((query, expected, float(minimum), name_similarity(query, expected)))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--errors", action="store_true", help="list errors on the tuning half")
    args = parser.parse_args()

    pairs = load_pairs(args.data / "person_pairs_dev.csv")
    started = time.perf_counter()
    scores = [name_similarity(a, b) for a, b, _ in pairs]
    first_pass = time.perf_counter() - started
    name_tokens_cache_clear()
    started = time.perf_counter()
    for _ in range(3):
        name_tokens_cache_clear()
        for a, b, _ in pairs:
            name_similarity(a, b)
    cold = (time.perf_counter() - started) / (3 * len(pairs))
    started = time.perf_counter()
    for _ in range(5):
        for a, b, _ in pairs:
            name_similarity(a, b)
    warm = (time.perf_counter() - started) / (5 * len(pairs))

    tuning = [(s, p[2]) for s, p in zip(scores, pairs, strict=True) if is_tuning(p)]
    held_out = [(s, p[2]) for s, p in zip(scores, pairs, strict=True) if not is_tuning(p)]
    everything = [(s, p[2]) for s, p in zip(scores, pairs, strict=True)]

    chosen, rows = choose_threshold(tuning)
    print(
        f"person_pairs_dev.csv: {len(pairs)} pairs, tuning {len(tuning)}, held-out {len(held_out)}"
    )
    print("\nThreshold sweep on the TUNING half (threshold, precision, recall, F1):")
    print("\n".join(rows[::2]))
    print(
        f"\nBest on tuning half: {chosen:.2f}; shipped DEFAULT_THRESHOLD = {DEFAULT_THRESHOLD:.2f}"
    )
    print("\n| split      | pairs | thr   | P     | R     | F1    | TP  | FP  | FN  | TN  |")
    print("|------------|-------|-------|-------|-------|-------|-----|-----|-----|-----|")
    print(report("tuning", tuning, DEFAULT_THRESHOLD))
    print(report("held-out", held_out, DEFAULT_THRESHOLD))
    print(report("all", everything, DEFAULT_THRESHOLD))

    print(
        f"\nSpeed: {warm * 1e6:.1f} µs per pair with names already normalised (cache warm), "
        f"{cold * 1e6:.1f} µs per pair cold (normalisation included); first pass {first_pass:.3f} s"
    )

    if args.errors:
        print("\nErrors on the tuning half:")
        for score, (a, b, match) in zip(scores, pairs, strict=True):
            if is_tuning((a, b, match)) and (score >= DEFAULT_THRESHOLD) != match:
                kind = "FN" if match else "FP"
                print(f"  {kind} {score:.3f}  {a!r} vs {b!r}")

    rows_x = cross_script(args.data / "cross_script_pairs_dev.csv")
    reached = sum(1 for *_, minimum, score in rows_x if score >= minimum)
    print("\nCross-script pairs (cross_script_pairs_dev.csv):")
    print("| query | expected | min | score | ok |")
    print("|---|---|---|---|---|")
    for query, expected, minimum, score in rows_x:
        verdict = "yes" if score >= minimum else "NO"
        print(f"| {query} | {expected} | {minimum:.2f} | {score:.2f} | {verdict} |")
    at_threshold = sum(1 for *_, score in rows_x if score >= DEFAULT_THRESHOLD)
    print(
        f"\n{reached}/{len(rows_x)} pairs reach their minimum expected score; "
        f"{at_threshold}/{len(rows_x)} score at or above DEFAULT_THRESHOLD"
    )


def name_tokens_cache_clear() -> None:
    from eta.screening.names import name_tokens

    name_tokens.cache_clear()


if __name__ == "__main__":
    main()
