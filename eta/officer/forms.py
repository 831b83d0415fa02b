"""The back office's forms (Flask-WTF): what each page accepts, in the officer's language.

Each form only parses and checks shape; the rules themselves live once, in the domain packages
(passport numbers, countries, dates of birth, a rule's conditions, passwords), and the views
hand the form's data to one verb. A verb's refusal is placed back on the form's field.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from email_validator import EmailNotValidError, validate_email
from flask import request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    Field,
    FieldList,
    Form,
    FormField,
    HiddenField,
    IntegerField,
    PasswordField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import (
    AnyOf,
    DataRequired,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)
from wtforms.widgets import HiddenInput

from eta.accounts.passwords import MIN_PASSWORD_LENGTH
from eta.applications.decisions import MAX_NOTE_CHARS, MAX_QUESTIONS_CHARS
from eta.applications.labels import BACKGROUND_LABELS, SEX_OPTIONS
from eta.applications.reasons import REFUSAL_REASONS, REVOCATION_REASONS
from eta.applications.search import MAX_TERM
from eta.countries import document_country
from eta.documents import normalise_document_number
from eta.models import CheckName, Role
from eta.screening.lists.importers import parse_date_of_birth
from eta.screening.rules import (
    AGE_BANDS,
    ANSWER_PREFIX,
    BOOLEAN_FIELDS,
    NUMBER_FIELDS,
    OPERATORS,
    TEXT_FIELDS,
    RuleProblem,
    field_kind,
)

TEXT_MAX = 200
MAX_CONDITIONS = 10  # a rule with more is better imported as JSON
MAX_JSON_CHARS = 20_000


def strip(value: object) -> object:
    """Spaces around what was typed are never meant (GOV.UK Notify's base form does the same)."""
    return value.strip() if isinstance(value, str) else value


def upper(value: object) -> object:
    """Codes (countries, passports) are compared in upper case."""
    return value.upper() if isinstance(value, str) else value


def options(pairs: Iterable[tuple[object, Any]]) -> list[SelectChoice]:
    """(value, label) pairs as a select's choices."""
    return [SelectChoice(value=str(value), label=label) for value, label in pairs]


class ChoiceField(SelectField):
    """A select whose refusal of an unknown value says, in the officer's words, what to do.

    `choices` are (value, label) pairs, or a function giving them (labels in the officer's
    language at each request).
    """

    def __init__(
        self,
        label: Any = None,
        validators: Any = None,
        *,
        choices: Any,
        invalid: Any = None,
        **kwargs: Any,
    ) -> None:
        wrapped = (lambda: options(choices())) if callable(choices) else options(choices)
        super().__init__(
            label,
            validators,
            choices=wrapped,
            invalid_choice_message=invalid or _l("Select an option from the list"),
            **kwargs,
        )


class StaffForm(FlaskForm):
    """The base of every back office form: whitespace stripped, errors listed for the summary."""

    class Meta:
        """How fields are bound: every typed value stripped."""

        def bind_field(self, form: Any, unbound_field: Any, options: dict[str, Any]) -> Field:
            """Strip every typed value (passwords excepted: a space may be part of one)."""
            filters = list(options.pop("filters", ()))
            if not issubclass(unbound_field.field_class, PasswordField | FieldList | FormField):
                filters.insert(0, strip)
            return unbound_field.bind(form=form, filters=filters, **options)

    def error_list(self) -> list[tuple[str, str]]:
        """(field id, message) for every error, in the page's order, for the error summary."""
        return list(_errors(self))


def _errors(form: Any) -> Iterator[tuple[str, str]]:
    for item in form:
        if isinstance(item, FieldList):
            for entry in item.entries:
                yield from _field_errors(entry)
        else:
            yield from _field_errors(item)


def _field_errors(field: Field) -> Iterator[tuple[str, str]]:
    if isinstance(field, FormField):
        yield from _errors(field.form)
        return
    if field.name == "csrf_token":
        return
    for message in field.errors if isinstance(field.errors, list | tuple) else ():
        yield field.id, str(message)


class QueryForm(StaffForm):
    """A search or filter form sent with GET: no CSRF token, nothing changes."""

    class Meta:
        """No CSRF token: a GET changes nothing."""

        csrf = False


def valid_data(form: StaffForm) -> dict[str, Any]:
    """The form's values, with every field that failed its checks left out (filters)."""
    form.validate()
    return {
        name: field.data
        for name, field in form._fields.items()
        if not field.errors and name != "csrf_token"
    }


# ---- sign-in -------------------------------------------------------------------------------------


class SignInForm(StaffForm):
    """The first sign-in step: email address and password."""

    email = StringField(
        _l("Email address"),
        [DataRequired(_l("Enter your email address")), Length(max=TEXT_MAX)],
        filters=[lambda value: value.lower() if isinstance(value, str) else value],
    )
    password = PasswordField(
        _l("Password"), [DataRequired(_l("Enter your password")), Length(max=1000)]
    )


def _no_spaces(value: object) -> object:
    return "".join(value.split()) if isinstance(value, str) else value


class CodeForm(StaffForm):
    """The second sign-in step: the code of the authenticator app."""

    code = StringField(
        _l("Code from your authenticator app"),
        [DataRequired(_l("Enter the current 6-digit code from your authenticator app"))],
        filters=[_no_spaces],
    )


class ActionForm(StaffForm):
    """A button that changes something (sign out, end sessions, remove): the CSRF token only."""


# ---- the queue, search and the audit page ------------------------------------------------------


def _country_code(form: Any, field: Field) -> None:
    """A country as a passport prints it (ICAO 9303 codes, D for Germany), kept as eta keeps it."""
    if field.data:
        code = document_country(str(field.data))
        if code is None:
            raise ValidationError(_("Enter a country code from the passport, for example FRA"))
        field.data = code


SCOPE_LABELS = {
    "all": _l("All"),
    "mine": _l("Claimed by me"),
    "unclaimed": _l("Unclaimed"),
    "overdue": _l("Overdue"),
}


class QueueFilterForm(QueryForm):
    """The queue's filters: a check that hit, a nationality, whose cases."""

    check = ChoiceField(
        _l("Check"),
        choices=[("", _l("Any")), *[(c.value, c.value) for c in CheckName]],
        default="",
    )
    nationality = StringField(
        _l("Nationality"), [Optional(), Length(max=3), _country_code], filters=[upper]
    )
    scope = ChoiceField(_l("Show"), choices=list(SCOPE_LABELS.items()), default="all")


def _truncate(limit: int) -> Callable[[object], object]:
    def cut(value: object) -> object:
        return value[:limit] if isinstance(value, str) else value

    return cut


class SearchForm(QueryForm):
    """Find a case by reference, passport number or name."""

    q = StringField(_l("Reference, passport number or name"), filters=[_truncate(MAX_TERM)])


class AuditFilterForm(QueryForm):
    """The audit page's filters (and its page marker, `before`)."""

    action = StringField(_l("Action starts with"), [Length(max=TEXT_MAX)])
    actor = StringField(_l("Actor"), [Length(max=TEXT_MAX)])
    object_id = StringField(_l("Object (reference or id)"), [Length(max=TEXT_MAX)])
    # Bounded: a number no id can reach is ignored, not a 500.
    before = IntegerField(validators=[Optional(), NumberRange(min=1, max=2**62)])


# ---- decisions on a case ---------------------------------------------------------------------


class CaseActionForm(ActionForm):
    """A decision's button: the CSRF token and the case version the page was built from."""

    version = IntegerField(
        validators=[Optional(), NumberRange(min=0, max=10**11)], widget=HiddenInput()
    )


def _reasons(reasons: dict[str, Any]) -> list[tuple[str, str]]:
    return [(code, f"{code} — {words}") for code, words in reasons.items()]


class RefusalForm(CaseActionForm):
    """Propose a refusal: a reason from the list and a note for the record."""

    reason_code = ChoiceField(
        _l("Reason"),
        choices=lambda: _reasons(REFUSAL_REASONS),
        invalid=_l("Choose a reason for refusing"),
    )
    note = TextAreaField(
        _l("Note for the record"),
        [
            DataRequired(_l("Write a note for the record")),
            Length(max=MAX_NOTE_CHARS, message=_l("The note is too long: shorten it.")),
        ],
    )


class RequestInformationForm(CaseActionForm):
    """Ask the traveller questions."""

    questions = TextAreaField(
        _l("Questions"),
        [
            DataRequired(_l("Write the questions for the traveller.")),
            Length(
                max=MAX_QUESTIONS_CHARS, message=_l("The questions are too long: shorten them.")
            ),
        ],
    )


class RevokeForm(CaseActionForm):
    """Revoke an issued authorisation, for a reason from the list."""

    reason_code = ChoiceField(
        _l("Reason for revoking"),
        choices=lambda: _reasons(REVOCATION_REASONS),
        invalid=_l("Choose a reason for revoking."),
    )


# ---- officers (admin) ----------------------------------------------------------------------------


def _email_address(form: Any, field: Field) -> None:
    # Officers' addresses are internal: any domain a mail server can have, test ones included.
    if field.data:
        try:
            validate_email(str(field.data), check_deliverability=False, test_environment=True)
        except EmailNotValidError:
            raise ValidationError(
                _("Enter an email address in the correct format, like name@example.com")
            ) from None


class OfficerForm(StaffForm):
    """A new officer account: email, first password, role."""

    email = StringField(
        _l("Email address"),
        [
            DataRequired(_l("Enter the officer's email address")),
            Length(max=TEXT_MAX),
            _email_address,
        ],
        filters=[lambda value: value.lower() if isinstance(value, str) else value],
    )
    password = PasswordField(
        _l("First password (at least 12 characters)"),
        [
            DataRequired(_l("Enter a first password")),
            Length(
                min=MIN_PASSWORD_LENGTH,
                max=1000,
                message=_l(
                    "The password must be at least %(count)d characters", count=MIN_PASSWORD_LENGTH
                ),
            ),
        ],
    )
    role = ChoiceField(
        _l("Role"),
        choices=[(role.value, role.value) for role in Role],
        default=Role.OFFICER.value,
        invalid=_l("Choose a role"),
    )


class ActiveForm(ActionForm):
    """Deactivate or reactivate an officer."""

    active = HiddenField(validators=[AnyOf(["0", "1"])])


# ---- watchlists ----------------------------------------------------------------------------------


class ImportListForm(StaffForm):
    """Upload a list file as a new version of a source."""

    source = StringField(
        _l("List name (for example UN, OFAC)"),
        [DataRequired(_l("Enter the name of the list")), Length(max=100)],
        filters=[upper],
    )
    format = ChoiceField(_l("Format"), choices=[], invalid=_l("Choose the file's format"))
    file = FileField(_l("File"), [FileRequired(_l("Choose a file"))])

    def __init__(self, formats: Sequence[str], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.format.choices = options((fmt, fmt) for fmt in formats)


def _date_of_birth(form: Any, field: Field) -> None:
    """YYYY or YYYY-MM-DD: the lists' own rule (eta.screening.lists.importers)."""
    if field.data:
        try:
            parse_date_of_birth(str(field.data))
        except ValueError:
            raise ValidationError(
                _("Enter the date of birth as a year (YYYY) or a date (YYYY-MM-DD)")
            ) from None


def _document_number(form: Any, field: Field) -> None:
    if field.data and not normalise_document_number(str(field.data)).isalnum():
        raise ValidationError(_("Enter the passport number with letters and numbers only"))


class PersonForm(StaffForm):
    """A person on a manual list."""

    full_name = StringField(
        _l("Full name"), [DataRequired(_l("Enter a full name")), Length(max=TEXT_MAX)]
    )
    date_of_birth = StringField(
        _l("Date of birth (YYYY or YYYY-MM-DD, optional)"), [Optional(), _date_of_birth]
    )
    nationality = StringField(
        _l("Nationality (optional)"), [Optional(), Length(max=3), _country_code], filters=[upper]
    )
    sex = ChoiceField(
        _l("Sex (optional)"),
        choices=lambda: [
            ("", _("Not known")),
            *[(code, str(words)) for code, words in SEX_OPTIONS],
        ],
        default="",
        filters=[upper],
    )
    passport_number = StringField(
        _l("Passport number (optional)"), [Optional(), Length(max=30), _document_number]
    )

    def person(self) -> dict[str, Any]:
        """The person as the manual list's verbs take it."""
        return {
            "full_name": self.full_name.data or "",
            "date_of_birth": self.date_of_birth.data or None,
            "nationality": self.nationality.data or None,
            "sex": self.sex.data or None,
            "passport_number": self.passport_number.data or None,
        }


class ManualEntryForm(PersonForm):
    """A person added to a manual list (the list is created on first use)."""

    source = StringField(_l("Manual list"), [Length(max=100)], default="MANUAL", filters=[upper])


class ListSearchForm(QueryForm):
    """Search a list's entries by name."""

    q = StringField(_l("Name contains"), [Length(max=TEXT_MAX)])


# ---- risk rules: the builder ---------------------------------------------------------------------

ATTRIBUTE_LABELS: dict[str, Any] = {
    "nationality": _l("Nationality"),
    "country_of_residence": _l("Country of residence"),
    "occupation": _l("Occupation"),
    "travel_purpose": _l("Purpose of travel"),
    "document.issuing_country": _l("Passport issued by"),
    "document.months_to_expiry": _l("Months until the passport expires"),
    "document.validity_years": _l("Years the passport is valid for"),
    "document.mrz_provided": _l("Machine-readable zone given"),
    **{
        ANSWER_PREFIX + key: _l("Answer: %(question)s", question=question)
        for key, question in BACKGROUND_LABELS.items()
    },
    "sex": _l("Sex"),
    "age_band": _l("Age band"),
}
# The builder offers every attribute the rules know, and no other.
assert {  # noqa: S101
    name for name in ATTRIBUTE_LABELS if not name.startswith(ANSWER_PREFIX)
} == TEXT_FIELDS | NUMBER_FIELDS | BOOLEAN_FIELDS

OPERATOR_LABELS: dict[str, Any] = {
    "eq": _l("is"),
    "ne": _l("is not"),
    "in": _l("is one of"),
    "not_in": _l("is none of"),
    "contains": _l("contains"),
    "lt": _l("is less than"),
    "lte": _l("is at most"),
    "gt": _l("is more than"),
    "gte": _l("is at least"),
}
assert set(OPERATOR_LABELS) == set().union(*OPERATORS.values())  # noqa: S101

TRUE_WORDS = frozenset({"yes", "true"})
FALSE_WORDS = frozenset({"no", "false"})


class ConditionForm(Form):
    """One condition of a rule: attribute, operator, value (a list: values split by commas)."""

    attribute = ChoiceField(
        _l("Attribute"),
        choices=lambda: [("", _("Choose an attribute")), *ATTRIBUTE_LABELS.items()],
        default="",
        filters=[strip],
        invalid=_l("Choose an attribute from the list"),
    )
    operator = ChoiceField(
        _l("Operator"),
        choices=list(OPERATOR_LABELS.items()),
        default="eq",
        filters=[strip],
        invalid=_l("Choose an operator from the list"),
    )
    value = StringField(_l("Value"), [Length(max=1000)], filters=[strip])

    def is_blank(self) -> bool:
        """A row left empty (the builder always offers one more) is no condition."""
        return not self.attribute.data and not self.value.data


def condition_value(attribute: str, operator: str, text: str) -> object:
    """What the officer typed as the JSON value the rule keeps.

    A list for "is one of" / "is none of" (split at commas), a number for numeric attributes,
    true or false for yes/no ones; anything that does not read as its kind is kept as typed,
    so the rule's own check (eta.screening.rules) says what is wrong with it.
    """
    kind = field_kind(attribute)
    if kind == "text" and operator in ("in", "not_in"):
        return [part.strip() for part in text.split(",") if part.strip()]
    if kind == "number":
        try:
            return int(text)
        except ValueError:
            try:
                number = float(text)
            except ValueError:
                return text
            return number if number == number and abs(number) != float("inf") else text
    if kind == "boolean":
        word = text.casefold()
        if word in TRUE_WORDS:
            return True
        if word in FALSE_WORDS:
            return False
    return text


def value_text(value: object) -> str:
    """A condition's JSON value as the builder shows it."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return "" if value is None else str(value)


def _json_conditions(form: Any, field: Field) -> None:
    if not field.data:
        return
    try:
        parsed = json.loads(field.data)
    except json.JSONDecodeError as error:
        raise ValidationError(_("Conditions must be JSON: %(error)s", error=error.msg)) from None
    if not isinstance(parsed, dict):
        raise ValidationError(_('Conditions must be an object with a list under "all"'))


class ConditionsForm(StaffForm):
    """A rule's conditions: the builder's rows, or JSON pasted in their place (import)."""

    condition = FieldList(FormField(ConditionForm), min_entries=1, max_entries=MAX_CONDITIONS)
    conditions = TextAreaField(
        _l("Or paste the conditions as JSON"),
        [Length(max=MAX_JSON_CHARS), _json_conditions],
    )

    def wants_another_row(self) -> bool:
        """The officer pressed "Add another condition" (the page comes back with a new row)."""
        return self.is_submitted() and "add_condition" in request.form

    def add_row(self) -> None:
        """One more empty condition row, up to the builder's limit."""
        if len(self.condition.entries) < MAX_CONDITIONS:
            self.condition.append_entry()

    def from_json(self) -> bool:
        """Whether the conditions come from the JSON box rather than the builder."""
        return bool(self.conditions.data)

    def value(self) -> dict[str, Any]:
        """The conditions to save, as the rules keep them."""
        if self.from_json():
            parsed: dict[str, Any] = json.loads(self.conditions.data)
            return parsed
        return {
            "all": [
                {
                    "field": row.form.attribute.data,
                    "op": row.form.operator.data,
                    "value": condition_value(
                        row.form.attribute.data, row.form.operator.data, row.form.value.data or ""
                    ),
                }
                for row in self._filled_rows()
            ]
        }

    def _filled_rows(self) -> list[FormField]:
        return [row for row in self.condition.entries if not row.form.is_blank()]

    def fill(self, conditions: dict[str, Any]) -> None:
        """Show saved conditions in the builder's rows, one empty row after them."""
        items = conditions.get("all") if isinstance(conditions, dict) else None
        while self.condition.entries:
            self.condition.pop_entry()
        for item in (items or [])[: MAX_CONDITIONS - 1]:
            if isinstance(item, dict):
                self.condition.append_entry(
                    {
                        "attribute": item.get("field") or "",
                        "operator": item.get("op") or "eq",
                        "value": value_text(item.get("value")),
                    }
                )
        self.add_row()

    def place(self, problems: Sequence[RuleProblem]) -> None:
        """Put the rule's problems on the fields they concern, in the officer's language.

        Problems of the rule as a whole (the guard against sex or age alone) go on the first
        condition's attribute; with JSON pasted, every problem goes on the JSON box.
        """
        rows = self._filled_rows()
        for problem in problems:
            message = _(problem.message, **problem.params) if problem.params else _(problem.message)
            target: Field
            if problem.part == "name" and hasattr(self, "name"):
                target = self.name
            elif self.from_json() or not rows:
                target = (
                    self.conditions
                    if self.from_json()
                    else self.condition.entries[0].form.attribute
                )
            else:
                index = (problem.condition or 1) - 1
                row = rows[min(index, len(rows) - 1)].form
                target = getattr(row, problem.part or "attribute", row.attribute)
            target.errors = [*target.errors, message]


class RuleForm(ConditionsForm):
    """A new rule: its name, why it exists, and its conditions."""

    name = StringField(_l("Name"), [DataRequired(_l("Enter a name for the rule")), Length(max=100)])
    description = StringField(_l("Why this rule exists"), [Length(max=2000)])

    # The name first in the error summary, as on the page.
    def error_list(self) -> list[tuple[str, str]]:
        """(field id, message) for every error, name and description first."""
        errors = super().error_list()
        first = [e for e in errors if e[0] in ("name", "description")]
        return first + [e for e in errors if e not in first]


class EnableRuleForm(ActionForm):
    """Enable or disable a rule."""

    enabled = HiddenField(validators=[AnyOf(["0", "1"])])


AGE_BAND_NAMES = [label for _low, _high, label in AGE_BANDS]
