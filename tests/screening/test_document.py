"""Tests of the passport checks: dates, MRZ check digits and MRZ-to-application agreement."""

import dataclasses
import datetime as dt

import pytest

from eta.screening.document import (
    MRZ_CHECK_DIGIT,
    MRZ_MISMATCH,
    MRZ_UNREADABLE,
    PASSPORT_EXPIRED,
    PASSPORT_EXPIRES_BEFORE_ARRIVAL,
    PASSPORT_ISSUED_IN_FUTURE,
    PASSPORT_VALIDITY_TOO_LONG,
    DocumentFacts,
    check_document,
)
from eta.screening.mrz import check_digit, to_mrz_field

SPECIMEN = (
    "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<\nL898902C36UTO7408122F1204159ZE184226B<<<<<10"
)
BEFORE_EXPIRY = dt.date(2010, 1, 1)


def specimen_facts(**changes):
    facts = DocumentFacts(
        given_names="Anna Maria",
        surname="Eriksson",
        sex="F",
        date_of_birth=dt.date(1974, 8, 12),
        nationality="UTO",
        passport_number="L898902C3",
        issuing_country="UTO",
        issue_date=dt.date(2002, 4, 16),
        expiry_date=dt.date(2012, 4, 15),
        intended_arrival=dt.date(2010, 6, 1),
        mrz=SPECIMEN,
    )
    return dataclasses.replace(facts, **changes)


def make_mrz(surname, given, number, country, dob, sex, expiry, personal=""):
    line1 = f"P<{country}{to_mrz_field(surname, given)}"
    number_field = number.ljust(9, "<")
    personal_field = personal.ljust(14, "<")
    line2 = (
        f"{number_field}{check_digit(number_field)}{country}"
        f"{dob}{check_digit(dob)}{sex}{expiry}{check_digit(expiry)}"
        f"{personal_field}{check_digit(personal_field)}"
    )
    composite = line2[0:10] + line2[13:20] + line2[21:43]
    return f"{line1}\n{line2}{check_digit(composite)}"


def codes(findings):
    return [f.code for f in findings]


def test_the_specimen_agrees_with_its_application():
    assert check_document(specimen_facts(), BEFORE_EXPIRY) == []


def test_expired_passport():
    findings = check_document(specimen_facts(mrz=None), dt.date(2026, 11, 28))
    assert codes(findings) == [PASSPORT_EXPIRED]
    assert "expired on 2012-04-15" in findings[0].message


def test_expires_before_arrival():
    facts = specimen_facts(mrz=None, intended_arrival=dt.date(2012, 5, 1))
    findings = check_document(facts, BEFORE_EXPIRY)
    assert codes(findings) == [PASSPORT_EXPIRES_BEFORE_ARRIVAL]
    assert "2012-04-15" in findings[0].message
    assert "2012-05-01" in findings[0].message


def test_issue_date_in_future_and_validity_too_long():
    facts = specimen_facts(mrz=None, issue_date=dt.date(2011, 1, 1))
    assert codes(check_document(facts, BEFORE_EXPIRY)) == [PASSPORT_ISSUED_IN_FUTURE]
    facts = specimen_facts(mrz=None, issue_date=dt.date(2001, 1, 1))
    assert codes(check_document(facts, BEFORE_EXPIRY)) == [PASSPORT_VALIDITY_TOO_LONG]
    facts = specimen_facts(mrz=None, issue_date=dt.date(2002, 4, 15))
    assert check_document(facts, BEFORE_EXPIRY) == []


def test_bad_check_digit_is_reported_with_the_field():
    mrz = SPECIMEN.replace("7408122", "7408123")
    findings = check_document(specimen_facts(mrz=mrz), BEFORE_EXPIRY)
    assert codes(findings) == [MRZ_CHECK_DIGIT, MRZ_CHECK_DIGIT]
    assert "date of birth check digit" in findings[0].message
    assert "composite check digit" in findings[1].message


def test_unreadable_mrz():
    findings = check_document(specimen_facts(mrz="P<UTOERIKSSON"), BEFORE_EXPIRY)
    assert codes(findings) == [MRZ_UNREADABLE]
    assert findings[0].field == "mrz"


def test_date_of_birth_mismatch_message():
    facts = specimen_facts(date_of_birth=dt.date(1974, 8, 21))
    findings = check_document(facts, BEFORE_EXPIRY)
    assert codes(findings) == [MRZ_MISMATCH]
    assert findings[0].field == "date_of_birth"
    assert findings[0].message == "MRZ date of birth 740812 differs from the application 1974-08-21"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"passport_number": "L898902C4"}, "passport_number"),
        ({"issuing_country": "SWE"}, "issuing_country"),
        ({"nationality": "NOR"}, "nationality"),
        ({"sex": "M"}, "sex"),
        ({"expiry_date": dt.date(2012, 4, 16)}, "expiry_date"),
        ({"surname": "Eriksen"}, "surname"),
        ({"given_names": "Anna Marie"}, "given_names"),
    ],
)
def test_each_mismatch_names_its_field(change, field):
    findings = check_document(specimen_facts(**change), BEFORE_EXPIRY)
    assert [(f.code, f.field) for f in findings] == [(MRZ_MISMATCH, field)]


