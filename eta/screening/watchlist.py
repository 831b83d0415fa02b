"""Screening a person against a watchlist: an inverted index of name keys, then person scoring.

Candidates come from an inverted index of phonetic keys (Metaphone, consonant skeleton, known
variant group) of every listed name's parts, and of passport numbers; only the few dozen names
sharing the rarest keys with the query are scored. A candidate's score is its name score, then
qualifiers that apply only when both sides state the value (nationality, date of birth, sex), as in
OpenSanctions' logic-v2; an equal passport number is strong evidence on its own.
"""

from __future__ import annotations

import datetime as dt
import heapq
import math
from array import array
from bisect import bisect_left
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

import jellyfish

from eta.documents import normalise_document_number
from eta.screening.name_variants import PARTICLES
from eta.screening.names import (
    DEFAULT_THRESHOLD,
    NameComparison,
    NameToken,
    compare_names,
    has_han,
    is_title,
    name_parts,
    name_readings,
    part_tokens,
    syllabic_readings,
)
from eta.screening.types import BirthDate, DatePrecision, Subject, TravelDocument, WatchlistPerson

# Qualifier weights, applied only when both the subject and the entry state the value.
NATIONALITY_MISMATCH = 0.2
BIRTH_YEAR_MISMATCH = 0.15
BIRTH_DAY_MISMATCH = 0.25  # same year, a different exact day: both sides know the date exactly
SEX_MISMATCH = 0.2
# Positive evidence only counts once the names already look alike: a shared date of birth must
# not lift an unrelated name over the threshold.
NAME_FLOOR = 0.7
BIRTH_DATE_EQUAL_BONUS = 0.05
# An equal passport number (same number, same or unknown issuing country).
IDENTIFIER_SCORE = 0.9
CIRCA_YEARS = 2

# Candidate generation: score at most this many listed names per query.
MAX_CANDIDATES = 40
# Posting lists of near skeletons (one consonant away) walked at most this long.
_NEAR_POSTING = 30
# Readings of a part in another script that are indexed (each adds a key).
READING_KEYS = 3
# Posting lists longer than this are not walked: they only add weight to names already found.
_LONG_POSTING = 3_000


@dataclass(frozen=True, slots=True)
class WatchlistMatch:
    """A listed entry that matches the subject, with the reasons an officer can check."""

    entry_id: int
    key: str
    score: float  # 0..1, after qualifiers
    name_score: float  # the name alone
    matched_name: str  # the listed name (primary or alias) that matched best
    explanation: str


@dataclass(slots=True)
class _Entry:
    entry_id: int
    key: str
    birth_dates: tuple[BirthDate, ...]
    nationalities: tuple[str, ...]
    sex: str | None
    documents: tuple[TravelDocument, ...]
    primary: int  # number of the entry's first name


def _token_keys(token: NameToken) -> tuple[str, ...]:
    """Index keys of one name part: Metaphone, consonant skeleton and variant groups."""
    if token.initial or token.text in PARTICLES:
        return ()
    keys = []
    if not token.abjad:
        keys.append("m" + jellyfish.metaphone(token.text))
    if len(token.skeleton) >= 2:
        keys.append("s" + token.skeleton)
    if len(token.key) >= 5:
        keys.append("p" + token.key[:4])  # survives a typo near the end of a long part
    keys.extend(f"g{group}" for group in token.groups)
    # A part in another script is also found under its likeliest Latin readings.
    keys.extend({"m" + jellyfish.metaphone(text) for text, _ in token.readings[:READING_KEYS]})
    return tuple(keys)


def _pair_code(token: NameToken) -> str | None:
    """What a part brings to the pair keys: its Metaphone (its skeleton if abjad), or nothing."""
    if token.initial or token.text in PARTICLES:
        return None
    return jellyfish.metaphone(token.text) if not token.abjad else token.skeleton


def _pair_keys(tokens: Iterable[NameToken]) -> set[str]:
    """Keys for two parts of one name together: far rarer than either part alone."""
    return _pair_keys_of_codes([code for t in tokens if (code := _pair_code(t)) is not None])


def _pair_keys_of_codes(every: list[str]) -> set[str]:
    codes = sorted(set(every))
    keys = {f"b{a}|{b}" for i, a in enumerate(codes) for b in codes[i + 1 : i + 5]}
    # A part written twice (MOHAMED OMAR MOHAMED) pairs with itself: the query MOHAMED MOHAMED
    # has no other part to make a rare key with.
    if len(every) > len(codes):
        keys.update(f"b{code}|{code}" for code in codes if every.count(code) > 1)
    return keys


