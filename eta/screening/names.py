"""Person-name similarity for watchlist screening: normalise, romanise, align name parts, score.

Two names are split into parts, each part romanised (any script to Latin) and reduced to a
phonetic key and a consonant skeleton. Parts are paired by the best similarity (exact, known
variant, nickname, initial, edit distance within a length-dependent allowance, skeleton for
scripts that write no short vowels); the score is the weighted mean over the pairing, where a part
replaced by a different one costs more than a part merely missing from one side. A Korean or
Chinese name in Latin letters is also scored with its given name as one part (KU JA YOUNG as
KU JAYOUNG), as the same name in Hangul or Han characters is read.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from anyascii import anyascii
from rapidfuzz.distance import OSA

from eta.screening.han import (
    JAPANESE,
    KOREAN,
    MANDARIN,
    NATIONALITY_LANGUAGE,
    han_readings,
    is_han,
    korean_spellings,
)
from eta.screening.name_variants import PARTICLES, TITLES, VARIANT_GROUPS
from eta.screening.names_cjk import is_syllabic_name
from eta.screening.names_nicknames import is_nickname_pair
from eta.screening.readings import readings as learned_readings

DEFAULT_THRESHOLD: float = 0.71
"""Score at and above which the shipped configuration takes two names as the same person.

Chosen on the tuning half of names/person_pairs_dev.csv by bench/match_quality.py (best F1 with
recall >= 0.85 and FP <= 0.5 % on every NETranslit tuning part); the same figure is repeated as
config.settings.DEFAULT_MATCH_THRESHOLD (ETA_MATCH_THRESHOLD).
"""

# Similarity of two parts that are known variants of one name (Mohammed / Muhammad).
VARIANT_SIMILARITY = 0.92
# A given name and one of its nicknames (Timothy / Tim): likely the same name, less certain than
# a spelling variant.
NICKNAME_SIMILARITY = 0.9
# Similarity of an initial with a part that starts with that letter (V. / Vladimir).
INITIAL_SIMILARITY = 0.85
# Two parts that sound alike once spelling conventions are folded (Wolodymyr / Volodymyr).
PHONETIC_SIMILARITY = 0.9
# Equal consonant skeletons when one side comes from a script without short vowels.
SKELETON_SIMILARITY = 0.9

# A Latin part spelled as one of the learned readings of a part in another script.
READING_SIMILARITY = 1.0

# Cost, per unit of weight, of name parts left unpaired. A part on each side that found no partner
# is a substitution (AL-DULAIMI vs AL-TIKRITI): a contradiction, not missing evidence, so it costs
# twice its weight and one replaced part of six (brothers on the lists share all the others) no
# longer reaches the threshold. A part only one side has is an omission (a dropped middle name)
# and costs less, more on the query side than on the list side. Chosen on the tuning half of
# person_pairs_dev.csv (`bench/match_quality.py --sweep`): substitution 1.0 gave F1 0.906 at best;
# 2.0 with list-side omission 0.35 gives 0.928 at 0.71. Tuning F1 stays within 0.92-0.934 for
# any substitution cost from 1.5 to 4 (fewer than one pair of 138 apart), so the half does not
# single out one value there; higher costs mostly move the best threshold down.
SUBSTITUTION_COST = 2.0
QUERY_OMISSION_COST = 0.5
CANDIDATE_OMISSION_COST = 0.35
# A surname, when the caller knows which part it is, weighs more than the given names.
SURNAME_WEIGHT = 1.3
PARTICLE_WEIGHT = 0.3
# The last full part of a name of two parts or more: most often the family name, which tells
# people apart more than a given name (AL-DULAIMI / AL-TIKRITI, Sancho / Sanchez). Chosen on the
# tuning half of person_pairs_dev.csv (1.2: F1 0.855, 1.3: 0.874, 1.4: 0.868).
LAST_PART_WEIGHT = 1.3
LAST_PART_MIN_PARTS = 2
INITIAL_WEIGHT = 0.5
INITIALS_ONLY_CAP = 0.5

_SEPARATORS = re.compile(r"[\s\-‐‑‒–—―_,;:/\\.·・•()\[\]{}\"«»“”„+&|*#!?<>=@]+")
_DROPPED = re.compile(r"['`ʻʼʾʿ’‘´]")
_LEET = str.maketrans("013457890", "oieastbgo")
_CAPITAL_SPLIT = re.compile(r"[A-Z][a-z]*|[a-z]+")

_VARIANTS: dict[str, frozenset[int]] = {}
for _group_id, _group in enumerate(VARIANT_GROUPS):
    for _spelling in _group.split():
        _VARIANTS[_spelling] = _VARIANTS.get(_spelling, frozenset()) | {_group_id}
_NO_GROUPS: frozenset[int] = frozenset()


@dataclass(frozen=True, slots=True)
class NameToken:
    """One part of a name after normalisation, with the forms the matcher compares."""

    text: str  # romanised, lower case, a-z only
    key: str  # phonetic key: spelling conventions folded (ph->f, w->v, doubled letters...)
    skeleton: str  # consonants of the key, for scripts that do not write short vowels
    display: str  # the part as the source wrote it, upper-cased, for explanations
    weight: float
    abjad: bool  # came from Arabic, Hebrew, Thai...: vowels are missing from `text`
    groups: frozenset[int]  # known-variant groups the spelling belongs to
    initial: bool  # a single letter
    # Other Latin spellings of a part written in another script, with their phonetic keys:
    # the most probable readings of its letters (eta.screening.readings), best first.
    readings: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class NameComparison:
    """The score of two names with the pairing behind it and a sentence an officer can read."""

    score: float
    explanation: str
    pairs: tuple[tuple[str, str, float], ...]  # (query part, listed part, similarity)
    unmatched_query: tuple[str, ...]
    unmatched_candidate: tuple[str, ...]


def _script(char: str) -> str:
    """Coarse script class of one character: latin, abjad, han, hangul or other."""
    code = ord(char)
    if code < 0x0250:
        return "latin"
    if 0x0590 <= code <= 0x08FF or 0xFB1D <= code <= 0xFDFF or 0xFE70 <= code <= 0xFEFF:
        return "abjad"  # Hebrew, Arabic, Syriac, Thaana
    if 0x0E00 <= code <= 0x0EFF or 0x1780 <= code <= 0x17FF:
        return "abjad"  # Thai, Lao, Khmer: romanised without most vowels
    if 0xAC00 <= code <= 0xD7AF:
        return "hangul"
    if 0x3400 <= code <= 0x9FFF or 0xF900 <= code <= 0xFAFF or 0x20000 <= code <= 0x2FFFF:
        return "han"
    return "other"


def _phonetic_key(text: str) -> str:
    """Fold spelling conventions so that different romanisations of one sound compare equal."""
    key = text
    if key.startswith("x") and len(key) > 1 and key[1] in _VOWELS:
        key = "s" + key[1:]  # pinyin Xi, Xiao, Xu: a word-initial x is an s sound
    for old, new in _KEY_RULES:
        if old in key:
            key = key.replace(old, new)
    folded = []
    previous = ""
    for char in key:
        if char != previous:
            folded.append(char)
        previous = char
    key = "".join(folded)
    if len(key) > 3 and key.endswith("h"):
        key = key[:-1]
    return key


_KEY_RULES: tuple[tuple[str, str], ...] = (
    ("tsch", "C"),
    ("tch", "C"),
    ("sch", "S"),
    ("dzh", "J"),
    ("zh", "J"),
    ("kh", "h"),
    ("gh", "g"),
    ("ph", "f"),
    ("th", "t"),
    ("dh", "d"),
    ("ch", "C"),
    ("sh", "S"),
    ("ck", "k"),
    ("q", "k"),
    ("x", "ks"),
    ("c", "k"),
    ("w", "v"),
    ("z", "s"),
    ("j", "y"),
    ("ou", "u"),
    ("oo", "u"),
    ("ee", "i"),
    ("ie", "i"),
    ("ei", "i"),
    ("ae", "e"),
    ("ue", "u"),
    ("oe", "o"),
    ("y", "i"),
    ("C", "ch"),
    ("S", "sh"),
    ("J", "j"),
)
_VOWELS = frozenset("aeiouyvw")


def _skeleton(key: str) -> str:
    """Consonants of a phonetic key (w and v count as vowels: Arabic and Hebrew write them so)."""
    consonants = [c for c in key if c not in _VOWELS]
    out: list[str] = []
    for char in consonants:
        if not out or out[-1] != char:
            out.append(char)
    return "".join(out)


def _romanise(raw: str) -> tuple[list[str], bool]:
    """Romanise one raw part into one or more lower-case Latin parts, and say if it was abjad."""
    scripts = {_script(c) for c in raw if c.isalpha()}
    abjad = "abjad" in scripts
    if "han" in scripts or "hangul" in scripts:
        # anyascii writes each syllable capitalised ("JinZhengEn"): family name first, the rest
        # joined as one given name, as passports write Chinese and Korean names.
        syllables = [s.lower() for s in _CAPITAL_SPLIT.findall(anyascii(raw))]
        if "hangul" in scripts:
            syllables = [s.replace("eo", "o").replace("eu", "u") for s in syllables]
        if len(syllables) > 1:
            return [syllables[0], "".join(syllables[1:])], abjad
        return syllables, abjad
    if abjad and raw.startswith("ال") and len(raw) > 3:
        # The Arabic article is written joined to the name: الحسن is "al-Hassan".
        return ["al", *_romanise(raw[2:])[0]], abjad
    text = anyascii(raw).lower()
    if any(c.isdigit() for c in text) and any(c.isalpha() for c in text):
        text = text.translate(_LEET)  # "Ig0r Sech1n"
    parts = [p for p in _SEPARATORS.split(_DROPPED.sub("", text)) if p]
    return ["".join(c for c in p if "a" <= c <= "z") for p in parts], abjad


@lru_cache(maxsize=100_000)
def _make_token(text: str, display: str, abjad: bool, readings: tuple[str, ...] = ()) -> NameToken:
    key = _phonetic_key(text)
    if len(text) == 1:
        weight = INITIAL_WEIGHT
    elif text in PARTICLES:
        weight = PARTICLE_WEIGHT
    else:
        weight = 1.0
    return NameToken(
        text=text,
        key=key,
        skeleton=_skeleton(key),
        display=display,
        weight=weight,
        abjad=abjad,
        groups=_VARIANTS.get(text, _NO_GROUPS),
        initial=len(text) == 1,
        readings=tuple((r, _phonetic_key(r)) for r in readings if r != text),
    )


@lru_cache(maxsize=200_000)
def _raw_part_tokens(raw: str) -> tuple[NameToken, ...]:
    """Tokens of one space-separated part; cached because parts repeat far more than names."""
    if raw.isascii() and raw.isalpha():
        return (_make_token(raw, raw.upper(), False),)
    syllables = [c for c in raw if 0xAC00 <= ord(c) <= 0xD7AF]
    if syllables and len(syllables) == len(raw):
        # Hangul: family name first, the given name as one part, each with the spellings
        # passports use (Park, Sung for 박, 성).
        parts = [syllables[0], "".join(syllables[1:])] if len(syllables) > 1 else syllables
        spelt = [korean_spellings(part) for part in parts]
        return tuple(_make_token(text, text, False, others) for text, others in spelt if text)
    texts, abjad = _romanise(raw)
    if len(texts) == 1 and texts[0]:
        return (_make_token(texts[0], raw.upper(), abjad, learned_readings(raw)),)
    return tuple(
        _make_token(text, raw.upper() if len(texts) == 1 else text, abjad) for text in texts if text
    )


FOREIGN = "foreign"
"""Reading of a Han name part as a foreign name written in Chinese characters (瑪莎 → Martha)."""


@lru_cache(maxsize=20_000)
def _han_part_readings(raw: str) -> dict[str, tuple[NameToken, ...]]:
    """Tokens of one part written in Han characters, by reading language."""
    readings: dict[str, tuple[NameToken, ...]] = {}
    for language, reading in han_readings(raw).items():
        readings[language] = tuple(
            _make_token(text, text, False, others) for text, others in reading if text
        )
    whole = "".join(t.text for t in readings.get(MANDARIN, ()))
    if whole:
        readings[FOREIGN] = (_make_token(whole, raw.upper(), False, learned_readings(raw)),)
    return readings


def name_parts(name: str, folded: str | None = None) -> list[str]:
    """The raw parts of a name as the tokeniser splits it: NFKC, case-folded, apostrophes dropped.

    `folded`, when the caller already has it, is `name.casefold()` with its runs of white space
    collapsed; for a name in ASCII that is all the normalisation there is, so it is not redone.
    """
    if folded is None or not name.isascii():
        folded = unicodedata.normalize("NFKC", name).casefold()
    return [raw for raw in _SEPARATORS.split(_DROPPED.sub("", folded)) if raw]


def has_han(raw: str) -> bool:
    """Whether a raw part holds Han characters (read in several languages, not one way)."""
    return not raw.isascii() and any(is_han(c) for c in raw)


def part_tokens(raw: str) -> tuple[NameToken, ...]:
    """Tokens of one raw part without Han characters (see `name_parts`), titles not yet dropped."""
    return _raw_part_tokens(raw)


def is_title(token: NameToken) -> bool:
    """Whether the part is a title or honorific (Dr, Sheikh...) that `name_readings` drops."""
    return token.text in TITLES


def syllabic_readings(tokens: tuple[NameToken, ...]) -> tuple[tuple[NameToken, ...], ...]:
    """The readings `name_readings` gives a name without Han characters or titles."""
    return _syllabic_readings(tokens)


@lru_cache(maxsize=50_000)
def name_readings(
    name: str, languages: frozenset[str] | None = None
) -> tuple[tuple[NameToken, ...], ...]:
    """Every tokenisation of a name: one, or one per reading of its Han characters.

    `languages` limits the Han readings to those languages (the foreign-name reading, a Chinese
    transcription, goes with Mandarin); None reads Han characters in every language.
    """
    raws = name_parts(name)
    han_parts = {i: _han_part_readings(raw) for i, raw in enumerate(raws) if has_han(raw)}
    han_parts = {i: readings for i, readings in han_parts.items() if readings}
    if not han_parts:
        tokens = [t for raw in raws for t in _raw_part_tokens(raw)]
        return _syllabic_readings(_drop_titles(tokens))
    present = [
        lang
        for lang in (MANDARIN, JAPANESE, KOREAN, FOREIGN)
        if any(lang in readings for readings in han_parts.values())
    ]
    if languages is not None:
        wanted = languages | {FOREIGN} if MANDARIN in languages else languages
        present = [lang for lang in present if lang in wanted] or present
    results: list[tuple[NameToken, ...]] = []
    for language in present:
        tokens = []
        for i, raw in enumerate(raws):
            readings = han_parts.get(i)
            if readings is None:
                tokens.extend(_raw_part_tokens(raw))
            else:
                tokens.extend(readings.get(language) or next(iter(readings.values())))
        kept = _drop_titles(tokens)
        if kept not in results:
            results.append(kept)
    return tuple(results)


def _syllabic_readings(tokens: tuple[NameToken, ...]) -> tuple[tuple[NameToken, ...], ...]:
    """The name as written and, for KU JA YOUNG, also as KU JAYOUNG: a Korean or Chinese given
    name in Latin letters is one part, as the same name in Hangul or Han characters is read
    (eta.screening.names_cjk). Both are kept: a name with a syllable dropped (RI GON for
    RI MAN GON) or its parts reordered still compares as written."""
    if (
        len(tokens) == 3
        and not any(t.abjad or t.readings for t in tokens)
        and is_syllabic_name((tokens[0].text, tokens[1].text, tokens[2].text))
    ):
        return (tokens, (tokens[0], _join(tokens[1:])))
    return (tokens,)


def _drop_titles(tokens: list[NameToken]) -> tuple[NameToken, ...]:
    kept = tuple(t for t in tokens if t.text not in TITLES)
    return kept if kept else tuple(tokens)


def name_tokens(name: str) -> tuple[NameToken, ...]:
    """Split a person name in any script into normalised, romanised parts (titles dropped).

    A name in Han characters is read in Mandarin here; `name_readings` gives every reading.
    """
    return name_readings(name)[0]


def _edit_allowance(length: int) -> int:
    """Edits tolerated between two parts of this length: none for parts of two letters or less."""
    if length <= 2:
        return 0
    if length <= 5:
        return 1
    if length <= 10:
        return 2
    return 3


def _edit_similarity(a: str, b: str) -> float:
    """Similarity from edit distance, zero beyond the length-dependent allowance."""
    len_a = len(a)
    len_b = len(b)
    shortest, longest = (len_a, len_b) if len_a < len_b else (len_b, len_a)
    allowance = _edit_allowance(shortest)
    if allowance == 0 or longest - shortest > allowance:
        return 0.0
    # Optimal string alignment: two neighbouring letters swapped (Anglea / Angela) is one typo.
    distance = OSA.distance(a, b, score_cutoff=allowance)
    if distance > allowance:
        return 0.0
    return 1.0 - distance / longest


# Keyed by what the similarity depends on: the spelling, whether it lost its vowels, and its
# readings (a Han part and a Latin part may share a spelling but not their readings).
_CacheKey = tuple[str, bool, tuple[tuple[str, str], ...], str, bool, tuple[tuple[str, str], ...]]
_SIMILARITY_CACHE: dict[_CacheKey, float] = {}
_SIMILARITY_CACHE_SIZE = 500_000


def token_similarity(a: NameToken, b: NameToken) -> float:
    """Similarity in [0, 1] of two name parts."""
    if a.text == b.text:
        return 1.0
    cache_key = (a.text, a.abjad, a.readings, b.text, b.abjad, b.readings)
    cached = _SIMILARITY_CACHE.get(cache_key)
    if cached is not None:
        return cached
    similarity = _token_similarity(a, b)
    if len(_SIMILARITY_CACHE) >= _SIMILARITY_CACHE_SIZE:
        _SIMILARITY_CACHE.clear()
    _SIMILARITY_CACHE[cache_key] = similarity
    _SIMILARITY_CACHE[(b.text, b.abjad, b.readings, a.text, a.abjad, a.readings)] = similarity
    return similarity


def _token_similarity(a: NameToken, b: NameToken) -> float:
    if a.groups & b.groups:
        return VARIANT_SIMILARITY
    if not a.groups and not b.groups and is_nickname_pair(a.text, b.text):
        # The curated variant groups decide for the spellings they hold (Ali is not Alison).
        return NICKNAME_SIMILARITY
    if a.initial or b.initial:
        if a.text[0] == b.text[0] and not (a.initial and b.initial):
            return INITIAL_SIMILARITY
        return 0.0
    if a.key == b.key:
        return PHONETIC_SIMILARITY
    best = _edit_similarity(a.text, b.text)
    if a.readings or b.readings:
        best = max(best, _reading_similarity(a, b), _reading_similarity(b, a))
    if best < 0.97:
        best = max(best, 0.97 * _edit_similarity(a.key, b.key))
    if (a.abjad or b.abjad) and a.skeleton and b.skeleton:
        if a.skeleton == b.skeleton:
            best = max(best, SKELETON_SIMILARITY)
        elif min(len(a.skeleton), len(b.skeleton)) >= 4:
            best = max(best, 0.9 * _edit_similarity(a.skeleton, b.skeleton))
    return best


def _reading_similarity(a: NameToken, b: NameToken) -> float:
    """Best similarity of `b` with any of the readings of `a` (a part in another script)."""
    best = 0.0
    for text, key in a.readings:
        if text == b.text:
            return READING_SIMILARITY
        if key == b.key:
            best = max(best, READING_SIMILARITY * PHONETIC_SIMILARITY)
            continue
        best = max(
            best,
            READING_SIMILARITY * _edit_similarity(text, b.text),
            READING_SIMILARITY * 0.97 * _edit_similarity(key, b.key),
        )
    return best


def _join(tokens: tuple[NameToken, ...]) -> NameToken:
    abjad = any(t.abjad for t in tokens)
    return _make_token("".join(t.text for t in tokens), " ".join(t.display for t in tokens), abjad)


def _merge_split_parts(
    longer: tuple[NameToken, ...], shorter: tuple[NameToken, ...]
) -> tuple[NameToken, ...]:
    """Join adjacent parts of the longer name that together spell one part of the other.

    Catches "Patr ushev" ~ "Patrushev", "Rami Makhlouf" ~ "Ramimakhlouf", "عبد الله" ~ "Abdullah".
    """
    result = list(longer)
    target_lengths = [len(t.text) for t in shorter]
    longest_target = max(target_lengths)
    for span in (3, 2):
        i = 0
        while i + span <= len(result):
            parts = tuple(result[i : i + span])
            lengths = [len(p.text) for p in parts]
            length = sum(lengths)
            longest_part = max(lengths)
            # The whole must be near the joined length and longer than any piece of it.
            if longest_target < longest_part + 2 or not any(
                abs(length - n) <= 3 and n >= longest_part + 2 for n in target_lengths
            ):
                i += 1
                continue
            joined = _join(parts)
            best_joined = max(token_similarity(joined, t) for t in shorter)
            if best_joined >= 0.85:
                best_single = max(token_similarity(p, t) for p in parts for t in shorter)
                if best_joined > best_single:
                    result[i : i + span] = [joined]
            i += 1
    return tuple(result)


Pairing = tuple[list[tuple[int, int, float]], list[int], list[int]]


def _pair_parts(query: tuple[NameToken, ...], candidate: tuple[NameToken, ...]) -> Pairing:
    """Pair parts greedily, most similar first; return pairs and the parts left on each side."""
    scored = []
    for i, q in enumerate(query):
        for j, c in enumerate(candidate):
            sim = token_similarity(q, c)
            if sim > 0.0:
                scored.append((sim, i, j))
    scored.sort(key=lambda item: (-item[0], item[1], item[2]))
    used_q: set[int] = set()
    used_c: set[int] = set()
    pairs: list[tuple[int, int, float]] = []
    for sim, i, j in scored:
        if i not in used_q and j not in used_c:
            used_q.add(i)
            used_c.add(j)
            pairs.append((i, j, sim))
    unmatched_q = [i for i in range(len(query)) if i not in used_q]
    unmatched_c = [j for j in range(len(candidate)) if j not in used_c]
    return pairs, unmatched_q, unmatched_c


def _pairing_score(
    pairing: Pairing,
    query_weights: list[float],
    candidate_weights: list[float],
    query_omission: float,
    candidate_omission: float,
) -> float:
    """Weighted mean similarity over the pairs, with the costs of the parts left unpaired."""
    pairs, unmatched_q, unmatched_c = pairing
    numerator = 0.0
    denominator = 0.0
    for i, j, sim in pairs:
        weight = max(query_weights[i], candidate_weights[j])
        numerator += weight * sim
        denominator += weight
    lost_q = sum(query_weights[i] for i in unmatched_q)
    lost_c = sum(candidate_weights[j] for j in unmatched_c)
    if unmatched_q and unmatched_c:
        # An initial left over against a full part left over is a contradiction (Hans O. /
        # Hans Joachim), not a detail: it costs what a replaced full part costs.
        lost_q += sum(
            1.0 - INITIAL_WEIGHT for i in unmatched_q if query_weights[i] == INITIAL_WEIGHT
        )
        lost_c += sum(
            1.0 - INITIAL_WEIGHT for j in unmatched_c if candidate_weights[j] == INITIAL_WEIGHT
        )
    substituted = min(lost_q, lost_c)
    denominator += (
        SUBSTITUTION_COST * substituted
        + query_omission * (lost_q - substituted)
        + candidate_omission * (lost_c - substituted)
    )
    score = numerator / denominator if denominator > 0 else 0.0
    return min(1.0, score)


def _same_texts_but_one(a: tuple[NameToken, ...], b: tuple[NameToken, ...]) -> bool:
    """All parts but one spelt alike on both sides: nothing left that a join could explain."""
    return len({t.text for t in a} ^ {t.text for t in b}) <= 2


def _prepare(
    query: tuple[NameToken, ...], candidate: tuple[NameToken, ...]
) -> tuple[tuple[NameToken, ...], tuple[NameToken, ...]]:
    if len(query) > len(candidate):
        query = _merge_split_parts(query, candidate)
    elif len(candidate) > len(query):
        candidate = _merge_split_parts(candidate, query)
    elif len(query) >= 3 and not _same_texts_but_one(query, candidate):
        # As many parts on each side can still hide a split one ("Patr ushev" beside a dropped
        # middle name): join on whichever side it helps.
        query = _merge_split_parts(query, candidate)
        if len(query) == len(candidate):
            candidate = _merge_split_parts(candidate, query)
    return query, candidate


def _weights(tokens: tuple[NameToken, ...]) -> list[float]:
    """Weights of a name's parts; the last full part of a longer name is usually its family name."""
    weights = [t.weight for t in tokens]
    if len(tokens) >= LAST_PART_MIN_PARTS:
        for index in range(len(tokens) - 1, -1, -1):
            if weights[index] == 1.0:
                weights[index] = LAST_PART_WEIGHT
                break
    return weights


