"""The web journey as data: its pages, their questions, and how form answers become a payload.

Each page's answers are turned into the SPEC §4 payload and checked by the one validation
layer (eta.applications.validation); a page shows only the errors about its own fields.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString

from eta.applications.labels import BACKGROUND_LABELS, PURPOSE_LABELS, SEX_OPTIONS, YES_NO
from eta.applications.validation import BACKGROUND_QUESTIONS
from eta.countries import all_countries, country_name_in


@dataclass(frozen=True)
class Question:
    """One question on a page: `path` is the payload field path it answers."""

    path: str
    kind: str  # text, date, radios, select, textarea, checkbox
    label: LazyString
    hint: LazyString | None = None
    options: tuple[tuple[str, LazyString], ...] = ()
    autocomplete: str | None = None
    width: str | None = None
    input_type: str = "text"
    optional: bool = False
    spellcheck: bool = True

    @property
    def id(self) -> str:
        """The HTML id of the question's (first) input, used by the error summary."""
        return field_id(self.path)


@dataclass(frozen=True)
class Page:
    """One step of the journey: a topic with its questions."""

    slug: str
    title: LazyString
    questions: tuple[Question, ...]
    intro: LazyString | None = None
    extra_paths: tuple[str, ...] = field(default=())

    @property
    def paths(self) -> tuple[str, ...]:
        """Every payload path whose errors belong on this page."""
        return tuple(q.path for q in self.questions) + self.extra_paths


def field_id(path: str) -> str:
    """An HTML id for a field path (`passport.number` → `passport-number`)."""
    return path.replace(".", "-").replace("_", "-")


def _background_questions() -> tuple[Question, ...]:
    questions: list[Question] = []
    for key in BACKGROUND_QUESTIONS:
        questions.append(
            Question(f"answers.{key}", "radios", BACKGROUND_LABELS[key], options=YES_NO)
        )
        questions.append(
            Question(
                f"answers.{key}_details",
                "textarea",
                _l("If you answered yes, give details"),
                hint=_l("What happened, where and when."),
                optional=True,
            )
        )
    return tuple(questions)


