"""Tests of the ICAO 9303 passport MRZ parser, check digits and name transliteration."""

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from eta.screening.mrz import (
    MRZFormatError,
    check_digit,
    icao_transliterate,
    parse_td3,
    to_mrz_field,
    validate_td3,
)

LINE1 = "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<"
LINE2 = "L898902C36UTO7408122F1204159ZE184226B<<<<<10"
SPECIMEN = f"{LINE1}\n{LINE2}"
TODAY = dt.date(2026, 11, 28)


def test_check_digits_of_the_specimen_fields():
    assert check_digit("L898902C3") == "6"
    assert check_digit("740812") == "2"
    assert check_digit("120415") == "9"
    assert check_digit("ZE184226B<<<<<") == "1"
    assert check_digit("L898902C3674081221204159ZE184226B<<<<<1") == "0"


def test_check_digit_values_letters_and_filler():
    assert check_digit("<") == "0"
    assert check_digit("A") == "0"  # 10 * 7 = 70
    assert check_digit("B") == "7"  # 11 * 7 = 77
    assert check_digit("Z") == "5"  # 35 * 7 = 245
    assert check_digit("0123456789") == "7"
    with pytest.raises(ValueError, match="not an MRZ character"):
        check_digit("a")


def test_specimen_parses_and_verifies():
    mrz = parse_td3(SPECIMEN, today=TODAY)
    assert mrz.document_type == "P"
    assert mrz.issuing_state == "UTO"
    assert mrz.nationality == "UTO"
    assert mrz.surname == "ERIKSSON"
    assert mrz.given_names == "ANNA MARIA"
    assert mrz.document_number == "L898902C3"
    assert mrz.birth_date == dt.date(1974, 8, 12)
    assert mrz.sex == "F"
    assert mrz.expiry_date == dt.date(2012, 4, 15)
    assert mrz.optional_data == "ZE184226B"
    assert mrz.check_digits_ok
    assert validate_td3(SPECIMEN, today=TODAY) == []


@pytest.mark.parametrize(
    "text",
    [
        f"{LINE1}\r\n{LINE2}\r\n",
        f"  {LINE1} {LINE2}  ",
        f"{LINE1}{LINE2}",
        f"{LINE1.lower()}\n{LINE2.lower()}",
        f"\n{LINE1[:20]} {LINE1[20:]}\n\n{LINE2}\n",
    ],
)
def test_accepts_the_ways_people_paste_it(text):
    mrz = parse_td3(text, today=TODAY)
    assert mrz.line1 == LINE1
    assert mrz.line2 == LINE2
    assert mrz.check_digits_ok


def test_wrong_check_digits_are_named_in_words():
    bad_number = LINE2[:9] + "7" + LINE2[10:]
    errors = validate_td3(f"{LINE1}\n{bad_number}", today=TODAY)
    assert [e.field for e in errors] == ["document number check digit", "composite check digit"]
    assert "L898902C3 gives 6" in errors[0].message

    bad_dob = LINE2.replace("7408122", "7408212")
    fields = [e.field for e in validate_td3(f"{LINE1}\n{bad_dob}", today=TODAY)]
    assert fields == ["date of birth check digit", "composite check digit"]

    bad_expiry = LINE2.replace("1204159", "1204169")
    fields = [e.field for e in validate_td3(f"{LINE1}\n{bad_expiry}", today=TODAY)]
    assert fields == ["expiry date check digit", "composite check digit"]

    bad_personal = LINE2[:42] + "2" + LINE2[43:]
    fields = [e.field for e in validate_td3(f"{LINE1}\n{bad_personal}", today=TODAY)]
    assert fields == ["personal number check digit", "composite check digit"]

    bad_composite = LINE2[:43] + "5"
    fields = [e.field for e in validate_td3(f"{LINE1}\n{bad_composite}", today=TODAY)]
    assert fields == ["composite check digit"]


def test_unused_personal_number_may_have_filler_check_digit():
    line2 = "L898902C36UTO7408122F1204159<<<<<<<<<<<<<<<6"
    # Composite over the filler-check variant.
    composite = line2[0:10] + line2[13:20] + line2[21:43]
    line2 = line2[:43] + check_digit(composite)
    assert validate_td3(f"{LINE1}\n{line2}", today=TODAY) == []


def test_line_length_error():
    errors = validate_td3(f"{LINE1}\n{LINE2[:-1]}")
    assert [e.field for e in errors] == ["line length"]
    with pytest.raises(MRZFormatError) as raised:
        parse_td3(LINE1)
    assert raised.value.errors[0].field == "line length"


