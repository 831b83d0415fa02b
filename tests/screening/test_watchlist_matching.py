"""Tests for matching a screened subject against an indexed watchlist."""

from __future__ import annotations

import datetime as dt

import pytest

from eta.screening.types import (
    BirthDate,
    DatePrecision,
    Subject,
    TravelDocument,
    WatchlistPerson,
)
from eta.screening.watchlist import WatchlistIndex


def circa(year: int) -> BirthDate:
    return BirthDate(dt.date(year, 1, 1), dt.date(year, 12, 31), DatePrecision.CIRCA)


LISTED = [
    WatchlistPerson(
        key="QDi.401",
        names=["Anna Maria ERIKSSON", "Anna ERIKSDOTTIR"],
        birth_dates=[BirthDate.year(1974)],
        nationalities=["UTO"],
        sex="F",
    ),
    WatchlistPerson(
        key="QDi.402",
        names=["Abd al-Rahman Khalid AL-HASSAN", "عبد الرحمن خالد الحسن", "Abu Khalid"],
        birth_dates=[circa(1968)],
        nationalities=["SYR"],
        sex="M",
        documents=[TravelDocument("N 0123456", "SYR")],
    ),
    WatchlistPerson(
        key="QDi.403",
        names=["Viktor Ivanovich PETROV", "Виктор Иванович Петров"],
        birth_dates=[BirthDate.exact(dt.date(1961, 5, 2))],
        nationalities=["RUS"],
        sex="M",
    ),
    WatchlistPerson(key="QDi.404", names=["Jean-Pierre DUBOIS"]),
]


@pytest.fixture(scope="module")
def index() -> WatchlistIndex:
    return WatchlistIndex(enumerate(LISTED, start=1))


def keys(matches: list) -> list[str]:
    return [m.key for m in matches]


def test_index_counts_entries_and_names(index: WatchlistIndex) -> None:
    assert len(index) == 4
    assert index.name_count == 8


def test_misspelt_name_matches_year_only_birth_date(index: WatchlistIndex) -> None:
    subject = Subject(
        full_name="ANNA MARIA ERIKSON",
        birth_date=BirthDate.exact(dt.date(1974, 8, 12)),
        nationality="UTO",
        sex="F",
        surname="ERIKSON",
        given_names="ANNA MARIA",
    )
    matches = index.match(subject)
    assert keys(matches) == ["QDi.401"]
    match = matches[0]
    assert match.entry_id == 1
    assert match.matched_name == "Anna Maria ERIKSSON"
    assert 0.77 <= match.score <= 1.0
    assert "surname ERIKSON ~ ERIKSSON" in match.explanation
    assert "given names match" in match.explanation
    assert "DOB year equal" in match.explanation
    assert "nationality equal" in match.explanation


def test_namesake_with_other_birth_date_and_nationality_is_not_matched(
    index: WatchlistIndex,
) -> None:
    namesake = Subject(
        full_name="Anna Maria Eriksson",
        birth_date=BirthDate.exact(dt.date(1990, 3, 1)),
        nationality="SWE",
        sex="F",
    )
    assert index.match(namesake) == []
    # Same name, nothing else known: a hit (qualifiers count only when both sides state them).
    assert keys(index.match(Subject(full_name="Anna Maria Eriksson"))) == ["QDi.401"]


def test_penalties_are_explained_when_threshold_is_low(index: WatchlistIndex) -> None:
    namesake = Subject(
        full_name="Anna Maria Eriksson",
        birth_date=BirthDate.exact(dt.date(1990, 3, 1)),
        nationality="SWE",
        sex="M",
    )
    (match,) = index.match(namesake, threshold=0.0)
    assert match.name_score == 1.0
    assert match.score == pytest.approx(1.0 - 0.15 - 0.2 - 0.2)
    assert "DOB year differs" in match.explanation
    assert "nationality differs" in match.explanation
    assert "sex differs" in match.explanation


def test_same_year_different_day_costs_more_than_a_different_year(index: WatchlistIndex) -> None:
    same_year = index.match(
        Subject("Viktor Ivanovich Petrov", BirthDate.exact(dt.date(1961, 9, 9))), threshold=0.0
    )
    other_year = index.match(
        Subject("Viktor Ivanovich Petrov", BirthDate.exact(dt.date(1975, 5, 2))), threshold=0.0
    )
    assert same_year[0].score == pytest.approx(0.75)
    assert "different day" in same_year[0].explanation
    assert other_year[0].score == pytest.approx(0.85)


def test_circa_birth_date_allows_two_years_either_side(index: WatchlistIndex) -> None:
    inside = Subject("Abdul Rahman Khalid Al-Hassan", BirthDate.exact(dt.date(1970, 6, 1)))
    outside = Subject("Abdul Rahman Khalid Al-Hassan", BirthDate.exact(dt.date(1972, 6, 1)))
    assert "DOB within listed range" in index.match(inside)[0].explanation
    assert "DOB year differs" in index.match(outside, threshold=0.0)[0].explanation


def test_arabic_alias_matches_latin_applicant() -> None:
    only_arabic = WatchlistPerson(key="QDi.500", names=["محمد علي الحسن"], nationalities=["SYR"])
    index = WatchlistIndex([(7, only_arabic)])
    matches = index.match(Subject(full_name="Mohamed Ali Al-Hassan", nationality="SYR"))
    assert keys(matches) == ["QDi.500"]
    assert matches[0].matched_name == "محمد علي الحسن"
    assert "MOHAMED ~ محمد" in matches[0].explanation


def test_cyrillic_alias_and_latin_query(index: WatchlistIndex) -> None:
    matches = index.match(Subject(full_name="Виктор Петров", nationality="RUS"))
    assert keys(matches)[0] == "QDi.403"


