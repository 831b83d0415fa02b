"""Tests of the watchlist importers against the real UN and OFAC files, and of eta.countries."""

import datetime as dt
import io
import time
from pathlib import Path

import pytest

from eta.countries import all_countries, country_name, to_alpha3
from eta.screening.lists.importers import (
    ImportFormatError,
    natural_order,
    parse_ofac_csv,
    parse_ofac_date_of_birth,
    parse_simple_csv,
    parse_un_xml,
)
from eta.screening.types import BirthDate, DatePrecision, TravelDocument

DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "watchlists"
UN_XML = DATA / "un_consolidated_2026-02-27.xml"
OFAC_CSV = DATA / "ofac_sdn_2024-05-03.csv"

needs_data = pytest.mark.skipif(not UN_XML.exists(), reason="shared watchlist data absent")


@pytest.fixture(scope="module")
def un_people():
    return {p.key: p for p in parse_un_xml(UN_XML)}


@pytest.fixture(scope="module")
def ofac_people():
    return {p.key: p for p in parse_ofac_csv(OFAC_CSV)}


@needs_data
def test_un_counts(un_people):
    assert len(un_people) == 730
    arabic = [
        p
        for p in un_people.values()
        if any("\u0600" <= c <= "\u06ff" for c in "".join(p.names[1:2]))
    ]
    assert len(arabic) >= 327
    year_only = [
        b
        for p in un_people.values()
        for b in p.birth_dates
        if b.precision in (DatePrecision.YEAR, DatePrecision.CIRCA)
    ]
    assert len(year_only) == 378


@needs_data
def test_un_known_entry_with_aliases_and_arabic_name(un_people):
    person = un_people["QDi.001"]
    assert person.names[0] == "MOHAMMED SALAHALDIN ABD EL HALIM ZIDANE"
    assert person.names[1] == "محمد صلاح الدين عبدالحليم زيدان"
    assert "Sayf-Al Adl" in person.names
    assert "Seif al Adel" in person.names
    assert person.nationalities == ["EGY"]
    assert BirthDate.exact(dt.date(1963, 4, 11)) in person.birth_dates
    assert BirthDate.exact(dt.date(1960, 4, 11)) in person.birth_dates


@needs_data
def test_un_aliases_in_natural_order_and_year_only_dob(un_people):
    person = un_people["QDi.002"]
    assert "Amin Al-Haq" in person.names
    assert person.birth_dates == [BirthDate.year(1960)]
    assert person.nationalities == ["AFG"]


@needs_data
def test_un_range_gender_and_passports(un_people):
    assert un_people["CDi.030"].birth_dates == [
        BirthDate(dt.date(1973, 1, 1), dt.date(1974, 12, 31), DatePrecision.RANGE)
    ]
    assert un_people["CDi.001"].sex == "M"
    with_passports = [p for p in un_people.values() if p.documents]
    assert len(with_passports) > 200
    assert TravelDocument("OB 0243318", "COD") in [d for p in with_passports for d in p.documents]


@needs_data
def test_un_parses_quickly():
    started = time.perf_counter()
    count = sum(1 for _ in parse_un_xml(UN_XML))
    assert count == 730
    assert time.perf_counter() - started < 5


@needs_data
def test_ofac_counts(ofac_people):
    assert len(ofac_people) == 6854
    assert sum(1 for p in ofac_people.values() if p.documents) > 1500
    assert sum(1 for p in ofac_people.values() if len(p.names) > 1) > 1000


@needs_data
def test_ofac_names_passports_and_dob(ofac_people):
    person = ofac_people["2676"]
    assert person.names[0] == "Dr. Ayman AL ZAWAHIRI"
    assert person.birth_dates == [BirthDate.exact(dt.date(1951, 6, 19))]
    assert person.documents == [
        TravelDocument("1084010", "EGY"),
        TravelDocument("19820215", None),
    ]


@needs_data
def test_ofac_aliases_nationality(ofac_people):
    person = ofac_people["6905"]
    assert person.names[:3] == ["Zayn al-Abidin Muhammad HUSAYN", "ABU ZUBAIDA", "ABU ZUBAYDAH"]
    assert person.nationalities == ["PSE"]
    assert ofac_people["23506"].nationalities == ["PRK"]
    assert ofac_people["48876"].nationalities == ["RUS"]
    assert ofac_people["48876"].sex == "M"


@needs_data
def test_ofac_circa_range_and_month_dobs(ofac_people):
    assert ofac_people["7782"].birth_dates == [
        BirthDate(dt.date(1949, 1, 1), dt.date(1953, 12, 31), DatePrecision.CIRCA)
    ]
    assert (
        BirthDate(dt.date(1951, 1, 1), dt.date(1953, 12, 31), DatePrecision.RANGE)
        in ofac_people["12057"].birth_dates
    )
    assert ofac_people["6862"].birth_dates == [
        BirthDate(dt.date(1938, 9, 1), dt.date(1938, 9, 30), DatePrecision.MONTH)
    ]


def test_ofac_remarks_from_a_small_file():
    text = (
        '1,"DOE, John Q",individual,SDGT,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,'
        '"DOB 12 Aug 1974; alt. DOB circa 1962; nationality Syria; citizen Iran; '
        "Passport G 12345 (Syria) issued 01 Jan 2010 expires 01 Jan 2020; Gender Male; "
        "a.k.a. 'ABU X'; a.k.a. 'SMITH, Jon'.\"\n"
        '2,"ACME LTD",-0- ,SDGT,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- \n'
        "\x1a"
    )
    people = list(parse_ofac_csv(io.StringIO(text)))
    assert len(people) == 1
    person = people[0]
    assert person.key == "1"
    assert person.names == ["John Q DOE", "ABU X", "Jon SMITH"]
    assert person.birth_dates[0] == BirthDate.exact(dt.date(1974, 8, 12))
    assert person.birth_dates[1].precision is DatePrecision.CIRCA
    assert person.nationalities == ["SYR", "IRN"]
    assert person.documents == [TravelDocument("G 12345", "SYR")]
    assert person.sex == "M"


