"""Latin readings of one name part written in another script, from tables learned on name pairs.

A name part in Cyrillic, Arabic, Hebrew, katakana or Han characters is cut into writing units (a
letter; a kana with its small kana; one Han character), and each unit has a few Latin spellings
with their probabilities, depending on whether it starts, ends or sits inside the part. Arabic
and Hebrew write few vowels, so a unit's spellings carry the vowels it usually stands for ("ر" →
r, ra, re...); katakana adds vowels a Latin name does not have ("ドイル" → doil); Chinese writes a
foreign name with characters whose Mandarin sound is only near it ("瑪莎" → marth). The most
probable whole spellings (a beam search over the units) are the part's readings; the name matcher
compares a Latin part with each of them and keeps the best.

The tables are learned by `learn_readings` (expectation-maximisation over monotone alignments of
units to Latin substrings) from the tuning part of the NETranslit name-token pairs only, by
`bench/match_quality.py --learn`, and stored as JSON beside this module.
"""

from __future__ import annotations

import json
import math
import unicodedata
from collections import defaultdict
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

from anyascii import anyascii

SCRIPTS = ("cyrillic", "arabic", "hebrew", "kana", "han")
TABLES = Path(__file__).with_name("data") / "readings.json"

# Longest Latin substring one unit may stand for: a Han character can stand for "stein".
_MAX_EMISSION = {"cyrillic": 3, "arabic": 3, "hebrew": 3, "kana": 4, "han": 5}
# Readings kept per unit and position, and the least probability a kept reading may have.
_READINGS_PER_UNIT = 8
_MIN_READING_PROBABILITY = 0.01
_SMALL_KANA = frozenset("ァィゥェォャュョヮヵヶㇰㇱㇲㇳㇴㇵㇶㇷㇸㇹㇺㇻㇼㇽㇾㇿ")
# How much a unit's readings anywhere count when its readings at one position are few.
_BACKOFF = 2.0

Table = dict[str, list[tuple[str, float]]]


def script_of(text: str) -> str | None:
    """The script a name part is written in, when it is one the learned tables cover."""
    for char in text:
        code = ord(char)
        if 0x0400 <= code <= 0x04FF:
            return "cyrillic"
        if 0x0600 <= code <= 0x06FF or 0xFB50 <= code <= 0xFDFF or 0xFE70 <= code <= 0xFEFF:
            return "arabic"
        if 0x0590 <= code <= 0x05FF or 0xFB1D <= code <= 0xFB4F:
            return "hebrew"
        if 0x3040 <= code <= 0x30FF or 0x31F0 <= code <= 0x31FF:
            return "kana"
        if 0x3400 <= code <= 0x9FFF or 0xF900 <= code <= 0xFAFF:
            return "han"
    return None


def units(text: str, script: str) -> list[str]:
    """Cut a name part into writing units: letters, kana with their small kana, Han characters."""
    text = unicodedata.normalize("NFC", text)
    if script == "kana":
        # Hiragana and katakana spell the same sounds: read both through the katakana table.
        text = "".join(chr(ord(c) + 0x60) if 0x3041 <= ord(c) <= 0x3096 else c for c in text)
    out: list[str] = []
    for char in text:
        if unicodedata.category(char) in ("Mn", "Me"):
            continue  # vowel points and other marks: most names are written without them
        if not (char.isalpha() or char == "ー"):
            continue
        if script == "kana" and char in _SMALL_KANA and out:
            out[-1] += char
        else:
            out.append(char.lower())
    return out


def latin_letters(text: str) -> str:
    """A Latin part as the tables spell it: ASCII lower-case letters only."""
    return "".join(c for c in anyascii(text).lower() if "a" <= c <= "z")


def _position(index: int, count: int) -> str:
    if index == 0:
        return "B"
    return "E" if index == count - 1 else "M"


