"""The name matcher's rules for typos, Korean and Chinese given names, nicknames and replaced parts.

Each rule has a pair it makes match and a pair it must leave apart.
"""

from __future__ import annotations

import pytest

from eta.screening.names import DEFAULT_THRESHOLD, compare_names, name_similarity
from eta.screening.names_cjk import is_syllabic_name
from eta.screening.names_nicknames import is_nickname_pair


def test_two_swapped_letters_cost_one_typo():
    # Anglea for Angela is one slip of the fingers, as costly as one wrong letter.
    assert name_similarity("Anglea", "Angela") == pytest.approx(name_similarity("Angxla", "Angela"))
    assert name_similarity("Vajiralongkron", "Vajiralongkorn") >= 0.9


def test_a_korean_given_name_written_in_two_parts_is_compared_as_one():
    # One given name spelt two ways (자영: Ja Young, Ja Hyong), not a part replaced.
    assert name_similarity("KU JA YOUNG", "KU JA HYONG") >= DEFAULT_THRESHOLD
    comparison = compare_names("KU JA YOUNG", "KU JA HYONG", nationality="PRK")
    assert "JA YOUNG ~ JA HYONG" in comparison.explanation
    assert name_similarity("Kim Jongun", "Kim Jong Un") == 1.0


def test_korean_given_names_that_differ_stay_apart():
    assert name_similarity("KIM SONG MIN", "KIM SONG CHOL") < DEFAULT_THRESHOLD
    assert name_similarity("PAEK JIN-HO", "PAEK CHANG-HO") < DEFAULT_THRESHOLD


def test_a_korean_name_with_a_syllable_dropped_or_reordered_still_matches():
    # Both shapes are scored: as written and with the given name joined.
    assert name_similarity("RI GON", "RI MAN GON") >= DEFAULT_THRESHOLD
    assert name_similarity("CHANG-HO PAEK", "Pak Chang-Ho") >= DEFAULT_THRESHOLD
    assert name_similarity("Song Chol Kim", "Kim Song Chol") == 1.0


def test_only_names_of_the_syllabic_shape_are_joined():
    assert is_syllabic_name(("ku", "ja", "young"))
    assert is_syllabic_name(("wang", "xiao", "ming"))
    assert not is_syllabic_name(("john", "ja", "young"))  # not a Korean or Chinese family name
    assert not is_syllabic_name(("kim", "jong"))
    assert not is_syllabic_name(("kim", "robert", "jong"))


def test_a_nickname_matches_its_name():
    assert is_nickname_pair("tim", "timothy") and is_nickname_pair("timothy", "tim")
    assert name_similarity("Tim Cook", "Timothy Cook") >= DEFAULT_THRESHOLD
    assert name_similarity("Pat Jones", "Patricia Jones") >= DEFAULT_THRESHOLD
    assert "TIM ~ TIMOTHY (nickname)" in compare_names("Tim Cook", "Timothy Cook").explanation


def test_nicknames_do_not_join_unrelated_names():
    # Two names that share a nickname (Ron: Aaron, Veronica) are not the same name.
    assert not is_nickname_pair("aaron", "veronica")
    assert name_similarity("Aaron Smith", "Veronica Smith") < DEFAULT_THRESHOLD
    # A name of the curated variant groups is not read through English short forms.
    assert name_similarity("Ali Hassan", "Alison Hassan") < DEFAULT_THRESHOLD
    # Two letters are too few: "al" is also the Arabic article.
    assert not is_nickname_pair("al", "albert")
    assert name_similarity("Tom Cook", "Timothy Cook") < DEFAULT_THRESHOLD


def test_one_replaced_part_in_a_long_name_is_another_person():
    # Brothers and cousins on the lists share every part but one.
    assert (
        name_similarity("OMAR KHALID HASSAN YUSUF AL-MASRI", "OMAR KHALID HASSAN IBRAHIM AL-MASRI")
        < DEFAULT_THRESHOLD
    )
    # A part only one side has is an omission, not a contradiction.
    assert (
        name_similarity("OMAR KHALID HASSAN AL-MASRI", "OMAR KHALID HASSAN YUSUF AL-MASRI")
        >= DEFAULT_THRESHOLD
    )
