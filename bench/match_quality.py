"""Measure name-matching quality on the dev sets, each split into a tuning part and a report part.

Usage: .venv/bin/python bench/match_quality.py [--data DIR] [--errors SET] [--learn]

Sets, all under ../shared/data/names (tune on the tuning parts only, never on anything else):
- person_pairs_dev.csv: labelled person-name pairs, split by a hash of the pair; precision,
  recall and F1 at DEFAULT_THRESHOLD.
- netranslit_dev/{russian,arabic,hebrew,japanese,chinese}.tsv: a Latin name token and the same
  token in another script. Split by a hash of the row with a fixed seed; each positive row is also
  paired with the native tokens of three other rows of its part (three seeded permutations) as
  negatives. Recall on the positives and the share of negatives that reach the threshold (FP).
- perturbed UN-listed people (typos, dropped names, reordering, upper case: the perturbations of
  bench/screening.py) screened with their date of birth and nationality against the UN list, and
  5,000 generated other people: recall of the listed person, and the share of others that alert.
- cross_script_pairs_dev.csv: each pair with its expected minimum.

`--sweep` prints, on the person-pair tuning half only, the best F1 for each pair of costs of a
replaced part and of a part only the listed name has (eta.screening.names.SUBSTITUTION_COST,
CANDIDATE_OMISSION_COST), with the number of thresholds within 0.01 of it: how those were chosen.

`--learn` re-learns the reading tables (eta/screening/data/readings.json) from the NETranslit
tuning parts, then measures. `--errors SET` lists the misses and false alerts of one set's tuning
part (person, russian, arabic, hebrew, japanese, chinese).
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import hashlib
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from eta.screening import names as name_matcher  # noqa: E402
from eta.screening import readings as reading_tables  # noqa: E402
from eta.screening.names import DEFAULT_THRESHOLD, name_readings, name_similarity  # noqa: E402
from eta.screening.types import BirthDate, Subject, WatchlistPerson  # noqa: E402
from eta.screening.watchlist import WatchlistIndex  # noqa: E402

DEFAULT_DATA = ROOT / ".." / "shared" / "data" / "names"
WATCHLISTS = ROOT / ".." / "shared" / "data" / "watchlists"
SPLIT_SEED = "eta-16"
NEGATIVES_PER_POSITIVE = 3
FP_BUDGET = 0.005  # the goal: at most 0.5 % of negatives reach the threshold
NETRANSLIT = {
    "russian": "cyrillic",
    "arabic": "arabic",
    "hebrew": "hebrew",
    "japanese": "kana",
    "chinese": "han",
}
OTHER_PEOPLE = 5_000

Pair = tuple[str, str, bool]
Scored = list[tuple[float, bool]]


def load_pairs(path: Path) -> list[Pair]:
    """Labelled person-name pairs: (name1, name2, is_match)."""
    with path.open(encoding="utf-8") as handle:
        return [
            (row["name1"], row["name2"], row["is_match"].strip().lower() == "true")
            for row in csv.DictReader(handle)
        ]


def is_tuning(pair: Pair) -> bool:
    """The person-pair split (unchanged since DEFAULT_THRESHOLD was first chosen)."""
    digest = hashlib.sha256(f"{pair[0]}\x1f{pair[1]}".encode()).digest()
    return digest[0] % 2 == 0


def in_tuning_part(latin: str, native: str) -> bool:
    """The NETranslit split: a hash of the row with a fixed seed, half and half."""
    digest = hashlib.sha256(f"{SPLIT_SEED}|{latin}|{native}".encode()).digest()
    return digest[0] % 2 == 0


def load_netranslit(path: Path) -> list[tuple[str, str]]:
    """(Latin token, native token) rows; the native letters, space-separated in the file, joined."""
    rows = []
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            fields = line.rstrip("\n").split("\t")
            if len(fields) >= 2 and fields[0] and fields[1]:
                rows.append((fields[0], fields[1].replace(" ", "")))
    return rows


def netranslit_part(path: Path, tuning: bool) -> list[tuple[str, str]]:
    """The tuning or the report part of one NETranslit file."""
    return [row for row in load_netranslit(path) if in_tuning_part(*row) == tuning]


def with_negatives(rows: list[tuple[str, str]]) -> list[Pair]:
    """The rows as positives plus, per row, the native tokens of other rows as negatives."""
    rng = random.Random(SPLIT_SEED)
    pairs: list[Pair] = [(latin, native, True) for latin, native in rows]
    for _ in range(NEGATIVES_PER_POSITIVE):
        order = list(range(len(rows)))
        rng.shuffle(order)
        for i, j in enumerate(order):
            if rows[i][0] != rows[j][0] and rows[i][1] != rows[j][1]:
                pairs.append((rows[i][0], rows[j][1], False))
    return pairs


def confusion(scored: Scored, threshold: float) -> tuple[int, int, int, int]:
    tp = sum(1 for s, m in scored if m and s >= threshold)
    fp = sum(1 for s, m in scored if not m and s >= threshold)
    fn = sum(1 for s, m in scored if m and s < threshold)
    tn = len(scored) - tp - fp - fn
    return tp, fp, fn, tn


def prf(scored: Scored, threshold: float) -> tuple[float, float, float]:
    tp, fp, fn, _ = confusion(scored, threshold)
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def recall_and_fp(scored: Scored, threshold: float) -> tuple[float, float]:
    tp, fp, fn, tn = confusion(scored, threshold)
    return tp / max(tp + fn, 1), fp / max(fp + tn, 1)


def choose_threshold(person: Scored, netranslit: list[Scored]) -> tuple[float, list[str]]:
    """On the tuning parts: the best person-pair F1 among thresholds that keep person recall
    >= 0.85 and FP within budget on every NETranslit tuning part; ties go to the threshold with
    the higher mean NETranslit recall."""
    rows = []
    candidates = []
    for step in range(60, 91):
        threshold = step / 100
        precision, recall, f1 = prf(person, threshold)
        worst_fp = max(recall_and_fp(s, threshold)[1] for s in netranslit)
        mean_recall = sum(recall_and_fp(s, threshold)[0] for s in netranslit) / len(netranslit)
        eligible = recall >= 0.85 and worst_fp <= FP_BUDGET
        candidates.append((eligible, round(f1, 3), round(mean_recall, 3), threshold))
        rows.append(
            f"  {threshold:5.2f}  {precision:6.3f}  {recall:6.3f}  {f1:6.3f}  "
            f"{mean_recall:6.3f}  {100 * worst_fp:5.2f} %"
        )
    best = max(candidates)
    return best[3], rows


def person_row(label: str, scored: Scored, threshold: float) -> str:
    precision, recall, f1 = prf(scored, threshold)
    tp, fp, fn, tn = confusion(scored, threshold)
    return (
        f"| {label:<19} | {len(scored):5} | {precision:5.3f} | {recall:5.3f} | {f1:5.3f} "
        f"| {tp:3} | {fp:3} | {fn:3} | {tn:3} |"
    )


def score_pairs(pairs: list[Pair]) -> Scored:
    return [(name_similarity(a, b), match) for a, b, match in pairs]


def sweep_costs(pairs: list[Pair]) -> None:
    """Best tuning-half F1 (person recall >= 0.85) per pair of unpaired-part costs."""
    tuning_pairs = [pair for pair in pairs if is_tuning(pair)]
    kept = (name_matcher.SUBSTITUTION_COST, name_matcher.CANDIDATE_OMISSION_COST)
    print("Cost sweep on the person-pair TUNING half (substitution, list-side omission):")
    print("  subst  omit   best F1  at     thresholds within 0.01")
    try:
        for substitution in (1.0, 1.5, 2.0, 2.5, 3.0, 4.0):
            for omission in (0.15, 0.25, 0.35, 0.45):
                name_matcher.SUBSTITUTION_COST = substitution
                name_matcher.CANDIDATE_OMISSION_COST = omission
                scored = score_pairs(tuning_pairs)
                f1s = [
                    (round(prf(scored, step / 100)[2], 3), step / 100)
                    for step in range(60, 91)
                    if prf(scored, step / 100)[1] >= 0.85
                ]
                best = max(f1s)
                wide = sum(1 for f1, _ in f1s if f1 >= best[0] - 0.01)
                costs = f"{substitution:5.2f}  {omission:4.2f}"
                print(f"  {costs}  {best[0]:7.3f}  {best[1]:.2f}  {wide:3}")
    finally:
        name_matcher.SUBSTITUTION_COST, name_matcher.CANDIDATE_OMISSION_COST = kept
    print()


def learn(data: Path) -> None:
    """Learn the reading tables from the NETranslit tuning parts and store them."""
    tables = {}
    for language, script in NETRANSLIT.items():
        started = time.perf_counter()
        rows = [
            (latin, native)
            for latin, native in netranslit_part(data / "netranslit_dev" / f"{language}.tsv", True)
            if reading_tables.script_of(native) == script
        ]
        tables[script] = reading_tables.learn_readings(rows, script)
        print(
            f"learned {script} from {len(rows)} tuning rows "
            f"in {time.perf_counter() - started:.0f} s"
        )
    reading_tables.save_tables(tables)
    name_readings.cache_clear()


def _subject_birth_date(person: WatchlistPerson, rng: random.Random) -> BirthDate | None:
    """An applicant's exact date of birth inside the listed range (a year, a month, circa)."""
    if not person.birth_dates:
        return None
    listed = person.birth_dates[0]
    span = (listed.latest - listed.earliest).days
    return BirthDate.exact(listed.earliest + dt.timedelta(days=rng.randint(0, max(span, 0))))