@dataclass(frozen=True, slots=True)
class _PartKeys:
    """What one raw part (as `name_parts` splits a name) brings to a listed name's keys.

    Worked out once per spelling: a million listed names are made of a few ten thousand parts.
    """

    tokens: tuple[NameToken, ...]
    keys: frozenset[str]  # the `_token_keys` of its tokens
    codes: tuple[str, ...]  # the `_pair_code`s of its tokens, in order


_CONSONANTS = "bcdfghjklmnpqrstxz"


def _skeleton_neighbours(token: NameToken) -> frozenset[str]:
    """Skeleton keys one consonant away (added, dropped or changed): a typo that hit a consonant
    (HAMZI typed HAMUI) leaves the part with no key in common with the listed spelling."""
    if token.initial or token.text in PARTICLES or len(token.text) < 4 or len(token.skeleton) < 2:
        return frozenset()
    return _near_skeletons(token.skeleton)


@lru_cache(maxsize=20_000)
def _near_skeletons(skeleton: str) -> frozenset[str]:
    near: set[str] = set()
    for i in range(len(skeleton) + 1):
        for c in _CONSONANTS:
            near.add(skeleton[:i] + c + skeleton[i:])
            if i < len(skeleton):
                near.add(skeleton[:i] + c + skeleton[i + 1 :])
        if i < len(skeleton) and len(skeleton) > 2:
            near.add(skeleton[:i] + skeleton[i + 1 :])
    near.discard(skeleton)
    return frozenset("s" + n for n in near)


_UNSEEN = _PartKeys((), frozenset(), ())


def _part_keys(raw: str) -> _PartKeys | None:
    """The keys of one raw part, or None when the general path must read the whole name."""
    if has_han(raw):
        return None  # read in several languages: the name has several readings
    tokens = part_tokens(raw)
    if any(is_title(token) for token in tokens):
        return None  # dropped, unless the name is only titles
    keys = frozenset(key for token in tokens for key in _token_keys(token))
    codes = tuple(code for token in tokens if (code := _pair_code(token)) is not None)
    return _PartKeys(tokens, keys, codes)


