"""Flask-WTF form classes for the traveller's pages: one per question page, save, status, answer.

The question pages' classes are generated from the journey's definition (eta.traveller.journey):
one field per question, named as the payload path it answers. Their validators do not restate
any rule: `SharedRule` gives a field the messages that the one validation layer
(eta.applications.validation, which the JSON API also calls) finds at the field's path, for the
journey's answers so far with this page's answers in place. Only what exists on the web alone
(typing the passport number twice, the status lookup's and the answer page's inputs) is checked
here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from werkzeug.datastructures import MultiDict
from wtforms import BooleanField, Field, RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import StopValidation, ValidationError

from eta.applications.submission import eligible_nationalities, exempt_nationalities, languages
from eta.applications.validation import (
    EMAIL_FORMAT,
    Validated,
    normalised_email,
    validate_application,
)
from eta.documents import normalise_document_number
from eta.traveller import journey
from eta.traveller.journey import DATE_PARTS, PAGES, Page, Question

MAX_ANSWER_CHARS = 5000  # an answer to an officer's questions
MAX_LOOKUP_CHARS = 40  # a status lookup's reference or passport number, before any parsing


def _strip(value: Any) -> Any:
    """Leading and trailing spaces are never part of an answer (a filter on every text field)."""
    return value.strip() if isinstance(value, str) else value


def _language() -> str:
    return str(get_locale() or "en")


def validate_answers(answers: Mapping[str, str]) -> Validated:
    """The journey's answers (form names → typed text) through the shared validation layer."""
    return validate_application(
        journey.payload_from_form(dict(answers), _language()),
        eligible_nationalities=eligible_nationalities(),
        exempt_nationalities=exempt_nationalities(),
        languages=languages(),
    )


# ---- fields ---------------------------------------------------------------------------------


class DateField(Field):
    """A GOV.UK date input: three boxes posted as NAME-day, NAME-month and NAME-year.

    `parts` keeps what was typed, for showing it again; `data` is the ISO date the payload
    carries (or "not-a-date", which the shared rules answer with "… must be a real date").
    """

    def process(
        self, formdata: Any, data: Any = None, extra_filters: Any = None, **_kwargs: Any
    ) -> None:
        """Read the three boxes (a field made of several inputs, as WTForms allows)."""
        self.process_errors: list[str] = []
        self.object_data = data
        self.parts = {part: "" for part in DATE_PARTS}
        if formdata is not None:
            for part in DATE_PARTS:
                value = formdata.get(f"{self.name}-{part}")
                self.parts[part] = value.strip() if isinstance(value, str) else ""
        self.raw_data = [self.parts[part] for part in DATE_PARTS]
        self.data = journey.date_from_parts(self.parts)

    def _value(self) -> str:
        return str(self.data or "")


# ---- validators -----------------------------------------------------------------------------


class SharedRule:
    """A field's validator: the messages the shared validation layer gives its payload path(s).

    The form computes the shared validation once (see `QuestionForm.shared`); every field then
    takes the messages that belong to it, in the rules' own order and words.
    """

    def __init__(self, *paths: str) -> None:
        self.paths = paths

    def __call__(self, form: QuestionForm, field: Field) -> None:
        """Fail the field with the shared rules' messages for its paths, if any."""
        messages = [m for path in self.paths for m in form.shared().errors.get(path, [])]
        if messages:
            # A field may break several rules; each message is listed in the error summary.
            field.errors.extend(messages[:-1])
            raise StopValidation(messages[-1])


def same_passport_number(form: QuestionForm, field: Field) -> None:
    """The number typed again must be the number (a web-only guard against a typing slip)."""
    number = form.answer("passport.number")
    confirm = field.data or ""
    if number and not confirm:
        raise StopValidation(_l("Enter your passport number again"))
    if (
        number
        and confirm
        and normalise_document_number(number).upper() != normalise_document_number(confirm).upper()
    ):
        raise ValidationError(_l("The passport numbers do not match: check both"))


# ---- the question pages ---------------------------------------------------------------------


