"""Risk rules as data: validating an officer's conditions and matching them against applicant facts.

A rule's conditions are JSON: `{"all": [{"field": "nationality", "op": "in", "value": ["XXX"]},
{"field": "travel_purpose", "op": "eq", "value": "business"}]}`. Every condition must hold for the
rule to match. A rule must combine at least two different attributes, and at least one of them
must be something other than sex or age band: nobody is referred for who they are alone.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Protocol

# Attributes a rule may test, with the kind of value each holds.
TEXT_FIELDS = frozenset(
    {
        "nationality",
        "country_of_residence",
        "age_band",
        "sex",
        "occupation",
        "travel_purpose",
        "document.issuing_country",
    }
)
NUMBER_FIELDS = frozenset({"document.months_to_expiry", "document.validity_years"})
BOOLEAN_FIELDS = frozenset({"document.mrz_provided"})
# Background answers are addressed as "answers.<question>" (booleans).
ANSWER_PREFIX = "answers."
PROTECTED_FIELDS = frozenset({"sex", "age_band"})

TEXT_OPS = frozenset({"eq", "ne", "in", "not_in", "contains"})
NUMBER_OPS = frozenset({"eq", "ne", "lt", "lte", "gt", "gte"})
BOOLEAN_OPS = frozenset({"eq", "ne"})

# Age bands as officers think of them; a rule names one of these strings.
AGE_BANDS: tuple[tuple[int, int, str], ...] = (
    (0, 17, "0-17"),
    (18, 25, "18-25"),
    (26, 35, "26-35"),
    (36, 50, "36-50"),
    (51, 65, "51-65"),
    (66, 200, "66+"),
)


def age_band(age: int) -> str:
    """The band ("18-25", "66+"...) an age in years falls in."""
    for low, high, label in AGE_BANDS:
        if low <= age <= high:
            return label
    return AGE_BANDS[-1][2]


def field_kind(field: str) -> str | None:
    """The kind of value an attribute holds ("text", "number", "boolean"); None if unknown."""
    if field in TEXT_FIELDS:
        return "text"
    if field in NUMBER_FIELDS:
        return "number"
    if field in BOOLEAN_FIELDS:
        return "boolean"
    if field.startswith(ANSWER_PREFIX) and len(field) > len(ANSWER_PREFIX):
        return "boolean"
    return None


OPERATORS = {"text": TEXT_OPS, "number": NUMBER_OPS, "boolean": BOOLEAN_OPS}


def _n(message: str) -> str:
    """Mark `message` for the translation catalogue; the officer's page translates it."""
    return message


@dataclass(frozen=True)
class RuleProblem:
    """One thing wrong with a rule, where it is, and its words (a catalogue message).

    `condition` is the 1-based condition it concerns (None: the rule as a whole), `part` what
    of it ("attribute", "operator", "value"; "name" for the rule's name), `message` a
    catalogue message with `%(name)s` placeholders filled from `params`.
    """

    condition: int | None
    part: str | None
    message: str
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def text(self) -> str:
        """The problem in English (the CLI, logs, screening's explanations)."""
        return self.message % self.params if self.params else self.message


def _conditions_list(conditions: object) -> list[Any] | None:
    if not isinstance(conditions, dict):
        return None
    items = conditions.get("all")
    return items if isinstance(items, list) else None


def _value_problem(index: int, attribute: str, kind: str, op: str, value: object) -> str | None:
    if kind == "text":
        if op in ("in", "not_in"):
            if (
                not isinstance(value, list)
                or not value
                or not all(isinstance(v, str) and v.strip() for v in value)
            ):
                return _n("Condition %(index)d (%(field)s): give a list of one or more values")
            return None
        if not isinstance(value, str) or not value.strip():
            return _n("Condition %(index)d (%(field)s): give a value")
        if attribute == "age_band" and value not in {band for _, _, band in AGE_BANDS}:
            return _n("Condition %(index)d (%(field)s): age band must be one of %(bands)s")
        return None
    if kind == "number":
        if isinstance(value, bool) or not isinstance(value, int | float):
            return _n("Condition %(index)d (%(field)s): give a number")
        return None
    if not isinstance(value, bool):
        return _n("Condition %(index)d (%(field)s): give true or false")
    return None


def rule_problems(conditions: object) -> list[RuleProblem]:
    """Every problem with a rule's conditions, each placed on its condition; [] when valid.

    The guard against profiling lives here: a rule must combine two different attributes,
    and not only sex and age band. Every way of saving a rule (the back office's builder,
    its JSON import) goes through this check, and screening checks it again.
    """
    items = _conditions_list(conditions)
    if items is None:
        return [
            RuleProblem(
                None,
                None,
                _n('Conditions must be an object with a list of conditions under "all"'),
            )
        ]
    problems: list[RuleProblem] = []
    fields: set[str] = set()
    for index, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            problems.append(
                RuleProblem(
                    index,
                    "attribute",
                    _n("Condition %(index)d must be an object with field, op and value"),
                    {"index": index},
                )
            )
            continue
        attribute = item.get("field")
        op = item.get("op")
        kind = field_kind(attribute) if isinstance(attribute, str) else None
        if kind is None:
            problems.append(
                RuleProblem(
                    index,
                    "attribute",
                    _n("Condition %(index)d: unknown attribute %(field)s"),
                    {"index": index, "field": repr(attribute)},
                )
            )
            continue
        assert isinstance(attribute, str)  # noqa: S101  (a known kind is a string's)
        allowed = OPERATORS[kind]
        where = {"index": index, "field": attribute}
        if op not in allowed:
            problems.append(
                RuleProblem(
                    index,
                    "operator",
                    _n("Condition %(index)d (%(field)s): operator must be one of %(operators)s"),
                    {**where, "operators": ", ".join(sorted(allowed))},
                )
            )
            continue
        message = _value_problem(index, attribute, kind, str(op), item.get("value"))
        if message is not None:
            params = dict(where)
            if "%(bands)s" in message:
                params["bands"] = ", ".join(band for _, _, band in AGE_BANDS)
            problems.append(RuleProblem(index, "value", message, params))
        fields.add(attribute)
    if len(fields) < 2:
        problems.append(
            RuleProblem(
                None, "attribute", _n("A rule must combine at least two different attributes")
            )
        )
    elif fields <= PROTECTED_FIELDS:
        problems.append(
            RuleProblem(
                None, "attribute", _n("A rule may not use sex or age alone: add another attribute")
            )
        )
    return problems


