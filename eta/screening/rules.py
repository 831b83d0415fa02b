"""Risk rules as data: validating an officer's conditions and matching them against applicant facts.

A rule's conditions are JSON: `{"all": [{"field": "nationality", "op": "in", "value": ["XXX"]},
{"field": "travel_purpose", "op": "eq", "value": "business"}]}`. Every condition must hold for the
rule to match. A rule must combine at least two different attributes, and at least one of them
must be something other than sex or age band: nobody is referred for who they are alone.
"""

from __future__ import annotations

import datetime as dt
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


def _field_kind(field: str) -> str | None:
    if field in TEXT_FIELDS:
        return "text"
    if field in NUMBER_FIELDS:
        return "number"
    if field in BOOLEAN_FIELDS:
        return "boolean"
    if field.startswith(ANSWER_PREFIX) and len(field) > len(ANSWER_PREFIX):
        return "boolean"
    return None


def _conditions_list(conditions: object) -> list[Any] | None:
    if not isinstance(conditions, dict):
        return None
    items = conditions.get("all")
    return items if isinstance(items, list) else None


def _validate_value(index: int, field: str, kind: str, op: str, value: object) -> list[str]:
    where = f"Condition {index} ({field})"
    if kind == "text":
        if op in ("in", "not_in"):
            if (
                not isinstance(value, list)
                or not value
                or not all(isinstance(v, str) and v.strip() for v in value)
            ):
                return [f"{where}: give a list of one or more values"]
            return []
        if not isinstance(value, str) or not value.strip():
            return [f"{where}: give a value"]
        if field == "age_band" and value not in {band for _, _, band in AGE_BANDS}:
            bands = ", ".join(band for _, _, band in AGE_BANDS)
            return [f"{where}: age band must be one of {bands}"]
        return []
    if kind == "number":
        if isinstance(value, bool) or not isinstance(value, int | float):
            return [f"{where}: give a number"]
        return []
    if not isinstance(value, bool):
        return [f"{where}: give true or false"]
    return []


def validate_conditions(conditions: dict[str, Any]) -> list[str]:
    """Problems with a rule's conditions, in words for an officer; [] when the rule is valid."""
    items = _conditions_list(conditions)
    if items is None:
        return ['Conditions must be an object with a list of conditions under "all"']
    problems: list[str] = []
    fields: set[str] = set()
    for index, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            problems.append(f"Condition {index} must be an object with field, op and value")
            continue
        field = item.get("field")
        op = item.get("op")
        if not isinstance(field, str) or _field_kind(field) is None:
            problems.append(f"Condition {index}: unknown attribute {field!r}")
            continue
        kind = _field_kind(field)
        assert kind is not None  # noqa: S101  (checked just above)
        allowed = {"text": TEXT_OPS, "number": NUMBER_OPS, "boolean": BOOLEAN_OPS}[kind]
        if op not in allowed:
            problems.append(
                f"Condition {index} ({field}): operator must be one of {', '.join(sorted(allowed))}"
            )
            continue
        problems.extend(_validate_value(index, field, kind, str(op), item.get("value")))
        fields.add(field)
    if len(fields) < 2:
        problems.append("A rule must combine at least two different attributes")
    elif fields <= PROTECTED_FIELDS:
        problems.append("A rule may not use sex or age alone: add another attribute")
    return problems


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
