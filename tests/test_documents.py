"""One normal form for document numbers, whatever was typed, printed or scanned."""

from __future__ import annotations

import pytest

from eta.documents import normalise_document_number


@pytest.mark.parametrize(
    "typed",
    [
        "L898902C3",
        "l898902c3",
        " L898 902 C3 ",
        "L898-902-C3",
        "L898.902/C3",
        "L898902C3<<",
        "Ｌ８９８９０２Ｃ３",
    ],
)
def test_the_ways_people_type_a_number_all_compare_equal(typed):
    assert normalise_document_number(typed) == "L898902C3"


def test_letters_and_digits_are_kept_as_they_are():
    assert normalise_document_number("O0I1") == "O0I1"  # look-alikes are the confusable key's job
