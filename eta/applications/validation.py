"""The one validation layer for an application: the JSON API and the web form both call it.

`validate_application(payload)` takes a plain dict shaped like SPEC §4's payload and returns
either the cleaned column values of an `Application` or a map of field paths
(`passport.number`) to messages in the traveller's words (and language).
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from email_validator import EmailNotValidError, validate_email
from flask import has_request_context
from flask_babel import format_date
from flask_babel import lazy_gettext as _

from eta.countries import document_country, to_alpha3
from eta.documents import normalise_document_number
from eta.screening.mrz import (
    icao_transliterate,
    is_latin_script,
    is_mrz_form_of,
    parse_td3,
    validate_td3,
)
from eta.screening.names import name_similarity
from eta.timeutil import today as utc_today


def _in_words(day: dt.date) -> str:
    """A date as the traveller reads it (12 August 1974, in their language), ISO elsewhere."""
    return str(format_date(day, "long")) if has_request_context() else day.isoformat()


SEXES = ("F", "M", "X")
PURPOSES = ("tourism", "business", "family", "transit", "study", "medical", "other")
BACKGROUND_QUESTIONS = (
    "criminal_conviction",
    "previous_refusal",
    "removed_or_deported",
    "conflict_zone_travel",
)
# Each question left unanswered says which one it is (not four identical "Select yes or no").
UNANSWERED = {
    "criminal_conviction": _(
        "Select yes if you have been convicted of a criminal offence in any country, "
        "or no if you have not"
    ),
    "previous_refusal": _(
        "Select yes if you have been refused a visa or entry at the border of this country, "
        "or no if you have not"
    ),
    "removed_or_deported": _(
        "Select yes if you have been removed or deported from any country, or no if you have not"
    ),
    "conflict_zone_travel": _(
        "Select yes if you have travelled to a war or conflict zone in the last 10 years, "
        "or no if you have not"
    ),
}
NAME_MAX = 100
TEXT_MAX = 100
ADDRESS_MAX = 200
DETAILS_MAX = 1000
MAX_AGE_YEARS = 130
PASSPORT_MAX_VALIDITY_YEARS = 10
ARRIVAL_WINDOW_DAYS = 365

# How alike a native-script name and its Latin spelling must be (eta.screening.names's score):
# low enough for every spelling a passport office uses (محمد → Mohammed, Mohamed, Muhammad all
# score above 0.75), high enough that someone else's name (0.0 for John Smith) is refused.
LATIN_NAME_MIN_SIMILARITY = 0.6

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_PASSPORT_NUMBER = re.compile(r"[A-Z0-9]{5,20}")
_E164 = re.compile(r"\+[1-9][0-9]{6,14}")
_NAME_PUNCTUATION = frozenset(" -'’ʼ‘")
# Zero-width joiners are part of how some scripts (Persian, Indic) spell names; bidi overrides
# and every other invisible format character can disguise text, so they are refused.
_ALLOWED_FORMAT = frozenset("\u200c\u200d")


@dataclass
class Validated:
    """The outcome: `data` (Application column values) when `errors` is empty."""

    data: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, list[str]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True when the payload is a valid application."""
        return not self.errors


EMAIL_FORMAT = _("Enter an email address in the correct format, like name@example.com")


def normalised_email(text: str) -> str | None:
    """The email rule (the application's and the resume link's): the address, or None."""
    try:
        return str(validate_email(text, check_deliverability=False).normalized)
    except EmailNotValidError:
        return None


