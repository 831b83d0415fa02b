"""Names in MRZ form in the token: any name that fits a passport fits the QR code (issue 12)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask

from eta import authorisations
from eta.issuance.qr import MAX_VERSION, encode
from eta.models import Application, Authorisation
from eta.screening.mrz import MRZ_NAME_WIDTH, icao_transliterate, is_mrz_form_of, to_mrz_field
from tests.authorisations import test_issuing_jobs

approved = test_issuing_jobs.approved
issue = test_issuing_jobs.issue  # the fixture: a real worker runs the issuance job

# The longest ETA_ISSUER the docs allow (40 characters).
LONGEST_ISSUER = "https://eta.border-agency.example.gov.ut"
assert len(LONGEST_ISSUER) == 40

LONG_NAMES = [
    # Spanish: two surnames, each with particles, and several given names (65+ characters).
    ("de la Santísima Trinidad Ruiz y Picasso", "Pablo Diego José Francisco de Paula Juan"),
    ("Fernández de Córdoba y Álvarez de las Asturias", "María del Pilar Teresa Cayetana"),
    # Arabic-origin double names, as written in Latin on the data page.
    ("Al-Hashimi Bin Abdulrahman Al-Qurashi", "Muhammad Abdullah Abdulaziz Fahad"),
    ("Abd al-Rahman ibn Muhammad ibn Saud Al Saud", "Abdulaziz bin Abdulrahman"),
    # One very long surname, no room for given names in full.
    ("Wolfeschlegelsteinhausenbergerdorffwelchevoralternwaren", "Hubert Blaine"),
]


@pytest.mark.parametrize(("surname", "given"), LONG_NAMES)
def test_long_names_are_issued_in_mrz_form_within_a_version_18_qr(
    session: Any,
    app: Flask,
    monkeypatch: pytest.MonkeyPatch,
    issue: Callable[[Application], Authorisation],
    surname: str,
    given: str,
) -> None:
    monkeypatch.setitem(app.config, "ETA_ISSUER", LONGEST_ISSUER)
    full_surname, full_given = icao_transliterate(surname), icao_transliterate(given)
    assert len(f"{full_surname} {full_given}") >= 50
    application = approved(
        session,
        surname=surname,
        given_names=given,
        surname_mrz=full_surname,
        given_names_mrz=full_given,
        # A passport number fills the MRZ's 9 positions.
        passport_number="AB1234567",
        passport_number_normalised="AB1234567",
    )
    authorisation = issue(application)

    assert encode(authorisation.token).version <= MAX_VERSION
    result = authorisations.verify_token(authorisation.token)
    assert result.ok and result.claims is not None
    names = result.claims["nam"]
    field = to_mrz_field(full_surname, full_given)
    # The token's names are the passport's name field, fillers as spaces.
    assert f"{names['fn']}<<{names['gn']}".replace(" ", "<") == field.rstrip("<")
    assert len(field) == MRZ_NAME_WIDTH and field[-1].isalpha()  # truncated: ends on a letter
    assert names["gn"]  # at least the first given name's initial survives (Part 4 4.2.3.3)
    assert is_mrz_form_of((names["fn"], names["gn"]), full_surname, full_given)


# Doc 9303 Part 4 4.2.3.1-4.2.3.4, the examples at the full width of 39.
@pytest.mark.parametrize(
    ("surname", "given", "field"),
    [
        ("Eriksson", "Anna Maria", "ERIKSSON<<ANNA<MARIA"),
        ("Vilarchao Fernandez", "Jose Ramon", "VILARCHAO<FERNANDEZ<<JOSE<RAMON"),
        ("Arkfreith", "", "ARKFREITH"),
        (
            "Nilavadhanananda",
            "Chayapa Dejthamrong Krasuang",
            "NILAVADHANANANDA<<CHAYAPA<DEJTHAMRONG<K",
        ),
        ("Nilavadhanananda", "Arnpol Petch Charonguang", "NILAVADHANANANDA<<ARNPOL<PETCH<CHARONGU"),
        (
            "Bennelong Wooloomooloo Warrandyte Warnambool",
            "Dingo Potoroo",
            "BENNELONG<WOOLOOM<WARRAND<WARNAM<<DINGO",
        ),
        (
            "Papandropoulous",
            "Jonathon Warren Trevor",
            "PAPANDROPOULOUS<<JONATHON<WARREN<TREVOR",
        ),
    ],
)
def test_mrz_field_follows_the_icao_examples(surname: str, given: str, field: str) -> None:
    assert to_mrz_field(surname, given) == field.ljust(MRZ_NAME_WIDTH, "<")


def test_a_truncated_name_is_accepted_as_the_full_one_and_another_is_not() -> None:
    full = ("BENNELONG WOOLOOMOOLOO WARRANDYTE WARNAMBOOL", "DINGO POTOROO")
    assert is_mrz_form_of(("BENNELONG WOOLOOM WARRAND WARNAM", "DINGO"), *full)
    assert is_mrz_form_of(("NILAVADHANANANDA", "CHAYAPA DEJTHAMRONG K"),
                          "NILAVADHANANANDA", "CHAYAPA DEJTHAMRONG KRASUANG")  # fmt: skip
    assert not is_mrz_form_of(("BENNELONG WOOLOOM", "DINGA"), *full)
    assert not is_mrz_form_of(("ERIKSON", "ANNA MARIA"), "ERIKSSON", "ANNA MARIA")