def test_invalid_characters_and_dates_are_errors_not_crashes():
    line2 = LINE2[:13] + "741312" + LINE2[19:]
    fields = [e.field for e in validate_td3(f"{LINE1}\n{line2}", today=TODAY)]
    assert "date of birth" in fields
    assert parse_td3(f"{LINE1}\n{line2}", today=TODAY).birth_date is None
    fields = [e.field for e in validate_td3(f"{LINE1}\n{LINE2[:20]}Q{LINE2[21:]}", today=TODAY)]
    assert "sex" in fields
    line1 = LINE1.replace("ANNA", "ANÑA")
    assert [e.field for e in validate_td3(f"{line1}\n{LINE2}")] == ["characters"]


@given(st.text(max_size=120))
def test_validate_never_crashes_on_any_text(text):
    errors = validate_td3(text)
    assert isinstance(errors, list)


@given(st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789<", min_size=88, max_size=88))
def test_validate_never_crashes_on_mrz_alphabet(text):
    assert isinstance(validate_td3(f"{text[:44]}\n{text[44:]}"), list)


def test_birth_century_never_in_the_future_and_expiry_mostly_this_century():
    line2 = "L898902C36UTO2611286F3011289ZE184226B<<<<<10"
    mrz = parse_td3(f"{LINE1}\n{line2}", today=TODAY)
    assert mrz.birth_date == dt.date(2026, 11, 28)
    line2 = "L898902C36UTO2611296F3011289ZE184226B<<<<<10"
    mrz = parse_td3(f"{LINE1}\n{line2}", today=TODAY)
    assert mrz.birth_date == dt.date(1926, 11, 29)
    assert mrz.expiry_date == dt.date(2030, 11, 28)
    line2 = "L898902C36UTO2611296F9901019ZE184226B<<<<<10"
    assert parse_td3(f"{LINE1}\n{line2}", today=TODAY).expiry_date == dt.date(1999, 1, 1)


def test_sex_filler_means_unspecified():
    line2 = LINE2[:20] + "<" + LINE2[21:]
    assert parse_td3(f"{LINE1}\n{line2}", today=TODAY).sex == "X"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Müller", "MUELLER"),
        ("Jørgensen", "JOERGENSEN"),
        ("Åsa Ærø", "AASA AEROE"),
        ("Straße", "STRASSE"),
        ("Þórður", "THORDUR"),
        ("Ñúñez", "NUNEZ"),
        ("Öztürk", "OEZTUERK"),
        ("Łukasz Żółć", "LUKASZ ZOLC"),
        ("İsmail Kılıç", "ISMAIL KILIC"),
        ("O'Brien-Smith", "OBRIEN SMITH"),
        ("  anna   maria ", "ANNA MARIA"),
        ("ВЛАДИМИР ПУТИН", "VLADIMIR PUTIN"),
        ("Жанна Щукина", "ZHANNA SHCHUKINA"),
        ("Юлия Ярова", "IULIIA IAROVA"),
        ("Хрущёв", "KHRUSHCHEV"),
        ("Цой", "TSOI"),
        ("Подъячев", "PODIEIACHEV"),
        ("محمد علي", "MXHMD ELY"),
        ("فاطمة", "FAXTTMXAH"),
        ("Γεώργιος Παπαδόπουλος", "GEORGIOS PAPADOPOULOS"),
        ("Ευάγγελος", "EVANGELOS"),
        ("Χριστόφορος", "CHRISTOFOROS"),
        ("משה כהן", "MSHH KHN"),
        ("יוסף", "YOSF"),
        ("金正恩", "JIN ZHENG EN"),
        ("김정은", "GIM JEONG EUN"),
        ("やまだ", "YAMADA"),
    ],
)
def test_icao_transliteration(name, expected):
    assert icao_transliterate(name) == expected


@given(st.text(max_size=60))
def test_transliteration_stays_in_the_mrz_alphabet(text):
    result = icao_transliterate(text)
    assert set(result) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZ ")
    assert "  " not in result
    assert result == result.strip()


def test_mrz_name_field():
    assert to_mrz_field("Eriksson", "Anna Maria") == LINE1[5:]
    assert to_mrz_field("Müller-Lüdenscheidt", "") == "MUELLER<LUEDENSCHEIDT".ljust(39, "<")


def test_mrz_name_field_truncates_given_names_first():
    field = to_mrz_field("Wolfeschlegelsteinhausen", "Hubert Blaine Charles David")
    assert len(field) == 39
    assert field.startswith("WOLFESCHLEGELSTEINHAUSEN<<HUBERT<")
    assert field.endswith("D")
    # Doc 9303 Part 4 4.2.3.3: a surname that fills the field is cut so that `<<` and the
    # first given name (here whole) still follow it.
    long_surname = to_mrz_field("A" * 50, "Bob")
    assert long_surname == "A" * 34 + "<<BOB"