class QuestionForm(FlaskForm):
    """A page of the journey; subclasses (one per page) are made by `_page_form`.

    `answers` are the journey's answers so far (the draft): the shared rules compare fields
    across pages (an arrival date with the passport's expiry, a pasted MRZ with the names).
    """

    page: Page
    paths: dict[str, str]  # payload path → attribute name of its field

    def __init__(
        self,
        *args: Any,
        answers: Mapping[str, str] | None = None,
        shared: Validated | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.draft_answers = dict(answers or {})
        self._shared = shared
        self.saved = False  # True when filled from the draft rather than posted
        for question in self.page.questions:
            if question.kind == "radios":
                self.field(question.path).choices = [
                    (value, str(label)) for value, label in question.options
                ]

    @classmethod
    def for_answers(cls, answers: Mapping[str, str], shared: Validated | None = None) -> Any:
        """This page's form filled from saved answers (a GET, or Check your answers)."""
        form = cls(formdata=MultiDict(answers), answers=answers, shared=shared)
        form.saved = True
        return form

    def field(self, path: str) -> Field:
        """The field answering the question at `path`."""
        return self[self.paths[path]]

    def answer(self, path: str) -> str:
        """What this page's form says for `path`, as typed (stripped)."""
        field = self.field(path)
        if isinstance(field, BooleanField):
            return "yes" if field.data else ""
        value = field.raw_data[0] if field.raw_data else ""
        return value.strip() if isinstance(value, str) else ""

    def answers(self) -> dict[str, str]:
        """This page's answers by HTML input name, the form in which the draft keeps them."""
        answers: dict[str, str] = {}
        for question in self.page.questions:
            field = self.field(question.path)
            if isinstance(field, DateField):
                answers.update({f"{question.path}-{p}": field.parts[p] for p in DATE_PARTS})
            else:
                answers[question.path] = self.answer(question.path)
        return answers

    def shared(self) -> Validated:
        """The shared validation of the journey so far, this page's answers in place (once)."""
        if self._shared is None:
            self._shared = validate_answers({**self.draft_answers, **self.answers()})
        return self._shared

    def questions(self) -> Iterator[tuple[Question, Field]]:
        """Each question of the page with its field, in the page's order (for the template).

        Country lists are filled here, when the page is shown: sorting the world's names in
        the visitor's language costs more than checking the page, and a checked page that
        moves on never shows them (the shared rules check the country, not the list).
        """
        countries: list[tuple[str, str]] | None = None
        for question in self.page.questions:
            field = self.field(question.path)
            if question.kind == "select" and not field.choices:
                if countries is None:
                    countries = journey.country_options()
                field.choices = countries if question.path in journey.COUNTRY_PATHS else []
            yield question, field

    def page_errors(self) -> dict[str, list[str]]:
        """The page's messages by payload path, in question order (after `validate`)."""
        errors: dict[str, list[str]] = {}
        for question in self.page.questions:
            messages = [str(m) for m in self.field(question.path).errors]
            if messages:
                errors[question.path] = messages
        return errors

    def check(self) -> dict[str, list[str]]:
        """Validate the page and give its errors (every rule the page's fields carry)."""
        if self.saved:
            # Saved answers carry no CSRF token (nothing was posted): only the questions.
            for field in self.page_fields():
                field.validate(self)
        else:
            self.validate()
        return self.page_errors()

    def page_fields(self) -> list[Field]:
        """The page's question fields (every field but the CSRF token)."""
        return [self.field(question.path) for question in self.page.questions]


def _field_for(question: Question, extra_paths: tuple[str, ...]) -> Field:
    validators: list[Callable[..., None]] = [SharedRule(question.path, *extra_paths)]
    if question.path == "passport.number_confirm":
        validators = [same_passport_number]  # not a payload field: the API has no such question
    common: dict[str, Any] = {
        "label": question.label,
        "description": question.hint or "",
        "validators": validators,
        "name": question.path,
        "id": question.id,
    }
    if question.kind == "date":
        return DateField(**common)
    if question.kind == "radios":
        return RadioField(validate_choice=False, **common)
    if question.kind == "select":
        return SelectField(validate_choice=False, **common)
    if question.kind == "checkbox":
        return BooleanField(false_values=("", "false", "no"), **common)
    if question.kind == "textarea":
        return TextAreaField(filters=[_strip], **common)
    return StringField(filters=[_strip], **common)


def _attribute(path: str) -> str:
    # A Python name for the field; its HTML name stays the payload path (`name=`).
    return "q_" + path.replace(".", "__")


def _page_form(page: Page) -> type[QuestionForm]:
    """A FlaskForm class for one page of the journey, a field per question."""
    attributes: dict[str, Any] = {"page": page, "paths": {}}
    for question in page.questions:
        # A page's own extra paths (the declaration page's `language`) show on its last field.
        extra = page.extra_paths if question is page.questions[-1] else ()
        attributes[_attribute(question.path)] = _field_for(question, extra)
        attributes["paths"][question.path] = _attribute(question.path)
    name = "".join(part.capitalize() for part in page.slug.split("_")) + "PageForm"
    return type(name, (QuestionForm,), attributes)


PAGE_FORMS: dict[str, type[QuestionForm]] = {page.slug: _page_form(page) for page in PAGES}


def journey_errors(answers: Mapping[str, str]) -> tuple[Validated, dict[str, dict[str, list[str]]]]:
    """The whole journey checked page by page through its forms (Check your answers).

    Returns the shared validation (its `data` is what is submitted) and the messages of each
    page with a problem, by path, in journey order.
    """
    shared = validate_answers(answers)
    problems: dict[str, dict[str, list[str]]] = {}
    for page in PAGES:
        errors = PAGE_FORMS[page.slug].for_answers(answers, shared).check()
        if errors:
            problems[page.slug] = errors
    return shared, problems


# ---- the other traveller forms --------------------------------------------------------------


class SubmitForm(FlaskForm):
    """Check your answers' "Accept and send": nothing to type, a CSRF token to carry."""


class SaveForm(FlaskForm):
    """Save and come back later: the address the resume link goes to."""

    email = StringField(_l("Email address"), filters=[_strip], id="email")

    def validate_email(self, field: Field) -> None:
        """The shared email rule, the one the application's email address answers to."""
        email = normalised_email(field.data or "")
        if email is None:
            raise StopValidation(EMAIL_FORMAT)
        field.data = email


class StatusForm(FlaskForm):
    """Check an application: reference, passport number and date of birth."""

    reference = StringField(_l("Application reference"), filters=[_strip], id="reference")
    passport_number = StringField(_l("Passport number"), filters=[_strip], id="passport-number")
    date_of_birth = DateField(_l("Date of birth"), id="date-of-birth")

    def validate_reference(self, field: Field) -> None:
        """A reference must be given, and look like one before it is looked up."""
        if not field.data:
            raise StopValidation(_l("Enter your application reference"))
        if len(field.data) > MAX_LOOKUP_CHARS:
            raise StopValidation(_l("Enter your application reference, like ETA-7KQ2-MX9P-4D"))

    def validate_passport_number(self, field: Field) -> None:
        """A passport number must be given; a long one cannot be one."""
        if not field.data:
            raise StopValidation(_l("Enter your passport number"))
        if len(field.data) > MAX_LOOKUP_CHARS:
            raise StopValidation(_l("Passport number must be 5 to 20 letters and numbers"))

    def validate_date_of_birth(self, field: Field) -> None:
        """A date of birth must be given and real (the shared date rule's words)."""
        if field.data is None:
            raise StopValidation(_l("Enter your date of birth"))
        if journey.iso_date(field.data) is None:
            raise StopValidation(_l("Date of birth must be a real date."))

    def errors_by_field(self) -> dict[str, list[str]]:
        """Messages by field name, in the page's order (for the error summary)."""
        return {
            name: [str(m) for m in self[name].errors]
            for name in ("reference", "passport_number", "date_of_birth")
            if self[name].errors
        }


class AnswerForm(FlaskForm):
    """The traveller's answer to an officer's questions."""

    answer = TextAreaField(_l("Your answer"), filters=[_strip], id="answer")

    def validate_answer(self, field: Field) -> None:
        """An answer must be given, and fit what an officer can read."""
        if not field.data:
            raise StopValidation(_l("Enter your answer"))
        if len(field.data) > MAX_ANSWER_CHARS:
            raise StopValidation(
                _l("Your answer must be %(count)d characters or fewer", count=MAX_ANSWER_CHARS)
            )