PAGES: tuple[Page, ...] = (
    Page(
        "passport",
        _l("Your nationality and passport"),
        (
            Question("nationality", "select", _l("Nationality"), options=()),
            Question(
                "passport.issuing_country",
                "select",
                _l("Country that issued your passport"),
                options=(),
            ),
            Question(
                "passport.number",
                "text",
                _l("Passport number"),
                hint=_l("As printed on your passport's photo page, for example L898902C3."),
                width="eta-input--width-10",
                spellcheck=False,
                autocomplete="off",
            ),
            Question(
                "passport.number_confirm",
                "text",
                _l("Passport number again"),
                hint=_l("Type it again, so we can be sure there is no typing mistake."),
                width="eta-input--width-10",
                spellcheck=False,
                autocomplete="off",
            ),
            Question(
                "passport.issue_date", "date", _l("Issue date"), hint=_l("For example, 16 4 2022")
            ),
            Question(
                "passport.expiry_date", "date", _l("Expiry date"), hint=_l("For example, 15 4 2032")
            ),
            Question(
                "passport.mrz",
                "textarea",
                _l("Machine-readable zone (optional)"),
                hint=_l(
                    "The 2 lines of letters, numbers and < at the bottom of the photo page. "
                    "If you copy them here we check them against your answers."
                ),
                optional=True,
                spellcheck=False,
            ),
        ),
    ),
    Page(
        "personal",
        _l("Your personal details"),
        (
            Question(
                "given_names",
                "text",
                _l("Given names"),
                hint=_l("Exactly as in your passport, in any alphabet."),
                autocomplete="given-name",
                spellcheck=False,
            ),
            Question(
                "surname",
                "text",
                _l("Surname"),
                hint=_l("Exactly as in your passport, in any alphabet."),
                autocomplete="family-name",
                spellcheck=False,
            ),
            Question(
                "latin_given_names",
                "text",
                _l("Given names in Latin letters (if your name is in another alphabet)"),
                hint=_l(
                    "Only if your name is not written in Latin letters (A to Z): the given "
                    "names exactly as printed in Latin letters on your passport's data page."
                ),
                optional=True,
                spellcheck=False,
            ),
            Question(
                "latin_surname",
                "text",
                _l("Surname in Latin letters (if your name is in another alphabet)"),
                hint=_l("As printed in Latin letters on your passport's data page."),
                optional=True,
                spellcheck=False,
            ),
            Question("sex", "radios", _l("Sex, as shown in your passport"), options=SEX_OPTIONS),
            Question(
                "date_of_birth", "date", _l("Date of birth"), hint=_l("For example, 12 8 1974")
            ),
            Question("place_of_birth", "text", _l("Place of birth"), hint=_l("Town or city.")),
        ),
    ),
    Page(
        "contact",
        _l("How we can contact you"),
        (
            Question(
                "email",
                "text",
                _l("Email address"),
                hint=_l("We will send your decision to this address."),
                autocomplete="email",
                input_type="email",
                spellcheck=False,
            ),
            Question(
                "phone",
                "text",
                _l("Phone number (optional)"),
                hint=_l("In international format, for example +44 7700 900123."),
                autocomplete="tel",
                input_type="tel",
                width="eta-input--width-20",
                optional=True,
            ),
        ),
    ),
    Page(
        "address",
        _l("Your home address"),
        (
            Question(
                "home_address.line1",
                "text",
                _l("Address line 1"),
                autocomplete="address-line1",
            ),
            Question(
                "home_address.line2",
                "text",
                _l("Address line 2 (optional)"),
                autocomplete="address-line2",
                optional=True,
            ),
            Question(
                "home_address.city",
                "text",
                _l("Town or city"),
                autocomplete="address-level2",
                width="eta-input--width-20",
            ),
            Question(
                "home_address.postcode",
                "text",
                _l("Postcode (optional)"),
                autocomplete="postal-code",
                width="eta-input--width-10",
                optional=True,
            ),
            Question("home_address.country", "select", _l("Country"), options=()),
        ),
    ),
    Page(
        "occupation",
        _l("Your occupation"),
        (
            Question(
                "occupation",
                "text",
                _l("What is your job?"),
                hint=_l("If you do not work, say so, for example retired or student."),
                autocomplete="organization-title",
            ),
        ),
    ),
    Page(
        "travel",
        _l("Your journey"),
        (
            Question(
                "travel.purpose",
                "radios",
                _l("What is the main purpose of your journey?"),
                options=tuple(PURPOSE_LABELS.items()),
            ),
            Question(
                "travel.intended_arrival",
                "date",
                _l("When do you intend to arrive?"),
                hint=_l("It must be within the next 12 months. For example, 10 1 2027"),
            ),
        ),
    ),
    Page("background", _l("About your background"), _background_questions()),
    Page(
        "declaration",
        _l("Declaration"),
        (
            Question(
                "declaration",
                "checkbox",
                _l(
                    "I confirm that the information I have given is correct and complete to "
                    "the best of my knowledge."
                ),
                options=(("yes", _l("I confirm")),),
            ),
        ),
        intro=_l(
            "Giving false or misleading information can lead to your application being refused, "
            "and to you being refused entry."
        ),
        extra_paths=("language",),
    ),
)
PAGE_BY_SLUG = {page.slug: page for page in PAGES}
COUNTRY_PATHS = ("nationality", "passport.issuing_country", "home_address.country")
DATE_PARTS = ("day", "month", "year")


def page_of(path: str) -> Page | None:
    """The page that asks the question at `path` (or owns its errors)."""
    for page in PAGES:
        if path in page.paths:
            return page
    return None


def previous_page(page: Page) -> Page | None:
    """The page before `page`, or None for the first."""
    index = PAGES.index(page)
    return PAGES[index - 1] if index else None


def next_page(page: Page) -> Page | None:
    """The page after `page`, or None for the last (then Check your answers)."""
    index = PAGES.index(page)
    return PAGES[index + 1] if index + 1 < len(PAGES) else None


