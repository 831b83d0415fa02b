"""Tests of the lost and stolen document list: normalising, confusables, CSV reading, lookups."""

import datetime as dt
import io

import pytest

from eta.documents import normalise_document_number
from eta.screening.lists.importers import ImportFormatError
from eta.screening.lost_stolen import (
    LostStolenIndex,
    LostStolenRecord,
    confusable_key,
    parse_lost_stolen_csv,
)

CSV = (
    "country,number,reported_on,reference\n"
    "SE,l898 902-c3,2024-01-31,INTERPOL-1\n"
    "DEU,C01X00T47,,\n"
    "GBR,12.345.678<<,2023-05-05,HMPO-9\n"
)


def test_normalise_document_number():
    assert normalise_document_number(" l898 902-c3 ") == "L898902C3"
    assert normalise_document_number("12.345.678<<") == "12345678"
    assert normalise_document_number("ＡＢ１２３") == "AB123"


def test_confusable_key_folds_look_alike_letters():
    assert confusable_key("O0Q D") == "0000"
    assert confusable_key("IL1") == "111"
    assert confusable_key("S5B8Z2G6") == "55882266"
    assert confusable_key("C01X00T47") == confusable_key("CO1XOOT47")
    assert confusable_key("A1") != confusable_key("A7")


def test_parse_csv():
    records = list(parse_lost_stolen_csv(io.StringIO(CSV)))
    assert records == [
        LostStolenRecord("SWE", "L898902C3", dt.date(2024, 1, 31), "INTERPOL-1"),
        LostStolenRecord("DEU", "C01X00T47", None, ""),
        LostStolenRecord("GBR", "12345678", dt.date(2023, 5, 5), "HMPO-9"),
    ]


def test_parse_csv_minimal_columns():
    records = list(parse_lost_stolen_csv(io.StringIO("Country,Number\nD,X1\n")))
    assert records == [LostStolenRecord("DEU", "X1")]


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("ZZ,123,,", "line 3: country 'ZZ'"),
        (",123,,", "line 3: country ''"),
        ("SE,,,", "line 3: number is empty"),
        ("SE,12#4,,", "line 3: number '12#4'"),
        ("SE,123,31/01/2024,", "line 3: reported_on '31/01/2024'"),
        ("SE,123,,,extra", "line 3: more fields"),
    ],
)
def test_bad_rows_name_the_line(row, message):
    text = "country,number,reported_on,reference\nSE,999,,\n" + row + "\n"
    with pytest.raises(ImportFormatError, match=message):
        list(parse_lost_stolen_csv(io.StringIO(text)))


def test_missing_header_column():
    with pytest.raises(ImportFormatError, match="line 1: header lacks column"):
        list(parse_lost_stolen_csv(io.StringIO("country,passport\nSE,1\n")))


def test_reads_from_a_path(tmp_path):
    path = tmp_path / "lost.csv"
    path.write_text(CSV, encoding="utf-8")
    assert len(list(parse_lost_stolen_csv(path))) == 3
    assert len(list(parse_lost_stolen_csv(str(path)))) == 3


@pytest.fixture
def index():
    return LostStolenIndex(parse_lost_stolen_csv(io.StringIO(CSV)))


def test_exact_lookup(index):
    assert len(index) == 3
    hit = index.lookup("SWE", "L898902C3")
    assert hit is not None
    assert hit.exact
    assert hit.how == "exact"
    assert hit.record.reference == "INTERPOL-1"
    hit = index.lookup("se", "l898-902 c3")
    assert hit is not None
    assert hit.exact


def test_confusable_lookup(index):
    hit = index.lookup("DEU", "CO1XOOT47")
    assert hit is not None
    assert not hit.exact
    assert hit.how == "confusable"
    assert hit.record.number == "C01X00T47"


def test_other_country_or_number_misses(index):
    assert index.lookup("NOR", "L898902C3") is None
    assert index.lookup("SWE", "L898902C4") is None
    assert index.lookup("SWE", "") is None


def test_unknown_country_searches_all(index):
    hit = index.lookup(None, "12345678")
    assert hit is not None
    assert hit.exact
    assert hit.record.country == "GBR"
    hit = index.lookup("Atlantis", "I2345678")
    assert hit is not None
    assert not hit.exact