def screening_sets(tuning: bool) -> tuple[WatchlistIndex, list[tuple[Subject, str]], list[Subject]]:
    """The UN list as an index, perturbed listed people (with the key expected), and others."""
    import screening as bench_screening  # bench/screening.py: its name pools and perturbations

    from eta.screening.lists.importers import parse_un_xml

    people = [p for p in parse_un_xml(WATCHLISTS / "un_consolidated_2026-02-27.xml") if p.names]
    index = WatchlistIndex(enumerate(people, 1))
    rng = random.Random(f"{SPLIT_SEED}|{'tuning' if tuning else 'report'}")
    listed = []
    for person in people:
        if in_tuning_part(person.key, "un") != tuning:
            continue
        name = bench_screening.perturb(rng, person.names[0])
        subject = Subject(
            full_name=name,
            birth_date=_subject_birth_date(person, rng),
            nationality=person.nationalities[0] if person.nationalities else None,
        )
        listed.append((subject, person.key))
    bench_screening.expand_pools(rng)
    others = []
    for _ in range(OTHER_PEOPLE):
        culture = rng.choice(bench_screening.CULTURES)
        birth = BirthDate.exact(
            dt.date(rng.randint(1940, 2005), rng.randint(1, 12), rng.randint(1, 28))
        )
        others.append(
            Subject(
                full_name=bench_screening.generated_name(rng, culture),
                birth_date=birth,
                nationality=rng.choice(bench_screening.NATIONALITIES[culture]),
            )
        )
    return index, listed, others