def _symmetric_score(pairing: Pairing, weights_a: list[float], weights_b: list[float]) -> float:
    """The better of the two readings: either name may be the one with parts omitted."""
    return max(
        _pairing_score(pairing, weights_a, weights_b, QUERY_OMISSION_COST, CANDIDATE_OMISSION_COST),
        _pairing_score(pairing, weights_a, weights_b, CANDIDATE_OMISSION_COST, QUERY_OMISSION_COST),
    )


def _same_parts(a: tuple[NameToken, ...], b: tuple[NameToken, ...]) -> bool:
    return len(a) == len(b) and sorted(t.text for t in a) == sorted(t.text for t in b)


def name_similarity(a: str, b: str) -> float:
    """Similarity in [0, 1] of two person names in any script; symmetric in its arguments."""
    readings_a = name_readings(a)
    readings_b = name_readings(b)
    if len(readings_a) == 1 and len(readings_b) == 1:
        return _token_similarity_score(readings_a[0], a, readings_b[0], b)
    return max(
        _token_similarity_score(tokens_a, a, tokens_b, b)
        for tokens_a in readings_a
        for tokens_b in readings_b
    )


def _token_similarity_score(
    tokens_a: tuple[NameToken, ...], a: str, tokens_b: tuple[NameToken, ...], b: str
) -> float:
    if not tokens_a or not tokens_b:
        return 0.0
    if _same_parts(tokens_a, tokens_b):
        return 1.0
    # Order the two sides canonically so that every tie is broken the same way whichever
    # argument comes first.
    if (len(tokens_a), a) > (len(tokens_b), b):
        tokens_a, tokens_b = tokens_b, tokens_a
    tokens_a, tokens_b = _prepare(tokens_a, tokens_b)
    pairing = _pair_parts(tokens_a, tokens_b)
    score = _symmetric_score(pairing, _weights(tokens_a), _weights(tokens_b))
    return _cap_initials_only(score, tokens_a, tokens_b)