def _add_years(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def _has_hidden_characters(text: str, multiline: bool = False) -> bool:
    return any(
        (unicodedata.category(ch) in ("Cc", "Cs", "Co", "Cn") and not (multiline and ch in "\r\n"))
        or (unicodedata.category(ch) == "Cf" and ch not in _ALLOWED_FORMAT)
        for ch in text
    )


class _Checker:
    """Collects cleaned values and errors while walking the payload."""

    def __init__(self, payload: Mapping[str, Any]) -> None:
        self.payload = payload
        self.errors: dict[str, list[str]] = {}

    def error(self, path: str, message: str) -> None:
        self.errors.setdefault(path, []).append(str(message))

    def section(self, name: str) -> Mapping[str, Any]:
        value = self.payload.get(name)
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            self.error(name, _("%(field)s must be an object.", field=name))
            return {}
        return value

    def text(
        self,
        source: Mapping[str, Any],
        path: str,
        missing: str | None,
        label: str,
        max_length: int = TEXT_MAX,
        multiline: bool = False,
    ) -> str | None:
        """A trimmed string; None (with an error unless optional) when absent or invalid."""
        value = source.get(path.rpartition(".")[2])
        if value is None or (isinstance(value, str) and not value.strip()):
            if missing is not None:
                self.error(path, missing)
            return None
        if not isinstance(value, str):
            self.error(path, _("%(label)s must be text.", label=label))
            return None
        value = value.strip() if multiline else " ".join(value.split())
        if len(value) > max_length:
            self.error(
                path,
                _(
                    "%(label)s must be %(count)d characters or fewer.",
                    label=label,
                    count=max_length,
                ),
            )
            return None
        if _has_hidden_characters(value, multiline):
            self.error(
                path,
                _("%(label)s must not contain control or invisible characters.", label=label),
            )
            return None
        return value

    def name(
        self, source: Mapping[str, Any], path: str, missing: str | None, label: str
    ) -> str | None:
        value = self.text(source, path, missing, label, NAME_MAX)
        if value is None:
            return None
        allowed = all(
            unicodedata.category(ch)[0] in "LM" or ch in _NAME_PUNCTUATION or ch in _ALLOWED_FORMAT
            for ch in value
        )
        if not allowed or not any(unicodedata.category(ch)[0] == "L" for ch in value):
            self.error(
                path,
                _(
                    "%(label)s must only include letters, spaces, hyphens and apostrophes.",
                    label=label,
                ),
            )
            return None
        return value

    def date(
        self, source: Mapping[str, Any], path: str, missing: str, label: str
    ) -> dt.date | None:
        value = self.text(source, path, missing, label, 10)
        if value is None:
            return None
        if _ISO_DATE.fullmatch(value):
            try:
                return dt.date.fromisoformat(value)
            except ValueError:
                pass
        self.error(path, _("%(label)s must be a real date.", label=label))
        return None

    def country(self, source: Mapping[str, Any], path: str, missing: str) -> str | None:
        value = self.text(source, path, missing, _("Country"), TEXT_MAX)
        if value is None:
            return None
        code = document_country(value)
        if code is None:
            self.error(path, _("Select a country from the list."))
        return code

    def choice(
        self, source: Mapping[str, Any], path: str, choices: Collection[str], missing: str
    ) -> str | None:
        value = source.get(path.rpartition(".")[2])
        if value is None or value == "":
            self.error(path, missing)
            return None
        if not isinstance(value, str) or value not in choices:
            self.error(path, missing)
            return None
        return value

    def boolean(self, source: Mapping[str, Any], path: str, missing: str) -> bool | None:
        value = source.get(path.rpartition(".")[2])
        if not isinstance(value, bool):
            self.error(path, missing)
            return None
        return value


def validate_application(
    payload: Mapping[str, Any],
    *,
    eligible_nationalities: Collection[str],
    exempt_nationalities: Collection[str] = (),
    languages: Collection[str] = ("en", "fr"),
    today: dt.date | None = None,
) -> Validated:
    """Check an application payload (SPEC §4) against every rule; see the module docstring."""
    today = today or utc_today()
    c = _Checker(payload)
    data: dict[str, Any] = {}

    # Identity
    given = c.name(payload, "given_names", _("Enter your given names"), _("Given names"))
    surname = c.name(payload, "surname", _("Enter your surname"), _("Surname"))
    data.update(_latin_names(c, payload, given, surname))
    data["given_names"], data["surname"] = given, surname
    data["sex"] = c.choice(payload, "sex", SEXES, _("Select your sex as shown in your passport"))
    born = c.date(payload, "date_of_birth", _("Enter your date of birth"), _("Date of birth"))
    if born is not None:
        if born >= today:
            c.error("date_of_birth", _("Date of birth must be in the past"))
            born = None
        elif born < _add_years(today, -MAX_AGE_YEARS):
            c.error(
                "date_of_birth",
                _(
                    "Date of birth must be after %(date)s",
                    date=_in_words(_add_years(today, -MAX_AGE_YEARS)),
                ),
            )
            born = None
    data["date_of_birth"] = born
    data["place_of_birth"] = c.text(
        payload, "place_of_birth", _("Enter your place of birth"), _("Place of birth")
    )
    nationality = c.country(payload, "nationality", _("Select your nationality"))
    if nationality is not None and nationality in exempt_nationalities:
        c.error("nationality", _("Citizens of this country do not need an ETA to travel."))
    elif nationality is not None and nationality not in eligible_nationalities:
        c.error(
            "nationality",
            _("You cannot apply for an ETA with this nationality: you need a visa instead."),
        )
    data["nationality"] = nationality

    # Passport
    passport = c.section("passport")
    number_typed = c.text(
        passport, "passport.number", _("Enter your passport number"), _("Passport number"), 40
    )
    number = None
    if number_typed is not None:
        number = normalise_document_number(number_typed).upper()
        if not _PASSPORT_NUMBER.fullmatch(number):
            c.error(
                "passport.number",
                _("Passport number must be 5 to 20 letters and numbers"),
            )
            number = None
    data["passport_number"] = number
    data["passport_number_normalised"] = number
    data["passport_issuing_country"] = c.country(
        passport, "passport.issuing_country", _("Select the country that issued your passport")
    )
    issued = c.date(
        passport, "passport.issue_date", _("Enter your passport's issue date"), _("Issue date")
    )
    if issued is not None and issued > today:
        c.error("passport.issue_date", _("Issue date must be today or in the past"))
        issued = None
    expires = c.date(
        passport, "passport.expiry_date", _("Enter your passport's expiry date"), _("Expiry date")
    )
    if expires is not None and expires < today:
        c.error("passport.expiry_date", _("Your passport has expired: you need a valid passport"))
        expires = None
    if issued is not None and expires is not None:
        if expires <= issued:
            c.error("passport.expiry_date", _("Expiry date must be after the issue date"))
            expires = None
        elif expires > _add_years(issued, PASSPORT_MAX_VALIDITY_YEARS):
            c.error(
                "passport.expiry_date",
                _("Expiry date must be within 10 years of the issue date"),
            )
            expires = None
    data["passport_issue_date"], data["passport_expiry_date"] = issued, expires
    mrz = c.text(passport, "passport.mrz", None, _("Machine-readable zone"), 200, multiline=True)
    data["passport_mrz"] = mrz

    # Contact
    email = c.text(payload, "email", _("Enter your email address"), _("Email address"), 254)
    if email is not None:
        email = normalised_email(email)
        if email is None:
            c.error("email", EMAIL_FORMAT)
    data["email"] = email
    phone = c.text(payload, "phone", None, _("Phone number"), 30)
    if phone is not None:
        phone = re.sub(r"[\s\-().]", "", phone)
        if not _E164.fullmatch(phone):
            c.error(
                "phone",
                _("Enter a phone number in international format, like +44 7700 900123"),
            )
            phone = None
    data["phone"] = phone

    # Home address
    address = c.section("home_address")
    data["address_line1"] = c.text(
        address,
        "home_address.line1",
        _("Enter the first line of your address"),
        _("Address line 1"),
        ADDRESS_MAX,
    )
    data["address_line2"] = c.text(
        address, "home_address.line2", None, _("Address line 2"), ADDRESS_MAX
    )
    data["address_city"] = c.text(
        address, "home_address.city", _("Enter your town or city"), _("Town or city")
    )
    data["address_postcode"] = c.text(address, "home_address.postcode", None, _("Postcode"), 20)
    data["address_country"] = c.country(
        address, "home_address.country", _("Select the country you live in")
    )
    data["occupation"] = c.text(
        payload, "occupation", _("Enter your occupation"), _("Occupation"), ADDRESS_MAX
    )

    # Travel
    travel = c.section("travel")
    data["travel_purpose"] = c.choice(
        travel, "travel.purpose", PURPOSES, _("Select the main purpose of your journey")
    )
    arrival = c.date(
        travel,
        "travel.intended_arrival",
        _("Enter the date you intend to arrive"),
        _("Arrival date"),
    )
    if arrival is not None:
        if arrival < today:
            c.error("travel.intended_arrival", _("Arrival date must be today or in the future"))
            arrival = None
        elif arrival > today + dt.timedelta(days=ARRIVAL_WINDOW_DAYS):
            c.error("travel.intended_arrival", _("Arrival date must be within the next 12 months"))
            arrival = None
        elif expires is not None and expires < arrival:
            c.error(
                "travel.intended_arrival", _("Your passport must be valid on the day you arrive")
            )
            arrival = None
    data["intended_arrival"] = arrival

    # Background questions
    answers_in = c.section("answers")
    answers: dict[str, Any] = {}
    for key in BACKGROUND_QUESTIONS:
        answer = c.boolean(answers_in, f"answers.{key}", UNANSWERED[key])
        answers[key] = answer
        details = None
        if answer:
            details = c.text(
                answers_in,
                f"answers.{key}_details",
                _("Give details of your answer"),
                _("Details"),
                DETAILS_MAX,
                multiline=True,
            )
        answers[f"{key}_details"] = details
    data["answers"] = answers

    language = payload.get("language", "en")
    if not isinstance(language, str) or language.lower() not in languages:
        c.error("language", _("Select a language from the list."))
        language = "en"
    data["language"] = language.lower()
    if payload.get("declaration") is not True:
        c.error("declaration", _("Confirm that the information you have given is correct"))

    if mrz is not None:
        _check_mrz(c, mrz, data, today)
    return Validated(data=data if not c.errors else {}, errors=c.errors)


def _latin_names(
    c: _Checker, payload: Mapping[str, Any], given: str | None, surname: str | None
) -> dict[str, Any]:
    """The Latin name and the MRZ form made from it (SPEC §6 Names).

    A name typed in another script (kept as typed, for screening) needs the Latin spelling the
    passport's data page prints; the MRZ form is that spelling's Doc 9303 form, never a
    transliteration of the native name, which would not be what the passport's MRZ says.
    """
    latin_given = c.name(payload, "latin_given_names", None, _("Given names in Latin letters"))
    latin_surname = c.name(payload, "latin_surname", None, _("Surname in Latin letters"))
    for path, value in (("latin_given_names", latin_given), ("latin_surname", latin_surname)):
        if value is not None and not is_latin_script(value):
            c.error(
                path,
                _(
                    "Enter the name in Latin letters (A to Z, accents allowed), as it is "
                    "printed on your passport's data page."
                ),
            )
    if latin_given is not None and not is_latin_script(latin_given):
        latin_given = None
    if latin_surname is not None and not is_latin_script(latin_surname):
        latin_surname = None
    native_latin = all(is_latin_script(name) for name in (given, surname) if name is not None)
    if not native_latin:
        if latin_given is None and "latin_given_names" not in c.errors:
            c.error(
                "latin_given_names",
                _("Enter your given names as they are printed in Latin letters in your passport."),
            )
        if latin_surname is None and "latin_surname" not in c.errors:
            c.error(
                "latin_surname",
                _("Enter your surname as it is printed in Latin letters in your passport."),
            )
    elif latin_given is None and latin_surname is None:
        # A Latin name needs no second spelling: it is the one the passport prints.
        latin_given, latin_surname = given, surname
    if (
        given is not None
        and surname is not None
        and latin_given is not None
        and latin_surname is not None
        and name_similarity(f"{given} {surname}", f"{latin_given} {latin_surname}")
        < LATIN_NAME_MIN_SIMILARITY
    ):
        c.error(
            "latin_surname",
            _(
                "The names in Latin letters do not match the names you entered: check them "
                "against your passport's data page."
            ),
        )
    data: dict[str, Any] = {
        "latin_given_names": None if native_latin and latin_given == given else latin_given,
        "latin_surname": None if native_latin and latin_surname == surname else latin_surname,
    }
    for path, typed, column in (
        ("given_names", latin_given, "given_names_mrz"),
        ("surname", latin_surname, "surname_mrz"),
    ):
        if typed is not None:
            mrz_form = icao_transliterate(typed)
            if not mrz_form:
                c.error(path, _("Enter the name as it is printed in your passport."))
            data[column] = mrz_form[:200]
        else:
            data[column] = None
    return data


def _mrz_field_name(field_name: str) -> str:
    names = {
        "document number": _("passport number"),
        "date of birth": _("date of birth"),
        "expiry date": _("expiry date"),
        "personal number": _("personal number"),
        "composite": _("whole line"),
    }
    return names.get(field_name, field_name)


def _check_mrz(c: _Checker, text: str, data: Mapping[str, Any], today: dt.date) -> None:
    """A pasted MRZ: every check digit must hold, and what it says must match the form."""
    problems = validate_td3(text, today=today)
    if any(p.field in ("line length", "characters") for p in problems):
        c.error(
            "passport.mrz",
            _(
                "The machine-readable zone must be the 2 lines of 44 characters at the bottom "
                "of your passport's photo page"
            ),
        )
        return
    for problem in problems:
        if problem.field.endswith("check digit"):
            c.error(
                "passport.mrz",
                _(
                    "The check digit for the %(field)s is wrong: check you copied the "
                    "machine-readable zone correctly",
                    field=_mrz_field_name(problem.field.removesuffix(" check digit")),
                ),
            )
        else:
            c.error(
                "passport.mrz",
                _("The machine-readable zone is not valid: %(problem)s", problem=problem.message),
            )
    if problems:
        return
    mrz = parse_td3(text, today=today)
    comparisons: list[tuple[str, Any, Any]] = [
        (_("passport number"), mrz.document_number, data.get("passport_number")),
        (_("issuing country"), to_alpha3(mrz.issuing_state), data.get("passport_issuing_country")),
        (_("nationality"), to_alpha3(mrz.nationality), data.get("nationality")),
        (_("date of birth"), mrz.birth_date, data.get("date_of_birth")),
        (_("sex"), mrz.sex, data.get("sex")),
        (_("expiry date"), mrz.expiry_date, data.get("passport_expiry_date")),
    ]
    surname_mrz, given_mrz = data.get("surname_mrz"), data.get("given_names_mrz")
    # A long name is cut short in the MRZ (ICAO 9303 Part 4 4.2.3): a truncated field (one
    # ending on a letter) is compared with the start of each name component.
    truncated = not mrz.line1.endswith("<")
    names_typed = surname_mrz is not None and given_mrz is not None
    if not (
        names_typed
        and truncated
        and is_mrz_form_of((mrz.surname, mrz.given_names), surname_mrz or "", given_mrz or "")
    ):
        comparisons.append((_("surname"), mrz.surname, surname_mrz))
        comparisons.append((_("given names"), mrz.given_names, given_mrz))
    for label, in_mrz, typed in comparisons:
        # Fields not yet answered (a form page at a time) are compared when they are.
        if typed is not None and in_mrz != typed:
            c.error(
                "passport.mrz",
                _(
                    "The %(field)s in the machine-readable zone does not match the one you entered",
                    field=label,
                ),
            )