def test_matching_birth_date_does_not_rescue_a_poor_name(index: WatchlistIndex) -> None:
    subject = Subject(
        full_name="Anna Kowalska", birth_date=BirthDate.exact(dt.date(1974, 8, 12)), sex="F"
    )
    assert index.match(subject) == []


def test_equal_passport_number_is_strong_evidence(index: WatchlistIndex) -> None:
    subject = Subject(
        full_name="Rahman Hasan",
        documents=[TravelDocument("n0123456", "SYR")],
    )
    matches = index.match(subject)
    assert keys(matches) == ["QDi.402"]
    assert "passport number equal" in matches[0].explanation
    other_country = Subject(full_name="John Smith", documents=[TravelDocument("N0123456", "FRA")])
    assert index.match(other_country) == []


def test_unrelated_name_is_not_matched(index: WatchlistIndex) -> None:
    assert index.match(Subject(full_name="Zhang Wei")) == []


def test_candidates_come_from_the_index_not_a_scan() -> None:
    many = [
        (n, WatchlistPerson(key=f"G{n}", names=[f"Person{chr(97 + n % 26)}{n} Generated{n}"]))
        for n in range(2000)
    ]
    index = WatchlistIndex([*many, (9999, LISTED[3])])
    assert index.candidates("Jean Pierre Dubois") == [2000]
    assert len(index.candidates("Personq Generated")) <= index.max_candidates


def test_skipping_hopeless_candidates_changes_no_match() -> None:
    """Candidates whose qualifiers rule them out are not name-compared; the matches are as if
    every candidate had been compared and scored."""
    import random

    from eta.screening import watchlist
    from eta.screening.names import compare_names

    rng = random.Random(5)
    given = ["Anna", "Maria", "Viktor", "Ivan", "Omar", "Ali", "Jean", "Li", "Wei", "Fatima"]
    family = ["Eriksson", "Erikson", "Petrov", "Petrova", "Hassan", "Al-Hassan", "Dubois", "Wang"]
    countries = ["SWE", "NOR", "RUS", "SYR", "FRA", "CHN", None]

    def birth() -> BirthDate | None:
        kind = rng.random()
        year = rng.randint(1960, 1964)
        if kind < 0.3:
            return BirthDate.exact(dt.date(year, rng.randint(1, 12), rng.randint(1, 28)))
        if kind < 0.6:
            return BirthDate.year(year)
        return circa(year) if kind < 0.8 else None

    def name() -> str:
        return " ".join([*rng.sample(given, rng.randint(1, 2)), rng.choice(family)])

    people = []
    for number in range(200):
        born = birth()
        country = rng.choice(countries)
        people.append(
            WatchlistPerson(
                key=f"K{number}",
                names=[name() for _ in range(rng.randint(1, 2))],
                birth_dates=[born] if born else [],
                nationalities=[country] if country else [],
                sex=rng.choice(["F", "M", None]),
                documents=[TravelDocument(f"P{number}", country)] if number % 50 == 0 else [],
            )
        )
    index = WatchlistIndex(enumerate(people, start=1), max_candidates=1000)
    compared = 0
    for _ in range(80):
        surname = rng.choice(family)
        subject = Subject(
            full_name=f"{rng.choice(given)} {surname}",
            birth_date=birth(),
            nationality=rng.choice(countries),
            sex=rng.choice(["F", "M", None]),
            documents=[TravelDocument(f"P{rng.choice([0, 50, 7])}", None)],
            surname=surname,
        )
        names_of: dict[int, list[str]] = {}
        for number in index.candidates(subject.full_name):
            for slot in index._slots_of(number):
                names_of.setdefault(slot, []).append(index._names[number])
        for slot in index._document_slots(subject):
            names_of.setdefault(slot, [index._primary_name(slot)])
        # Each entry once, with its best-scoring name.
        best: dict[str, float] = {}
        for slot, listed_names in names_of.items():
            entry = index._entries[slot]
            for listed in listed_names:
                comparison = compare_names(subject.full_name, listed, surname)
                compared += 1
                score, _ = watchlist._person_score(subject, entry, comparison.score)
                best[entry.key] = max(round(score, 4), best.get(entry.key, 0.0))
        for threshold in (0.6, 0.77, 0.9):
            found = [(m.key, m.score) for m in index.match(subject, threshold)]
            assert sorted(found) == sorted((k, v) for k, v in best.items() if v >= threshold)
    assert compared > 500  # the comparison covered many candidates


def test_index_keys_per_part_equal_the_tokeniser_readings() -> None:
    """The build works a name's keys out from cached per-part keys; they must be exactly those
    of every reading the tokeniser gives (what a query looks up), in any script."""
    from eta.screening.names import name_readings
    from eta.screening.watchlist import _pair_keys, _token_keys

    names = [
        "Mohamed Omar Mohamed",
        "KU JA YOUNG",  # also read as KU JAYOUNG
        "Dr. Hans O. Müller",  # a title and an initial
        "Sheikh",  # only a title: kept
        "Abdul Rahman AL-HASSAN",
        "محمد بن عبد الله الحسن",
        "Владимир Путин",
        "金正恩",
        "Kim 正恩",
        "ドナルド・トランプ",
        "O'Brien  de la Cruz",
        "Ig0r Sech1n",
        "박지성",
    ]
    index = WatchlistIndex()
    for name in names:
        expected: set[str] = set()
        for tokens in name_readings(name):
            expected |= _pair_keys(tokens)
            expected.update(key for token in tokens for key in _token_keys(token))
        assert index._name_keys(name, " ".join(name.casefold().split())) == expected, name