def _cap_initials_only(score: float, a: tuple[NameToken, ...], b: tuple[NameToken, ...]) -> float:
    """A name written only in initials ("N.N.") says too little to identify anyone."""
    if all(t.initial for t in a) or all(t.initial for t in b):
        return min(score, INITIALS_ONLY_CAP)
    return score


def compare_names(
    query: str,
    candidate: str,
    query_surname: str | None = None,
    nationality: str | None = None,
) -> NameComparison:
    """Score a queried name against a listed one and explain the pairing in a short sentence.

    `query_surname`, when the caller knows it (the MRZ separates it), makes the family name weigh
    more: a listed name that lacks the surname scores lower than one that lacks a given name.
    `nationality` (the queried person's) chooses how Han characters are read: in Japanese for
    JPN, Korean for KOR and PRK, Mandarin for CHN, TWN, HKG, MAC; every reading when None.
    Without a surname or nationality the score equals `name_similarity(query, candidate)`.
    """
    language = NATIONALITY_LANGUAGE.get((nationality or "").upper())
    languages = frozenset((language,)) if language else None
    surname_texts = {t.text for t in name_tokens(query_surname)} if query_surname else set()
    best: NameComparison | None = None
    for q_tokens in name_readings(query, languages):
        for c_tokens in name_readings(candidate, languages):
            comparison = _compare_tokens(q_tokens, c_tokens, surname_texts)
            if best is None or comparison.score > best.score:
                best = comparison
    return best or NameComparison(0.0, "no comparable name", (), (), ())