@pytest.mark.parametrize(
    ("text", "earliest", "latest", "precision"),
    [
        ("12 Aug 1974", dt.date(1974, 8, 12), dt.date(1974, 8, 12), DatePrecision.DAY),
        ("Aug 1974", dt.date(1974, 8, 1), dt.date(1974, 8, 31), DatePrecision.MONTH),
        ("1974", dt.date(1974, 1, 1), dt.date(1974, 12, 31), DatePrecision.YEAR),
        ("circa 1962", dt.date(1960, 1, 1), dt.date(1964, 12, 31), DatePrecision.CIRCA),
        ("1955 to 1960", dt.date(1955, 1, 1), dt.date(1960, 12, 31), DatePrecision.RANGE),
        ("1979-1982", dt.date(1979, 1, 1), dt.date(1982, 12, 31), DatePrecision.RANGE),
        (
            "01 Jan 1960 to 31 Dec 1962",
            dt.date(1960, 1, 1),
            dt.date(1962, 12, 31),
            DatePrecision.RANGE,
        ),
    ],
)
def test_ofac_date_forms(text, earliest, latest, precision):
    assert parse_ofac_date_of_birth(text) == BirthDate(earliest, latest, precision)


def test_ofac_bad_dates_give_none():
    assert parse_ofac_date_of_birth("31 Feb 1970") is None
    assert parse_ofac_date_of_birth("sometime") is None
    assert parse_ofac_date_of_birth("1960 to 1950") is None


def test_natural_order():
    assert natural_order("AL ZAWAHIRI, Ayman") == "Ayman AL ZAWAHIRI"
    assert natural_order("DELOS REYES, Feliciano, Jr.") == "Feliciano DELOS REYES Jr."
    assert natural_order("MADONNA") == "MADONNA"


SIMPLE = (
    "id,full_name,aliases,date_of_birth,nationality,sex,passport_number\n"
    "N1,Anna Maria Eriksson,Anna Eriksson; A. M. Eriksson,1974-08-12,SE,F,L898902C3\n"
    "N2,Ivan Petrov,,1960,RUS,M,\n"
    "N3,Nobody Known,,,,,\n"
)


def test_simple_csv():
    people = list(parse_simple_csv(io.StringIO(SIMPLE)))
    assert [p.key for p in people] == ["N1", "N2", "N3"]
    anna = people[0]
    assert anna.names == ["Anna Maria Eriksson", "Anna Eriksson", "A. M. Eriksson"]
    assert anna.birth_dates == [BirthDate.exact(dt.date(1974, 8, 12))]
    assert anna.nationalities == ["SWE"]
    assert anna.sex == "F"
    assert anna.documents == [TravelDocument("L898902C3", "SWE")]
    assert people[1].birth_dates == [BirthDate.year(1960)]
    assert people[2].birth_dates == []


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("N4,Bad Date,,12/08/1974,,,", "line 3: date of birth '12/08/1974'"),
        ("N4,Bad Country,,,Atlantis,,", "line 3: nationality 'Atlantis'"),
        ("N4,Bad Sex,,,,Q,", "line 3: sex 'Q'"),
        (",No Id,,,,,", "line 3: id is empty"),
        ("N4,,,,,,", "line 3: full_name is empty"),
        ("N4,Too,Many,,,,,extra", "line 3: more fields"),
    ],
)
def test_simple_csv_errors_name_the_line(row, message):
    text = SIMPLE.splitlines()[0] + "\nN0,Fine Person,,,,,\n" + row + "\n"
    with pytest.raises(ImportFormatError, match=message):
        list(parse_simple_csv(io.StringIO(text)))


def test_simple_csv_header_required():
    with pytest.raises(ImportFormatError, match="line 1: header lacks column"):
        list(parse_simple_csv(io.StringIO("name,dob\nX,1970\n")))


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("SE", "SWE"),
        ("swe", "SWE"),
        ("D", "DEU"),
        ("GBD", "GBR"),
        ("GBN", "GBR"),
        ("UTO", "UTO"),
        ("XXA", "XXA"),
        ("UNO", "UNO"),
        ("Syria", "SYR"),
        ("Russia", "RUS"),
        ("Russian Federation", "RUS"),
        ("Iran", "IRN"),
        ("Iran (Islamic Republic of)", "IRN"),
        ("North Korea", "PRK"),
        ("Korea, North", "PRK"),
        ("Democratic People's Republic of Korea", "PRK"),
        ("United Kingdom", "GBR"),
        ("United Kingdom of Great Britain and Northern Ireland", "GBR"),
        ("Congo, Democratic Republic of the", "COD"),
        ("Türkiye", "TUR"),
        ("Turkey", "TUR"),
        ("Burma", "MMR"),
        ("The Gambia", "GMB"),
        ("Côte d'Ivoire", "CIV"),
        ("Atlantis", None),
        ("", None),
    ],
)
def test_to_alpha3(given, expected):
    assert to_alpha3(given) == expected


def test_country_names_and_list():
    assert country_name("SWE") == "Sweden"
    assert country_name("UTO").startswith("Utopia")
    countries = all_countries()
    assert len(countries) == 249
    names = [name for _, name in countries]
    assert names.index("Afghanistan") < names.index("Sweden") < names.index("Zimbabwe")