def learn_readings(
    pairs: Iterable[tuple[str, str]], script: str, iterations: int = 6
) -> dict[str, Table]:
    """Learn unit readings from (Latin part, native part) pairs of one script.

    Expectation-maximisation over all monotone alignments where each unit stands for a Latin
    substring of 0 to a few letters, started from anyascii's reading of each unit. Returns, per
    position ("B", "M", "E") and for any position ("*"), each unit's most probable readings.
    """
    longest = _MAX_EMISSION[script]
    data = []
    for latin, native in pairs:
        letters = latin_letters(latin)
        cut = units(native, script)
        if letters and cut and len(letters) <= longest * len(cut):
            data.append((letters, cut))
    probability: dict[tuple[str, str], dict[str, float]] = {}

    def prior(unit: str, emission: str) -> float:
        reference = latin_letters(unit)
        distance = _levenshtein(emission, reference)
        return math.exp(-1.5 * distance) + 1e-4

    def emission_probability(unit: str, position: str, emission: str) -> float:
        table = probability.get((unit, position))
        if table is None:
            return prior(unit, emission)
        return table.get(emission, 1e-6)

    for _ in range(iterations):
        counts: dict[tuple[str, str], dict[str, float]] = defaultdict(lambda: defaultdict(float))
        for letters, cut in data:
            n, k = len(letters), len(cut)
            positions = [_position(i, k) for i in range(k)]
            forward = [[0.0] * (n + 1) for _ in range(k + 1)]
            forward[0][0] = 1.0
            for i in range(k):
                for j in range(n + 1):
                    if forward[i][j] == 0.0:
                        continue
                    for length in range(0, min(longest, n - j) + 1):
                        p = emission_probability(cut[i], positions[i], letters[j : j + length])
                        forward[i + 1][j + length] += forward[i][j] * p
            total = forward[k][n]
            if total <= 0.0:
                continue
            backward = [[0.0] * (n + 1) for _ in range(k + 1)]
            backward[k][n] = 1.0
            for i in range(k - 1, -1, -1):
                for j in range(n + 1):
                    acc = 0.0
                    for length in range(0, min(longest, n - j) + 1):
                        p = emission_probability(cut[i], positions[i], letters[j : j + length])
                        acc += p * backward[i + 1][j + length]
                    backward[i][j] = acc
            for i in range(k):
                for j in range(n + 1):
                    if forward[i][j] == 0.0:
                        continue
                    for length in range(0, min(longest, n - j) + 1):
                        emission = letters[j : j + length]
                        p = emission_probability(cut[i], positions[i], emission)
                        share = forward[i][j] * p * backward[i + 1][j + length] / total
                        if share > 1e-6:
                            counts[(cut[i], positions[i])][emission] += share
                            counts[(cut[i], "*")][emission] += share
        probability = {}
        for (unit, position), emitted in counts.items():
            if position == "*":
                continue
            anywhere = counts[(unit, "*")]
            anywhere_total = sum(anywhere.values())
            local_total = sum(emitted.values())
            smoothed = {
                e: (emitted.get(e, 0.0) + _BACKOFF * c / anywhere_total) / (local_total + _BACKOFF)
                for e, c in anywhere.items()
            }
            probability[(unit, position)] = smoothed
        for (unit, position), emitted in counts.items():
            if position == "*":
                total_count = sum(emitted.values())
                probability[(unit, "*")] = {e: c / total_count for e, c in emitted.items()}
    tables: dict[str, Table] = {"B": {}, "M": {}, "E": {}, "*": {}}
    for (unit, position), emitted in probability.items():
        best = sorted(emitted.items(), key=lambda item: (-item[1], item[0]))
        kept = [(e, round(p, 4)) for e, p in best if p >= _MIN_READING_PROBABILITY]
        tables[position][unit] = kept[:_READINGS_PER_UNIT]
    return tables


def _levenshtein(a: str, b: str) -> int:
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


@lru_cache(maxsize=1)
def _tables() -> dict[str, dict[str, Table]]:
    if not TABLES.exists():
        return {}
    with TABLES.open(encoding="utf-8") as handle:
        raw = json.load(handle)
    return {
        script: {
            position: {unit: [(e, float(p)) for e, p in readings] for unit, readings in t.items()}
            for position, t in by_position.items()
        }
        for script, by_position in raw.items()
    }


def save_tables(tables: dict[str, dict[str, Table]]) -> None:
    """Write learned tables where `readings()` finds them (used by bench/match_quality.py)."""
    with TABLES.open("w", encoding="utf-8") as handle:
        json.dump(tables, handle, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
        handle.write("\n")
    _tables.cache_clear()
    readings.cache_clear()


# Hypotheses kept per unit in the beam, and readings a part keeps. Measured on a quarter of the
# NETranslit tuning parts held out from learning (recall at 0.77, Chinese / Hebrew / Japanese):
# 24/12: 0.690 / 0.895 / 0.861; 48/24: 0.716 / 0.914 / 0.887; 64/40: 0.728 / 0.925 / 0.909;
# 96/64: 0.742 / 0.940 / - with Arabic FP 0.25 %. More readings cost more comparisons.
BEAM_WIDTH = 64
READINGS_KEPT = 40


@lru_cache(maxsize=50_000)
def readings(text: str) -> tuple[str, ...]:
    """The most probable Latin spellings of one name part in a covered script, best first."""
    script = script_of(text)
    tables = _tables().get(script or "")
    if not tables:
        return ()
    cut = units(text, script or "")
    if not cut:
        return ()
    beam: list[tuple[float, str]] = [(0.0, "")]
    for index, unit in enumerate(cut):
        options = tables[_position(index, len(cut))].get(unit) or tables["*"].get(unit)
        if not options:
            fallback = latin_letters(unit)
            options = [(fallback, 1.0)]
        grown: dict[str, float] = {}
        for score, prefix in beam:
            for emission, p in options:
                candidate = prefix + emission
                value = score + math.log(p)
                if value > grown.get(candidate, -math.inf):
                    grown[candidate] = value
        beam = sorted(((v, c) for c, v in grown.items()), reverse=True)[:BEAM_WIDTH]
    spellings = [c for _, c in beam[:READINGS_KEPT] if c]
    if script == "kana":
        # Hepburn writes the moraic n as m before p, b and m (トランプ → Trump, not Tranp).
        spellings = [_labial_n(c) for c in spellings]
    return tuple(dict.fromkeys(spellings))


def _labial_n(text: str) -> str:
    return text.replace("np", "mp").replace("nb", "mb").replace("nm", "mm")