def form_names(page: Page) -> list[str]:
    """The names of the HTML inputs a page posts (dates post three)."""
    names: list[str] = []
    for question in page.questions:
        if question.kind == "date":
            names.extend(f"{question.path}-{part}" for part in DATE_PARTS)
        else:
            names.append(question.path)
    return names


def date_from_parts(parts: dict[str, str]) -> str | None:
    """A date typed in three boxes as the payload carries it: ISO, "not-a-date", or None."""
    day, month, year = (parts.get(part, "").strip() for part in DATE_PARTS)
    if not (day or month or year):
        return None
    if day.isdigit() and month.isdigit() and year.isdigit() and len(year) == 4:
        return f"{int(year):04d}-{int(month):02d}-{int(day):02d}"
    return "not-a-date"


def iso_date(value: str | None) -> dt.date | None:
    """The date a payload date string names, or None when it names none."""
    try:
        return dt.date.fromisoformat(value) if value else None
    except ValueError:
        return None


def _date(raw: dict[str, str], path: str) -> str | None:
    return date_from_parts({part: raw.get(f"{path}-{part}", "") for part in DATE_PARTS})


def _yes_no(value: str | None) -> bool | None:
    return {"yes": True, "no": False}.get(value or "")


def payload_from_form(raw: dict[str, str], language: str) -> dict[str, Any]:
    """The SPEC §4 payload for the answers typed so far (absent answers stay absent)."""

    def text(path: str) -> str | None:
        value = raw.get(path)
        return value if value else None

    answers: dict[str, Any] = {}
    for key in BACKGROUND_QUESTIONS:
        answers[key] = _yes_no(raw.get(f"answers.{key}"))
        answers[f"{key}_details"] = text(f"answers.{key}_details")
    return {
        "given_names": text("given_names"),
        "surname": text("surname"),
        "latin_given_names": text("latin_given_names"),
        "latin_surname": text("latin_surname"),
        "sex": text("sex"),
        "date_of_birth": _date(raw, "date_of_birth"),
        "place_of_birth": text("place_of_birth"),
        "nationality": text("nationality"),
        "passport": {
            "number": text("passport.number"),
            "issuing_country": text("passport.issuing_country"),
            "issue_date": _date(raw, "passport.issue_date"),
            "expiry_date": _date(raw, "passport.expiry_date"),
            "mrz": text("passport.mrz"),
        },
        "email": text("email"),
        "phone": text("phone"),
        "home_address": {
            "line1": text("home_address.line1"),
            "line2": text("home_address.line2"),
            "city": text("home_address.city"),
            "postcode": text("home_address.postcode"),
            "country": text("home_address.country"),
        },
        "occupation": text("occupation"),
        "travel": {
            "purpose": text("travel.purpose"),
            "intended_arrival": _date(raw, "travel.intended_arrival"),
        },
        "answers": answers,
        "language": language,
        "declaration": raw.get("declaration") == "yes",
    }


def localised_country(code: str | None) -> str:
    """A country's name in the visitor's language (CLDR's names, through Babel)."""
    if not code:
        return ""
    return country_name_in(code, str(get_locale() or "en"))


def country_options() -> list[tuple[str, str]]:
    """Every ISO 3166 country as (alpha-3, localised name), sorted for the visitor."""
    pairs = [(code, localised_country(code)) for code, _name in all_countries()]
    return sorted(pairs, key=lambda pair: _sort_key(pair[1]))


def _sort_key(name: str) -> str:
    # Accents do not send a country to the end of the list: "Österreich" sorts with the Os.
    decomposed = unicodedata.normalize("NFKD", name.casefold())
    return "".join(character for character in decomposed if not unicodedata.combining(character))


def display_date(value: str | None) -> str:
    """A form date (YYYY-MM-DD) as people read it, e.g. 12 August 1974, in their language."""
    if not value:
        return ""
    try:
        day = dt.date.fromisoformat(value)
    except ValueError:
        return value
    from flask_babel import format_date

    from eta.web.i18n import localise_digits

    return localise_digits(format_date(day, "d MMMM y"))
