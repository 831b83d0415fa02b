"""Risk rules as data: validation in officers' words, matching, and the facts of an applicant."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest

from eta.screening.rules import (
    age_band,
    applicant_facts,
    describe_conditions,
    rule_matches,
    validate_conditions,
)

NATIONALITY_AND_PURPOSE = {
    "all": [
        {"field": "nationality", "op": "in", "value": ["XXA", "XXB"]},
        {"field": "travel_purpose", "op": "eq", "value": "business"},
    ]
}


def _facts(**overrides):
    facts = {
        "nationality": "XXA",
        "country_of_residence": "XXA",
        "age_band": "26-35",
        "sex": "F",
        "occupation": "Chemical engineer",
        "travel_purpose": "business",
        "answers": {"criminal_conviction": False},
        "document.issuing_country": "XXA",
        "document.months_to_expiry": 40,
        "document.validity_years": 9,
        "document.mrz_provided": False,
    }
    facts.update(overrides)
    return facts


def test_a_rule_combining_two_attributes_is_valid_and_matches():
    assert validate_conditions(NATIONALITY_AND_PURPOSE) == []
    assert rule_matches(NATIONALITY_AND_PURPOSE, _facts())
    assert not rule_matches(NATIONALITY_AND_PURPOSE, _facts(travel_purpose="tourism"))
    assert not rule_matches(NATIONALITY_AND_PURPOSE, _facts(nationality="SWE"))


@pytest.mark.parametrize(
    ("conditions", "message"),
    [
        (
            {"all": [{"field": "nationality", "op": "in", "value": ["XXA"]}]},
            "A rule must combine at least two different attributes",
        ),
        (
            {
                "all": [
                    {"field": "sex", "op": "eq", "value": "M"},
                    {"field": "age_band", "op": "eq", "value": "18-25"},
                ]
            },
            "A rule may not use sex or age alone: add another attribute",
        ),
        (
            {
                "all": [
                    {"field": "sex", "op": "eq", "value": "M"},
                    {"field": "sex", "op": "ne", "value": "F"},
                ]
            },
            "A rule must combine at least two different attributes",
        ),
        ({"any": []}, 'Conditions must be an object with a list of conditions under "all"'),
    ],
)
def test_rules_that_profile_or_say_too_little_are_refused(conditions, message):
    assert message in validate_conditions(conditions)
    assert not rule_matches(conditions, _facts())


def test_each_bad_condition_is_named():
    problems = validate_conditions(
        {
            "all": [
                {"field": "religion", "op": "eq", "value": "x"},
                {"field": "nationality", "op": "between", "value": "x"},
                {"field": "occupation", "op": "in", "value": []},
                {"field": "document.months_to_expiry", "op": "lt", "value": "six"},
                {"field": "age_band", "op": "eq", "value": "20-30"},
            ]
        }
    )
    assert problems[0] == "Condition 1: unknown attribute 'religion'"
    assert problems[1].startswith("Condition 2 (nationality): operator must be one of")
    assert problems[2] == "Condition 3 (occupation): give a list of one or more values"
    assert problems[3] == "Condition 4 (document.months_to_expiry): give a number"
    assert problems[4].startswith("Condition 5 (age_band): age band must be one of")


def test_answers_numbers_and_text_operators():
    conditions = {
        "all": [
            {"field": "answers.conflict_zone_travel", "op": "eq", "value": True},
            {"field": "occupation", "op": "contains", "value": "chemical"},
            {"field": "document.months_to_expiry", "op": "lt", "value": 6},
        ]
    }
    assert validate_conditions(conditions) == []
    facts = _facts(answers={"conflict_zone_travel": True}, **{"document.months_to_expiry": 3})
    assert rule_matches(conditions, facts)
    assert not rule_matches(conditions, _facts(**{"document.months_to_expiry": 3}))
    assert describe_conditions(conditions) == (
        "answers.conflict_zone_travel = True and occupation contains chemical and "
        "document.months_to_expiry < 6"
    )


def test_applicant_facts_from_an_application():
    application = SimpleNamespace(
        nationality="SWE",
        address_country="NOR",
        date_of_birth=dt.date(2000, 6, 1),
        sex="F",
        occupation="Teacher",
        travel_purpose="tourism",
        answers={"criminal_conviction": False, "criminal_conviction_details": None},
        passport_issuing_country="SWE",
        passport_issue_date=dt.date(2020, 1, 1),
        passport_expiry_date=dt.date(2030, 1, 1),
        passport_mrz=None,
        intended_arrival=dt.date(2026, 5, 31),
    )
    facts = applicant_facts(application)
    assert facts["age_band"] == "18-25"
    assert facts["country_of_residence"] == "NOR"
    assert facts["answers"] == {"criminal_conviction": False}
    assert facts["document.months_to_expiry"] == 43
    assert facts["document.validity_years"] == 10
    assert facts["document.mrz_provided"] is False


def test_age_bands():
    assert [age_band(a) for a in (5, 18, 25, 26, 50, 65, 66)] == [
        "0-17",
        "18-25",
        "18-25",
        "26-35",
        "36-50",
        "51-65",
        "66+",
    ]