def _compare_tokens(
    q_tokens: tuple[NameToken, ...], c_tokens: tuple[NameToken, ...], surname_texts: set[str]
) -> NameComparison:
    if not q_tokens or not c_tokens:
        return NameComparison(0.0, "no comparable name", (), (), ())
    q_tokens, c_tokens = _prepare(q_tokens, c_tokens)
    pairing = _pair_parts(q_tokens, c_tokens)
    c_weights = _weights(c_tokens)
    if surname_texts:
        q_weights = [
            t.weight * SURNAME_WEIGHT if t.text in surname_texts else t.weight for t in q_tokens
        ]
        score = _pairing_score(
            pairing, q_weights, c_weights, QUERY_OMISSION_COST, CANDIDATE_OMISSION_COST
        )
        score = _cap_initials_only(score, q_tokens, c_tokens)
    else:
        # Without a known surname either name may be the one with parts omitted, as in
        # name_similarity.
        score = _cap_initials_only(
            _symmetric_score(pairing, _weights(q_tokens), c_weights), q_tokens, c_tokens
        )
    if _same_parts(q_tokens, c_tokens):
        score = 1.0
    pairs, unmatched_q, unmatched_c = pairing
    explanation = _explain(
        q_tokens, c_tokens, pairs, unmatched_q, unmatched_c, surname_texts, score
    )
    return NameComparison(
        score=round(score, 4),
        explanation=explanation,
        pairs=tuple((q_tokens[i].display, c_tokens[j].display, sim) for i, j, sim in pairs),
        unmatched_query=tuple(q_tokens[i].display for i in unmatched_q),
        unmatched_candidate=tuple(c_tokens[j].display for j in unmatched_c),
    )