def screening_row(label: str, tuning: bool) -> str:
    index, listed, others = screening_sets(tuning)
    found = sum(any(m.key == key for m in index.match(subject)) for subject, key in listed)
    alerting = sum(bool(index.match(subject)) for subject in others)
    return (
        f"| {label:<19} | {len(listed):5} | {found / max(len(listed), 1):6.3f} | {len(others):5} "
        f"| {100 * alerting / len(others):5.2f} % |"
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


def timed(function: Callable[[], object], repeat: int) -> float:
    started = time.perf_counter()
    for _ in range(repeat):
        function()
    return (time.perf_counter() - started) / repeat


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--errors", help="list errors on this set's tuning part")
    parser.add_argument("--learn", action="store_true", help="re-learn the reading tables first")
    parser.add_argument("--sweep", action="store_true", help="sweep the unpaired-part costs first")
    args = parser.parse_args()
    if args.learn:
        learn(args.data)

    pairs = load_pairs(args.data / "person_pairs_dev.csv")
    if args.sweep:
        sweep_costs(pairs)
    scores = [name_similarity(a, b) for a, b, _ in pairs]
    tuning = [(s, p[2]) for s, p in zip(scores, pairs, strict=True) if is_tuning(p)]
    held_out = [(s, p[2]) for s, p in zip(scores, pairs, strict=True) if not is_tuning(p)]

    netranslit: dict[str, tuple[list[Pair], list[Pair]]] = {}
    scored_parts: dict[str, tuple[Scored, Scored]] = {}
    for language in NETRANSLIT:
        path = args.data / "netranslit_dev" / f"{language}.tsv"
        parts = (
            with_negatives(netranslit_part(path, True)),
            with_negatives(netranslit_part(path, False)),
        )
        netranslit[language] = parts
        scored_parts[language] = (score_pairs(parts[0]), score_pairs(parts[1]))

    chosen, sweep = choose_threshold(tuning, [t for t, _ in scored_parts.values()])
    print("Threshold sweep on the TUNING parts (threshold; person pairs P, R, F1; NETranslit mean")
    print("recall and worst FP):")
    print("\n".join(sweep[::2]))
    print(
        f"\nBest on the tuning parts: {chosen:.2f}; "
        f"shipped DEFAULT_THRESHOLD = {DEFAULT_THRESHOLD:.2f}"
    )
    threshold = DEFAULT_THRESHOLD

    print(f"\nPerson pairs (person_pairs_dev.csv), threshold {threshold:.2f}:")
    print("| part                | pairs | P     | R     | F1    | TP  | FP  | FN  | TN  |")
    print("|---------------------|-------|-------|-------|-------|-----|-----|-----|-----|")
    print(person_row("tuning", tuning, threshold))
    print(person_row("report (held-out)", held_out, threshold))

    print(
        f"\nName tokens across scripts (NETranslit dev, REPORT parts), threshold {threshold:.2f}:"
    )
    print(
        "| set                 | positives | negatives | recall | FP      | tuning recall "
        "| tuning FP |"
    )
    print(
        "|---------------------|-----------|-----------|--------|---------|---------------|-----------|"
    )
    for language, (tuned, reported) in scored_parts.items():
        recall, fp = recall_and_fp(reported, threshold)
        tuning_recall, tuning_fp = recall_and_fp(tuned, threshold)
        positives = sum(1 for _, m in reported if m)
        print(
            f"| Latin ↔ {language:<11} | {positives:9} | {len(reported) - positives:9} "
            f"| {recall:6.3f} | {100 * fp:5.2f} % | {tuning_recall:13.3f} "
            f"| {100 * tuning_fp:7.2f} % |"
        )

    print(
        f"\nBulk screening with DOB and nationality against the UN list, threshold {threshold:.2f}:"
    )
    print("| part                | listed | recall | others | others alerting |")
    print("|---------------------|--------|--------|--------|-----------------|")
    print(screening_row("tuning", True))
    print(screening_row("report", False))

    warm_pairs = [(a, b) for a, b, _ in pairs]
    warm = timed(lambda: [name_similarity(a, b) for a, b in warm_pairs], 5) / len(warm_pairs)
    cross = [(a, b) for a, b, _ in netranslit["arabic"][1][:2000]]
    warm_cross = timed(lambda: [name_similarity(a, b) for a, b in cross], 3) / len(cross)
    name_readings.cache_clear()
    cold = timed(lambda: [name_similarity(a, b) for a, b in warm_pairs], 1) / len(warm_pairs)
    print(
        f"\nSpeed: name_similarity {warm * 1e6:.1f} µs a Latin pair warm, "
        f"{cold * 1e6:.1f} µs cold; "
        f"{warm_cross * 1e6:.1f} µs a Latin-Arabic pair warm"
    )

    if args.errors:
        if args.errors == "person":
            listing = [
                (a, b, m, s)
                for (a, b, m), s in zip(pairs, scores, strict=True)
                if is_tuning((a, b, m))
            ]
        else:
            tuned_pairs = netranslit[args.errors][0]
            listing = [
                (a, b, m, s)
                for (a, b, m), (s, _) in zip(tuned_pairs, scored_parts[args.errors][0], strict=True)
            ]
        print(f"\nErrors on the tuning part of {args.errors}:")
        for a, b, match, score in listing:
            if (score >= threshold) != match:
                print(f"  {'FN' if match else 'FP'} {score:.3f}  {a!r} vs {b!r}")

    rows_x = cross_script(args.data / "cross_script_pairs_dev.csv")
    reached = sum(1 for *_, minimum, score in rows_x if score >= minimum)
    print("\nCross-script pairs (cross_script_pairs_dev.csv):")
    print("| query | expected | min | score | ok |")
    print("|---|---|---|---|---|")
    for query, expected, minimum, score in rows_x:
        verdict = "yes" if score >= minimum else "NO"
        print(f"| {query} | {expected} | {minimum:.2f} | {score:.2f} | {verdict} |")
    at_threshold = sum(1 for *_, score in rows_x if score >= threshold)
    print(
        f"\n{reached}/{len(rows_x)} pairs reach their minimum expected score; "
        f"{at_threshold}/{len(rows_x)} score at or above DEFAULT_THRESHOLD"
    )


if __name__ == "__main__":
    main()