class WatchlistIndex:
    """All names of a watchlist, indexed by name-part keys, with each entry's qualifiers.

    Build it once from `(entry_id, WatchlistPerson)` pairs; `match()` then screens one subject.
    """

    def __init__(
        self,
        entries: Iterable[tuple[int, WatchlistPerson]] = (),
        max_candidates: int = MAX_CANDIDATES,
    ) -> None:
        self.max_candidates = max_candidates
        # Each distinct name is indexed and scored once, however many entries carry it: lists
        # and generated data hold many namesakes, and scoring each copy would crowd the
        # candidate cap with one name.
        self._names: list[str] = []
        self._name_entry = array("I")  # name number -> its first entry slot
        self._more_entries: dict[int, list[int]] = {}  # name number -> further entry slots
        self._name_numbers: dict[str, int] = {}  # normalised name -> name number
        self._entries: list[_Entry] = []
        self._postings: dict[str, array[int]] = {}
        self._documents: dict[str, list[int]] = {}
        self._token_key_cache: dict[NameToken, tuple[str, ...]] = {}
        # Raw part -> its keys, None for a part the general path reads (Han characters, a title).
        self._part_keys: dict[str, _PartKeys | None] = {}
        self._interned: dict[tuple[str, ...], tuple[str, ...]] = {}
        for entry_id, person in entries:
            self.add(entry_id, person)

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def name_count(self) -> int:
        """How many distinct names (primary names and aliases) the index holds."""
        return len(self._names)

    def add(self, entry_id: int, person: WatchlistPerson) -> None:
        """Index one listed person under every one of its names."""
        slot = len(self._entries)
        nationalities = tuple(n.upper() for n in person.nationalities)
        entry = _Entry(
            entry_id=entry_id,
            key=person.key,
            birth_dates=tuple(person.birth_dates),
            nationalities=self._interned.setdefault(nationalities, nationalities),
            sex=person.sex.upper() if person.sex else None,
            documents=tuple(person.documents),
            primary=-1,
        )
        self._entries.append(entry)
        for document in person.documents:
            document_number = normalise_document_number(document.number)
            if document_number:
                self._documents.setdefault(document_number, []).append(slot)
        seen_numbers: set[int] = set()
        postings = self._postings
        for name in person.names:
            normalised = " ".join(name.casefold().split())
            if not normalised:
                continue
            number = self._name_numbers.get(normalised)
            if number is None:
                number = self._name_numbers[normalised] = len(self._names)
                self._names.append(name)
                self._name_entry.append(slot)
                for key in self._name_keys(name, normalised):
                    posting = postings.get(key)
                    if posting is None:
                        posting = postings[key] = array("I")
                    posting.append(number)
            elif number not in seen_numbers:
                self._more_entries.setdefault(number, []).append(slot)
            seen_numbers.add(number)
            if entry.primary < 0:
                entry.primary = number

    def _name_keys(self, name: str, folded: str) -> set[str]:
        """The keys `name` is indexed under: those of every reading of it (see `candidates`).

        `folded` is the name case-folded with white space collapsed, as `add` has it. Most names
        are only Latin or other-script parts without titles: their keys are the union of their
        parts' keys, worked out once per part, and the pair keys; the rest take the tokeniser's
        general path.
        """
        every: list[str] = []
        keys: set[str] = set()
        tokens: list[NameToken] = []
        for raw in name_parts(name, folded):
            part = self._part_keys.get(raw, _UNSEEN)
            if part is _UNSEEN:
                part = self._part_keys[raw] = _part_keys(raw)
            if part is None:
                return self._name_keys_of_readings(name)
            keys |= part.keys
            every.extend(part.codes)
            tokens.extend(part.tokens)
        readings = syllabic_readings(tuple(tokens))
        keys |= _pair_keys_of_codes(every)
        for other in readings[1:]:
            keys |= self._reading_keys(other)
        return keys

    def _name_keys_of_readings(self, name: str) -> set[str]:
        keys: set[str] = set()
        # Bypass the tokeniser's cache: a million listed names would only churn it.
        for tokens in name_readings.__wrapped__(name):
            keys |= self._reading_keys(tokens)
        return keys

    def _reading_keys(self, tokens: tuple[NameToken, ...]) -> set[str]:
        keys = _pair_keys(tokens)
        for token in tokens:
            token_keys = self._token_key_cache.get(token)
            if token_keys is None:
                token_keys = self._token_key_cache[token] = _token_keys(token)
            keys.update(token_keys)
        return keys

    def candidates(self, name: str) -> list[int]:
        """Numbers of the listed names sharing the rarest keys with `name`, best first.

        Short posting lists are walked; a long one (a very common name part) only adds weight to
        names already found through rarer keys, so a query never costs a scan of the list.
        """
        query_keys: set[str] = set()
        near_keys: set[str] = set()
        for tokens in name_readings(name):
            query_keys.update(key for token in tokens for key in _token_keys(token))
            query_keys |= _pair_keys(tokens)
            for token in tokens:
                near_keys |= _skeleton_neighbours(token)
        postings = sorted(
            (self._postings[key] for key in query_keys if key in self._postings), key=len
        )
        total = max(len(self._names), 1)
        weights: dict[int, float] = {}
        for key in near_keys - query_keys:
            posting = self._postings.get(key)
            if posting is not None and len(posting) <= _NEAR_POSTING:
                # Half the weight of an exact key: a near spelling is weaker evidence.
                weight = 0.5 * math.log(1 + total / len(posting))
                for number in posting:
                    weights[number] = weights.get(number, 0.0) + weight
        for posting in postings:
            size = len(posting)
            weight = math.log(1 + total / size)
            if size <= _LONG_POSTING:
                for number in posting:
                    weights[number] = weights.get(number, 0.0) + weight
            elif not weights:
                # Only very common parts: any of their names is as good a start as another.
                for number in posting[: self.max_candidates * 4]:
                    weights[number] = weight
            elif len(weights) <= _LONG_POSTING:
                for number in weights:
                    at = bisect_left(posting, number)
                    if at < size and posting[at] == number:
                        weights[number] += weight
        if len(weights) <= self.max_candidates:
            return sorted(weights, key=weights.__getitem__, reverse=True)
        return heapq.nlargest(self.max_candidates, weights, key=weights.__getitem__)

    def match(self, subject: Subject, threshold: float = DEFAULT_THRESHOLD) -> list[WatchlistMatch]:
        """Entries whose person score against `subject` reaches `threshold`, best first."""
        query_name = subject.full_name
        if not query_name.strip() and (subject.given_names or subject.surname):
            query_name = f"{subject.given_names or ''} {subject.surname or ''}"
        best_names: dict[int, tuple[NameComparison, str]] = {}
        reachable: dict[int, bool] = {}
        for number in self.candidates(query_name):
            slots = self._slots_of(number)
            # The person score never exceeds the one a perfect name would get, and the
            # qualifiers (nationality, date of birth, sex, passport) are known before the names
            # are compared: a candidate that could not reach the threshold even then is not
            # compared at all. It would not have been reported either.
            for slot in slots:
                if slot not in reachable:
                    ceiling, _ = _person_score(subject, self._entries[slot], 1.0)
                    reachable[slot] = ceiling >= threshold
            if not any(reachable[slot] for slot in slots):
                continue
            listed = self._names[number]
            comparison = compare_names(query_name, listed, subject.surname, subject.nationality)
            if comparison.score <= 0.0:
                continue  # no part in common: only a passport number could make it a match
            for slot in slots:
                previous = best_names.get(slot)
                if previous is None or comparison.score > previous[0].score:
                    best_names[slot] = (comparison, listed)
        for slot in self._document_slots(subject):
            if slot not in best_names:
                listed = self._primary_name(slot)
                best_names[slot] = (
                    compare_names(query_name, listed, subject.surname, subject.nationality),
                    listed,
                )
        matches = []
        for slot, (comparison, listed) in best_names.items():
            entry = self._entries[slot]
            score, reasons = _person_score(subject, entry, comparison.score)
            if score >= threshold:
                matches.append(
                    WatchlistMatch(
                        entry_id=entry.entry_id,
                        key=entry.key,
                        score=round(score, 4),
                        name_score=comparison.score,
                        matched_name=listed,
                        explanation=", ".join([comparison.explanation, *reasons]),
                    )
                )
        matches.sort(key=lambda m: (-m.score, m.entry_id))
        return matches

    def _slots_of(self, number: int) -> list[int]:
        first = self._name_entry[number]
        more = self._more_entries.get(number)
        return [first, *more] if more else [first]

    def _primary_name(self, slot: int) -> str:
        number = self._entries[slot].primary
        return self._names[number] if number >= 0 else ""

    def _document_slots(self, subject: Subject) -> list[int]:
        slots: list[int] = []
        for document in subject.documents:
            slots.extend(self._documents.get(normalise_document_number(document.number), ()))
        return slots