def _same_spelling(q: NameToken, c: NameToken, sim: float) -> bool:
    """Equal once romanised, not only through one of the other readings of a part."""
    return sim >= 1.0 and q.text == c.text


def _describe_pair(q: NameToken, c: NameToken, sim: float) -> str:
    if _same_spelling(q, c, sim):
        return f"{q.display} = {c.display}"
    if q.readings or c.readings:
        return f"{q.display} ~ {c.display} (transliterated, {sim:.2f})"
    if q.groups & c.groups:
        return f"{q.display} ~ {c.display} (known variant)"
    if is_nickname_pair(q.text, c.text):
        return f"{q.display} ~ {c.display} (nickname)"
    if q.initial or c.initial:
        return f"{q.display} ~ {c.display} (initial)"
    return f"{q.display} ~ {c.display} ({sim:.2f})"


def _explain(
    query: tuple[NameToken, ...],
    candidate: tuple[NameToken, ...],
    pairs: list[tuple[int, int, float]],
    unmatched_q: list[int],
    unmatched_c: list[int],
    surname_texts: set[str],
    score: float,
) -> str:
    phrases: list[str] = []
    surname_pairs = [p for p in pairs if query[p[0]].text in surname_texts]
    given_pairs = [p for p in pairs if query[p[0]].text not in surname_texts]
    if surname_texts:
        if surname_pairs:
            described = ", ".join(
                _describe_pair(query[i], candidate[j], s) for i, j, s in surname_pairs
            )
            phrases.append(f"surname {described}")
        else:
            phrases.append("surname not found in listed name")
    exact_given = all(_same_spelling(query[i], candidate[j], s) for i, j, s in given_pairs)
    if given_pairs and exact_given and not unmatched_q:
        phrases.append("given names match" if surname_texts else "names match")
    else:
        phrases.extend(
            _describe_pair(query[i], candidate[j], s)
            for i, j, s in given_pairs
            if not _same_spelling(query[i], candidate[j], s)
        )
    if unmatched_q:
        missing = " ".join(query[i].display for i in unmatched_q)
        phrases.append(f"{missing} not in listed name")
    if unmatched_c:
        extra = " ".join(candidate[j].display for j in unmatched_c)
        phrases.append(f"listed name also has {extra}")
    return f"name {score:.2f}: " + ", ".join(phrases)
