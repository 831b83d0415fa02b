"""Watchlists in the database: atomic versioned imports, manual entries, the cached index."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from eta.models import LostStolenDocument, WatchlistEntry, WatchlistSource, WatchlistVersion
from eta.screening import lists
from eta.screening.lists import store
from eta.screening.lists.importers import ImportFormatError
from eta.screening.types import Subject

SIMPLE = """id,full_name,aliases,date_of_birth,nationality,sex,passport_number
N-1,Ivan Petrovich Sidorov,Иван Сидоров,1970,RUS,M,7512345
N-2,Maria Gonzalez,,1981-03-04,ESP,F,
"""


def _entries(session) -> int:
    return session.scalar(select(func.count(WatchlistEntry.id)))


def test_a_simple_csv_imports_as_an_active_version_and_reimport_does_not_duplicate(
    session, tmp_path
):
    path = tmp_path / "national.csv"
    path.write_text(SIMPLE)
    seen: list[int] = []
    first = lists.import_watchlist(
        session, source="NATIONAL", fmt="csv", path=path, actor="test", progress=seen.append
    )
    assert (first.number, first.state, first.entry_count) == (1, "active", 2)
    assert seen == [2]
    second = lists.import_watchlist(session, source="NATIONAL", fmt="csv", path=path, actor="test")
    session.refresh(first)
    assert (second.number, second.state, first.state) == (2, "active", "superseded")
    assert _entries(session) == 2
    source = session.scalar(select(WatchlistSource).where(WatchlistSource.name == "NATIONAL"))
    assert source.active_version_id == second.id

    loaded = lists.active_watchlists(session)
    assert loaded.versions == {"NATIONAL": 2}
    matches = loaded.index.match(Subject("Ivan Sidorov", nationality="RUS"))
    assert [loaded.sources[m.entry_id] for m in matches] == ["NATIONAL"]
    # Nothing changed: the same index object is reused.
    assert lists.active_watchlists(session) is loaded


def test_a_bad_file_changes_nothing(session, tmp_path):
    good = tmp_path / "good.csv"
    good.write_text(SIMPLE)
    lists.import_watchlist(session, source="NATIONAL", fmt="csv", path=good, actor="t")
    bad = tmp_path / "bad.csv"
    bad.write_text(SIMPLE + "N-3,Someone,,19xx,,,\n")
    with pytest.raises(ImportFormatError, match="line 4"):
        lists.import_watchlist(session, source="NATIONAL", fmt="csv", path=bad, actor="t")
    assert session.scalar(select(func.count(WatchlistVersion.id))) == 1
    assert _entries(session) == 2
    with pytest.raises(lists.WatchlistError, match="holds csv data"):
        lists.import_watchlist(session, source="NATIONAL", fmt="un-xml", path=good, actor="t")


def test_manual_entries_are_added_edited_and_removed_as_new_versions(session):
    entry = lists.add_manual_entry(
        session,
        source="MANUAL",
        full_name="Joanna Watchful",
        date_of_birth="1980",
        nationality="FR",
        sex="F",
        passport_number="12 AB 3456",
        actor="officer:1",
    )
    assert entry.nationalities == ["FRA"]
    assert entry.documents == [{"number": "12AB3456", "country": "FRA"}]
    assert entry.birth_dates[0]["precision"] == "year"
    loaded = lists.active_watchlists(session)
    assert loaded.versions == {"MANUAL": 1}
    assert loaded.index.match(Subject("Joanna Watchful"))

    first_id = entry.id
    edited = lists.edit_manual_entry(
        session,
        first_id,
        full_name="Joanna Watchfull",
        date_of_birth="1980-02-03",
        nationality="FRA",
        sex="F",
        passport_number=None,
        actor="officer:1",
    )
    assert edited.primary_name == "Joanna Watchfull"
    assert lists.active_watchlists(session).versions == {"MANUAL": 2}
    # The superseded copy, cited by no hit, is gone.
    with pytest.raises(lists.WatchlistError, match="No such watchlist entry"):
        lists.remove_entry(session, first_id, actor="officer:1")
    version = lists.remove_entry(session, edited.id, actor="officer:1")
    assert (version.number, version.entry_count) == (3, 0)
    assert not lists.active_watchlists(session).index.match(Subject("Joanna Watchfull"))
    with pytest.raises(lists.WatchlistError, match="Enter a full name"):
        lists.add_manual_entry(
            session,
            source="MANUAL",
            full_name="  ",
            date_of_birth=None,
            nationality=None,
            sex=None,
            passport_number=None,
            actor="officer:1",
        )


def test_both_real_lists_import_and_a_second_import_makes_a_version_not_duplicates(
    session, shared_data
):
    un = shared_data / "watchlists" / "un_consolidated_2026-02-27.xml"
    ofac = shared_data / "watchlists" / "ofac_sdn_2024-05-03.csv"
    first = lists.import_watchlist(session, source="UN", fmt="un-xml", path=un, actor="t")
    assert first.entry_count > 700
    ofac_version = lists.import_watchlist(
        session, source="OFAC", fmt="ofac-csv", path=ofac, actor="t"
    )
    assert ofac_version.entry_count > 5000
    total = _entries(session)
    again = lists.import_watchlist(session, source="UN", fmt="un-xml", path=un, actor="t")
    assert again.number == 2
    assert again.file_sha256 == first.file_sha256
    assert _entries(session) == total
    loaded = lists.active_watchlists(session)
    assert loaded.versions == {"UN": 2, "OFAC": 1}


def test_lost_stolen_import_adds_each_document_once(session, tmp_path):
    path = tmp_path / "lost.csv"
    path.write_text(
        "country,number,reported_on,reference\nFR,12ab-34567,2025-01-02,R1\nFRA,12AB34567,,\n"
    )
    assert lists.import_lost_stolen(session, path, source="INTERPOL", actor="t") == (1, 1)
    assert lists.import_lost_stolen(session, path, source="INTERPOL", actor="t") == (0, 2)
    document = session.scalar(select(LostStolenDocument))
    assert (document.issuing_country, document.number_normalised) == ("FRA", "12AB34567")


def test_demo_falls_back_to_the_built_in_sample_and_imports_it_once(session, tmp_path):
    lines = lists.load_demo_watchlists(session, shared=tmp_path)
    assert lines == ["Watchlists:", "  SAMPLE     version 1 (6 entries)"]
    assert lists.load_demo_watchlists(session, shared=tmp_path) == lines
    loaded = lists.active_watchlists(session)
    [match] = loaded.index.match(Subject("Виктор Дроздов", nationality="RUS"))
    assert match.key == "DEMO-1"


def test_a_built_index_is_kept_out_of_the_garbage_collectors_walks(session, tmp_path):
    import gc

    path = tmp_path / "list.csv"
    path.write_text("id,full_name,date_of_birth,nationality\nG-1,Gustav Freezer,1970,DEU\n")
    lists.import_watchlist(session, source="FROZEN", fmt="csv", path=path, actor="test")
    gc.unfreeze()
    # The cache knows versions by id, and each test starts the ids again: build afresh.
    store._cache.clear()
    try:
        loaded = lists.active_watchlists(session)
        assert loaded.versions["FROZEN"] == 1
        assert gc.get_freeze_count() > 0  # the index (and all else alive then) is frozen
    finally:
        gc.unfreeze()