def _documents_match(subject: Subject, entry: _Entry) -> bool:
    for mine in subject.documents:
        number = normalise_document_number(mine.number)
        for listed in entry.documents:
            if not number or normalise_document_number(listed.number) != number:
                continue
            if mine.country is None or listed.country is None or mine.country == listed.country:
                return True
    return False


def _year_span(date: BirthDate) -> tuple[int, int]:
    if date.precision is DatePrecision.CIRCA:
        return date.earliest.year - CIRCA_YEARS, date.latest.year + CIRCA_YEARS
    return date.earliest.year, date.latest.year


def _day_span(date: BirthDate) -> tuple[dt.date, dt.date]:
    if date.precision is DatePrecision.CIRCA:
        low, high = _year_span(date)
        return dt.date(max(low, 1), 1, 1), dt.date(min(high, 9999), 12, 31)
    return date.earliest, date.latest


def _birth_date_relation(mine: BirthDate, listed: BirthDate) -> tuple[float, str]:
    """Score adjustment and a phrase for one pair of dates of birth."""
    my_first, my_last = _day_span(mine)
    listed_first, listed_last = _day_span(listed)
    if my_first <= listed_last and listed_first <= my_last:
        exact = mine.precision is DatePrecision.DAY and listed.precision is DatePrecision.DAY
        if exact:
            return BIRTH_DATE_EQUAL_BONUS, "DOB equal"
        if listed.precision is DatePrecision.YEAR or mine.precision is DatePrecision.YEAR:
            return 0.0, "DOB year equal"
        return 0.0, "DOB within listed range"
    my_years = _year_span(mine)
    listed_years = _year_span(listed)
    if my_years[0] <= listed_years[1] and listed_years[0] <= my_years[1]:
        swapped = (
            mine.precision is DatePrecision.DAY
            and listed.precision is DatePrecision.DAY
            and mine.earliest.year == listed.earliest.year
            and mine.earliest.month == listed.earliest.day
            and mine.earliest.day == listed.earliest.month
        )
        if swapped:
            return -BIRTH_DAY_MISMATCH / 2, "DOB day and month swapped"
        return -BIRTH_DAY_MISMATCH, "DOB same year, different day"
    return -BIRTH_YEAR_MISMATCH, "DOB year differs"


def _person_score(subject: Subject, entry: _Entry, name_score: float) -> tuple[float, list[str]]:
    """Name score adjusted by identifiers and by the qualifiers both sides state."""
    score = name_score
    reasons: list[str] = []
    if subject.documents and entry.documents and _documents_match(subject, entry):
        score = max(score, IDENTIFIER_SCORE)
        reasons.append("passport number equal")
    if subject.birth_date is not None and entry.birth_dates:
        birth_date = subject.birth_date
        adjustment, phrase = max(
            (_birth_date_relation(birth_date, listed) for listed in entry.birth_dates),
            key=lambda relation: relation[0],
        )
        if adjustment > 0 and name_score < NAME_FLOOR:
            adjustment = 0.0
        score += adjustment
        reasons.append(phrase)
    if subject.nationality and entry.nationalities:
        if subject.nationality.upper() in entry.nationalities:
            reasons.append("nationality equal")
        else:
            score -= NATIONALITY_MISMATCH
            reasons.append("nationality differs")
    if subject.sex in ("F", "M") and entry.sex in ("F", "M") and subject.sex != entry.sex:
        score -= SEX_MISMATCH
        reasons.append("sex differs")
    return min(1.0, max(0.0, score)), reasons