def validate_conditions(conditions: dict[str, Any]) -> list[str]:
    """Problems with a rule's conditions, in words for an officer; [] when the rule is valid."""
    return [problem.text for problem in rule_problems(conditions)]


def _normalise(value: object) -> object:
    return value.strip().casefold() if isinstance(value, str) else value


def _condition_holds(item: dict[str, Any], facts: dict[str, Any]) -> bool:
    field = item["field"]
    op = item["op"]
    expected = item.get("value")
    if field.startswith(ANSWER_PREFIX):
        actual: object = facts.get("answers", {}).get(field.removeprefix(ANSWER_PREFIX))
    else:
        actual = facts.get(field)
    if actual is None:
        # A fact the applicant did not give cannot satisfy a condition (nor its negation).
        return False
    if op in ("in", "not_in"):
        found = _normalise(actual) in {_normalise(v) for v in expected or []}
        return found if op == "in" else not found
    if op == "contains":
        return isinstance(actual, str) and str(_normalise(expected)) in str(_normalise(actual))
    if op == "eq":
        return _normalise(actual) == _normalise(expected)
    if op == "ne":
        return _normalise(actual) != _normalise(expected)
    if not isinstance(actual, int | float) or not isinstance(expected, int | float):
        return False
    if op == "lt":
        return actual < expected
    if op == "lte":
        return actual <= expected
    if op == "gt":
        return actual > expected
    if op == "gte":
        return actual >= expected
    return False


def rule_matches(conditions: dict[str, Any], facts: dict[str, Any]) -> bool:
    """True when every condition holds for these facts.

    An invalid rule does not match here; screening checks validity first and refers the
    application with a `check_failed` finding naming the rule (fail closed).
    """
    if validate_conditions(conditions):
        return False
    items = _conditions_list(conditions) or []
    return all(_condition_holds(item, facts) for item in items)


class ApplicantLike(Protocol):
    """The attributes of an application the rules can see (the model satisfies it)."""

    nationality: str
    address_country: str
    date_of_birth: dt.date
    sex: str
    occupation: str
    travel_purpose: str
    answers: dict[str, Any]
    passport_issuing_country: str
    passport_issue_date: dt.date
    passport_expiry_date: dt.date
    passport_mrz: str | None
    intended_arrival: dt.date


def _age_on(birth: dt.date, day: dt.date) -> int:
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def _months_between(start: dt.date, end: dt.date) -> int:
    months = (end.year - start.year) * 12 + end.month - start.month
    return months - (end.day < start.day)


def applicant_facts(application: ApplicantLike, today: dt.date | None = None) -> dict[str, Any]:
    """The facts a rule is matched against, from an application (age taken on arrival day)."""
    on = application.intended_arrival or today or dt.datetime.now(dt.UTC).date()
    answers = {
        key: value for key, value in (application.answers or {}).items() if isinstance(value, bool)
    }
    return {
        "nationality": application.nationality,
        "country_of_residence": application.address_country,
        "age_band": age_band(_age_on(application.date_of_birth, on)),
        "sex": application.sex,
        "occupation": application.occupation,
        "travel_purpose": application.travel_purpose,
        "answers": answers,
        "document.issuing_country": application.passport_issuing_country,
        "document.months_to_expiry": _months_between(on, application.passport_expiry_date),
        "document.validity_years": (
            application.passport_expiry_date - application.passport_issue_date
        ).days
        // 365,
        "document.mrz_provided": bool(
            application.passport_mrz and application.passport_mrz.strip()
        ),
    }


def describe_conditions(conditions: dict[str, Any]) -> str:
    """The conditions in one line for explanations: "nationality in XXX, YYY and purpose = x"."""
    words = {
        "eq": "=",
        "ne": "≠",
        "in": "in",
        "not_in": "not in",
        "contains": "contains",
        "lt": "<",
        "lte": "≤",
        "gt": ">",
        "gte": "≥",
    }
    parts = []
    for item in _conditions_list(conditions) or []:
        if not isinstance(item, dict):
            continue
        value = item.get("value")
        shown = ", ".join(map(str, value)) if isinstance(value, list) else str(value)
        parts.append(
            f"{item.get('field')} {words.get(str(item.get('op')), item.get('op'))} {shown}"
        )
    return " and ".join(parts)
