"""Tests for the person-name similarity used by watchlist screening."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from eta.screening.names import DEFAULT_THRESHOLD, compare_names, name_similarity

DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "names"

SAME_PERSON = [
    ("Mohammed bin Salman", "Muhammad bin Salman"),  # known variant
    ("Aleksandr Petrov", "Alexander Petrov"),
    ("Putin, Vladimir", "Vladimir Putin"),  # order swap
    ("V. Putin", "Vladimir Putin"),  # initial
    ("Sergi Lavrov", "Sergei Lavrov"),  # typo
    ("Angela Merkel", "Anglea Merkel"),  # transposition
    ("Владимир Путин", "Vladimir Putin"),  # Cyrillic
    ("محمد علي", "Mohamed Ali"),  # Arabic
    ("Ahmed Hassan", "أحمد حسن"),
    ("김정은", "Kim Jong Un"),  # Hangul
    ("Dr. Rami Makhlouf", "Rami Makhlouf"),  # title
    ("AlisherUsmanov", "Alisher Usmanov"),  # joined words
    ("Nikolai Plat Ono Vich Patrushev", "Nikolai Platonovich Patrushev"),  # split words
    ("Aleksandar Vucic", "Aleksandar Vučić"),  # diacritics
    ("Ig0r Sech1n", "Igor Sechin"),  # digits for letters
]

DIFFERENT_PEOPLE = [
    ("Angelo Cruz", "Angela Merkel"),
    ("Frank Richter", "Frederik Richter"),
    ("Pol Pot", "Paul Murphy"),
    ("AYMAN SABAWI IBRAHIM AL-DULAIMI", "AYMAN SABAWI IBRAHIM AL-TIKRITI"),  # family swapped
    ("Hans O Friedrich", "Hans Joachim Friedrich"),  # initial contradicts
    ("Maria Garcia", "Mario Gomez"),
    ("N.N.", "Nursultan Nazarbayev"),
]


@pytest.mark.parametrize(("a", "b"), SAME_PERSON)
def test_same_person_scores_at_or_above_threshold(a: str, b: str) -> None:
    assert name_similarity(a, b) >= DEFAULT_THRESHOLD


@pytest.mark.parametrize(("a", "b"), DIFFERENT_PEOPLE)
def test_different_people_score_below_threshold(a: str, b: str) -> None:
    assert name_similarity(a, b) < DEFAULT_THRESHOLD


@pytest.mark.parametrize(("a", "b"), SAME_PERSON + DIFFERENT_PEOPLE)
def test_symmetric_and_in_range(a: str, b: str) -> None:
    forward = name_similarity(a, b)
    assert forward == name_similarity(b, a)
    assert 0.0 <= forward <= 1.0


def test_identical_names_score_one_and_empty_names_zero() -> None:
    assert name_similarity("Anna Maria Eriksson", "ERIKSSON, Anna-Maria") == 1.0
    assert name_similarity("", "Anna Eriksson") == 0.0
    assert name_similarity("...", "---") == 0.0


def test_short_parts_never_fuzzy_match() -> None:
    # "on" and "un" differ by one letter, but two-letter parts must be equal or known variants.
    assert name_similarity("Kim Jong On", "Kim Jong Un") < name_similarity(
        "Kim Jong Un", "Kim Jong-un"
    )


def test_known_surname_weighs_more() -> None:
    # The same given-name typo costs less than a surname typo once the surname is known.
    surname_typo = compare_names("Anna ERIKSEN", "Anna Eriksson", query_surname="ERIKSEN")
    given_typo = compare_names("Ana ERIKSSON", "Anna Eriksson", query_surname="ERIKSSON")
    assert surname_typo.score < given_typo.score
    missing_surname = compare_names("Anna Maria PERSSON", "Anna Maria", query_surname="PERSSON")
    missing_given = compare_names("Anna Maria PERSSON", "Maria Persson", query_surname="PERSSON")
    assert missing_surname.score < missing_given.score


def test_explanation_names_the_surname_and_given_names() -> None:
    result = compare_names("Anna Maria ERIKSON", "Anna Maria ERIKSSON", query_surname="ERIKSON")
    assert result.explanation.startswith(f"name {result.score:.2f}: surname ERIKSON ~ ERIKSSON (")
    assert "given names match" in result.explanation


def test_explanation_says_what_is_missing() -> None:
    result = compare_names("Hans O Friedrich", "Hans Joachim Friedrich")
    assert "O" in result.unmatched_query
    assert "JOACHIM" in result.unmatched_candidate
    assert "not in listed name" in result.explanation


def test_compare_names_without_surname_agrees_with_name_similarity() -> None:
    for a, b in SAME_PERSON + DIFFERENT_PEOPLE:
        assert compare_names(a, b).score == pytest.approx(name_similarity(a, b), abs=1e-4)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=40), st.text(max_size=40))
def test_any_unicode_text_is_symmetric_and_in_range(a: str, b: str) -> None:
    forward = name_similarity(a, b)
    assert 0.0 <= forward <= 1.0
    assert forward == name_similarity(b, a)


@settings(max_examples=100, deadline=None)
@given(st.text(min_size=1, max_size=30))
def test_a_name_is_most_similar_to_itself(a: str) -> None:
    assert name_similarity(a, a) in (0.0, 1.0)


def test_quality_on_labelled_pairs_meets_the_goal() -> None:
    path = DATA / "person_pairs_dev.csv"
    if not path.exists():
        pytest.skip("shared name pairs not available")
    with path.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    tp = fp = fn = 0
    for row in rows:
        hit = name_similarity(row["name1"], row["name2"]) >= DEFAULT_THRESHOLD
        truth = row["is_match"].strip().lower() == "true"
        tp += hit and truth
        fp += hit and not truth
        fn += truth and not hit
    precision = tp / (tp + fp)
    recall = tp / (tp + fn)
    assert recall >= 0.85
    assert 2 * precision * recall / (precision + recall) >= 0.80
