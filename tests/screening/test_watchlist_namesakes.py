"""Namesakes in the watchlist index: one name indexed once, every entry carrying it still found."""

from __future__ import annotations

import datetime as dt

from eta.screening.types import BirthDate, Subject, WatchlistPerson
from eta.screening.watchlist import WatchlistIndex


def test_a_name_shared_by_many_entries_is_indexed_once_and_each_entry_is_judged_alone():
    people = [
        WatchlistPerson(
            key=f"N-{year}",
            names=["Ali Hassan", "ALI  HASSAN"],
            birth_dates=[BirthDate.year(year)],
            nationalities=["IRQ"],
        )
        for year in range(1950, 2000)
    ]
    people.append(WatchlistPerson(key="OTHER", names=["Ali Hasan Omar"]))
    index = WatchlistIndex(enumerate(people))
    assert len(index) == 51
    assert index.name_count == 2  # case and spacing do not make another name

    subject = Subject("Ali Hassan", birth_date=BirthDate.exact(dt.date(1977, 3, 1)))
    matches = index.match(subject)
    keys = [m.key for m in matches]
    # Every namesake is scored, not only the first 40 the candidate cap would have allowed;
    # the one born in 1977 outranks those whose year differs.
    assert keys[0] == "N-1977"
    assert {f"N-{year}" for year in range(1950, 2000)} <= set(keys)
    assert next(m for m in matches if m.key == "N-1977").explanation.endswith("DOB year equal")
    wrong_year = next(m for m in matches if m.key == "N-1960")
    assert "DOB year differs" in wrong_year.explanation
    assert wrong_year.score < matches[0].score