def test_typed_values_are_compared_leniently():
    facts = specimen_facts(
        passport_number="l898 902-c3",
        surname="ERIKSSON",
        given_names="anna-maria",
        issuing_country="UTO",
    )
    assert check_document(facts, BEFORE_EXPIRY) == []


def test_transliterated_names_and_alpha2_countries_agree():
    mrz = make_mrz("Müller", "Jürgen", "C01X00T47", "D<<", "640812", "M", "300101")
    facts = DocumentFacts(
        given_names="Jürgen",
        surname="Müller",
        sex="M",
        date_of_birth=dt.date(1964, 8, 12),
        nationality="DE",
        passport_number="C01X00T47",
        issuing_country="DEU",
        issue_date=dt.date(2020, 1, 2),
        expiry_date=dt.date(2030, 1, 1),
        intended_arrival=dt.date(2027, 1, 10),
        mrz=mrz,
    )
    assert check_document(facts, dt.date(2026, 11, 28)) == []
    # Doc 9303 also allows Ü written as U.
    plain = mrz.replace("MUELLER<<JUERGEN<<<", "MULLER<<JURGEN<<<<<")
    assert check_document(dataclasses.replace(facts, mrz=plain), dt.date(2026, 11, 28)) == []


def test_truncated_given_names_are_not_a_mismatch():
    surname = "Wolfeschlegelsteinhausen"
    given = "Hubert Blaine Charles David"
    mrz = make_mrz(surname, given, "X1234567", "UTO", "800101", "M", "300101")
    facts = specimen_facts(
        surname=surname,
        given_names=given,
        sex="M",
        passport_number="X1234567",
        date_of_birth=dt.date(1980, 1, 1),
        issue_date=dt.date(2020, 1, 2),
        expiry_date=dt.date(2030, 1, 1),
        intended_arrival=None,
        mrz=mrz,
    )
    assert check_document(facts, dt.date(2026, 11, 28)) == []


def test_cyrillic_name_agrees_with_its_transliteration():
    mrz = make_mrz("Хрущёв", "Никита", "123456789", "RUS", "940415", "M", "310101")
    facts = specimen_facts(
        surname="Хрущёв",
        given_names="Никита",
        sex="M",
        nationality="RUS",
        issuing_country="RU",
        passport_number="123456789",
        date_of_birth=dt.date(1994, 4, 15),
        issue_date=dt.date(2021, 1, 2),
        expiry_date=dt.date(2031, 1, 1),
        intended_arrival=None,
        mrz=mrz,
    )
    assert "KHRUSHCHEV<<NIKITA" in mrz
    assert check_document(facts, dt.date(2026, 11, 28)) == []


TRUNCATED_SURNAME = "Wolfeschlegelsteinhausenbergerdorff Vonaltenberg"


def _long_surname_facts(mrz: str, surname: str = TRUNCATED_SURNAME):
    return specimen_facts(
        surname=surname,
        given_names="Hubert Blaine",
        sex="M",
        passport_number="X1234567",
        date_of_birth=dt.date(1980, 1, 1),
        issue_date=dt.date(2020, 1, 2),
        expiry_date=dt.date(2030, 1, 1),
        intended_arrival=None,
        mrz=mrz,
    )


def test_a_surname_truncated_as_icao_9303_truncates_it_is_not_a_mismatch():
    # 48 letters of surname: Doc 9303 Part 4 4.2.3.3(b) shortens it to leave "<<" and an initial.
    mrz = make_mrz(TRUNCATED_SURNAME, "Hubert Blaine", "X1234567", "UTO", "800101", "M", "300101")
    line1 = mrz.splitlines()[0]
    assert "<<" in line1[5:] and not line1.endswith("<")  # a full field: truncated
    assert "VONALTENBERG" not in line1
    assert check_document(_long_surname_facts(mrz), dt.date(2026, 11, 28)) == []


def test_only_the_truncation_icao_9303_produces_is_accepted_for_a_surname():
    mrz = make_mrz(TRUNCATED_SURNAME, "Hubert Blaine", "X1234567", "UTO", "800101", "M", "300101")
    line1, line2 = mrz.splitlines()
    assert line1[5:] == "WOLFESCHLEGELSTEINHAUSENBERGERDORF<V<<H"
    # Cut otherwise than Doc 9303 does (each part still the start of the surname's): a mismatch.
    forged = f"{line1[:5]}WOLFESCHLEGELSTEINHAUSENBERGERDOR<VO<<H\n{line2}"
    findings = check_document(_long_surname_facts(forged), dt.date(2026, 11, 28))
    assert [(f.code, f.field) for f in findings] == [(MRZ_MISMATCH, "surname")]
    # A surname that fits the field is never cut: its first part alone is a mismatch.
    short = make_mrz("Garcia", "Ana", "X1234567", "UTO", "800101", "M", "300101")
    cut = short.replace("GARCIA<<ANA", "GARC<<ANA<<")
    findings = check_document(
        dataclasses.replace(_long_surname_facts(cut, "Garcia"), given_names="Ana"),
        dt.date(2026, 11, 28),
    )
    assert [(f.code, f.field) for f in findings] == [(MRZ_MISMATCH, "surname")]
