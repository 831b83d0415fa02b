"""The back office's forms: the rule builder's rows, the guard on its field, field errors."""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from eta.extensions import db
from eta.models import RiskRule, RiskRuleVersion
from eta.officer.forms import condition_value, value_text
from tests.officer.conftest import Staff, csrf_token

SignedIn = Callable[..., tuple[FlaskClient, Staff]]


def _rows(*rows: tuple[str, str, str]) -> dict[str, str]:
    data = {}
    for index, (attribute, operator, value) in enumerate(rows):
        data[f"condition-{index}-attribute"] = attribute
        data[f"condition-{index}-operator"] = operator
        data[f"condition-{index}-value"] = value
    return data


def test_typed_values_become_the_rules_json_values() -> None:
    assert condition_value("nationality", "in", " FRA, ,SWE ") == ["FRA", "SWE"]
    assert condition_value("document.months_to_expiry", "lt", "6") == 6
    assert condition_value("document.validity_years", "gte", "2.5") == 2.5
    assert condition_value("document.validity_years", "gte", "nan") == "nan"  # refused later
    assert condition_value("answers.criminal_conviction", "eq", "Yes") is True
    assert condition_value("document.mrz_provided", "eq", "no") is False
    assert condition_value("travel_purpose", "eq", "business") == "business"
    assert value_text(["FRA", "SWE"]) == "FRA, SWE"
    assert value_text(True) == "yes"


def test_the_builder_saves_a_rule_and_blank_rows_are_ignored(
    app: Flask, signed_in: SignedIn
) -> None:
    client, staff = signed_in("supervisor")
    response = client.post(
        "/officer/rules",
        data={
            "csrf_token": csrf_token(client, "/officer/rules"),
            "name": "  Business travel from two countries ",
            **_rows(
                ("nationality", "in", "FRA, SWE"),
                ("", "eq", ""),
                ("travel_purpose", "eq", "business"),
            ),
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    with app.app_context():
        rule = db.session.scalars(select(RiskRule)).one()
        version = db.session.scalars(select(RiskRuleVersion)).one()
        assert rule.name == "Business travel from two countries" and not rule.enabled
        assert version.conditions == {
            "all": [
                {"field": "nationality", "op": "in", "value": ["FRA", "SWE"]},
                {"field": "travel_purpose", "op": "eq", "value": "business"},
            ]
        }
        assert version.created_by_id == staff.id
    exported = client.get(f"/officer/rules/{rule.id}/conditions.json")
    assert exported.status_code == 200 and exported.get_json() == version.conditions
    assert "attachment" in exported.headers["Content-Disposition"]


def test_each_problem_is_said_on_its_field_in_the_officers_language(
    app: Flask, signed_in: SignedIn
) -> None:
    client, _staff = signed_in("supervisor")
    token = csrf_token(client, "/officer/rules")
    guarded = client.post(
        "/officer/rules",
        headers={"Accept-Language": "fr"},
        data={
            "csrf_token": token,
            "name": "Jeunes hommes",
            **_rows(("sex", "eq", "M"), ("age_band", "eq", "18-25")),
        },
    )
    assert guarded.status_code == 400
    page = guarded.get_data(as_text=True)
    assert (
        'id="condition-0-attribute-error"><span class="eta-visually-hidden">Erreur'
        in page.replace("\u00a0", " ")
        or 'id="condition-0-attribute-error">' in page
    )
    assert "ne peut pas porter sur le sexe ou l’âge seuls" in page
    assert 'href="#condition-0-attribute"' in page
    # A value of the wrong kind is said on that condition's value, and what was typed is kept.
    wrong = client.post(
        "/officer/rules",
        data={
            "csrf_token": token,
            "name": "Short passports",
            **_rows(("document.months_to_expiry", "lt", "six"), ("nationality", "eq", "FRA")),
        },
    )
    assert wrong.status_code == 400
    page = wrong.get_data(as_text=True)
    assert 'id="condition-0-value-error"' in page
    assert "Condition 1 (document.months_to_expiry): give a number" in page
    assert 'value="six"' in page
    # An operator a text attribute cannot take is refused on the operator.
    bad_op = client.post(
        "/officer/rules",
        data={
            "csrf_token": token,
            "name": "Odd",
            **_rows(("nationality", "gt", "FRA"), ("occupation", "eq", "pilot")),
        },
    )
    assert bad_op.status_code == 400 and 'id="condition-0-operator-error"' in bad_op.get_data(
        as_text=True
    )
    with app.app_context():
        assert db.session.scalars(select(RiskRule)).all() == []


def test_add_another_condition_keeps_what_was_typed(app: Flask, signed_in: SignedIn) -> None:
    client, _staff = signed_in("supervisor")
    response = client.post(
        "/officer/rules",
        data={
            "csrf_token": csrf_token(client, "/officer/rules"),
            "name": "Growing",
            "add_condition": "1",
            **_rows(("nationality", "eq", "FRA"), ("", "eq", "")),
        },
    )
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert 'id="condition-2-attribute"' in page and 'value="FRA"' in page
    with app.app_context():
        assert db.session.scalars(select(RiskRule)).all() == []


def test_a_new_version_comes_from_the_builder_and_json_still_imports(
    app: Flask, signed_in: SignedIn
) -> None:
    client, _staff = signed_in("supervisor")
    token = csrf_token(client, "/officer/rules")
    created = client.post(
        "/officer/rules",
        data={
            "csrf_token": token,
            "name": "Imported",
            "conditions": '{"all": [{"field": "nationality", "op": "eq", "value": "FRA"},'
            ' {"field": "answers.criminal_conviction", "op": "eq", "value": true}]}',
        },
    )
    assert created.status_code == 302
    page = client.get(created.location).get_data(as_text=True)
    # The imported rule shows in the builder, its yes/no value as "yes".
    assert 'id="condition-1-value"' in page and 'value="yes"' in page
    rule_id = int(created.location.rstrip("/").rsplit("/", 1)[1])
    saved = client.post(
        f"/officer/rules/{rule_id}",
        data={
            "csrf_token": token,
            **_rows(("nationality", "eq", "SWE"), ("answers.criminal_conviction", "eq", "no")),
        },
    )
    assert saved.status_code == 302
    broken = client.post(
        f"/officer/rules/{rule_id}", data={"csrf_token": token, "conditions": "[1, 2]"}
    )
    assert broken.status_code == 400
    assert 'id="conditions-error"' in broken.get_data(as_text=True)
    with app.app_context():
        versions = db.session.scalars(
            select(RiskRuleVersion).order_by(RiskRuleVersion.number)
        ).all()
    assert [v.number for v in versions] == [1, 2]
    assert versions[1].conditions["all"][1] == {
        "field": "answers.criminal_conviction",
        "op": "eq",
        "value": False,
    }


def test_case_forms_show_their_errors_on_the_field(
    app: Flask, signed_in: SignedIn, make_case: Callable[..., int]
) -> None:
    case_id = make_case()
    client, _staff = signed_in()
    token = csrf_token(client, f"/officer/cases/{case_id}")
    response = client.post(
        f"/officer/cases/{case_id}/refuse",
        data={"csrf_token": token, "reason_code": "made_up", "note": " "},
    )
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert 'id="reason_code-error"' in page and "Choose a reason for refusing" in page
    assert 'id="note-error"' in page and "Write a note for the record" in page
    assert 'href="#note"' in page
    empty = client.post(
        f"/officer/cases/{case_id}/request-information",
        data={"csrf_token": token, "questions": ""},
    )
    assert empty.status_code == 400
    assert "Write the questions for the traveller." in empty.get_data(as_text=True)


def test_watchlist_and_officer_forms_check_before_the_verbs(signed_in: SignedIn) -> None:
    supervisor, _s = signed_in("supervisor")
    token = csrf_token(supervisor, "/officer/watchlists")
    person = supervisor.post(
        "/officer/watchlists/manual",
        data={
            "csrf_token": token,
            "full_name": "",
            "date_of_birth": "1966-13",
            "nationality": "GER",
        },
    )
    assert person.status_code == 400
    page = person.get_data(as_text=True)
    assert "Enter a full name" in page
    assert "Enter the date of birth as a year (YYYY) or a date (YYYY-MM-DD)" in page
    assert "Enter a country code from the passport, for example FRA" in page
    admin, _a = signed_in("admin")
    token = csrf_token(admin, "/officer/admin/officers")
    short = admin.post(
        "/officer/admin/officers",
        data={"csrf_token": token, "email": "new@border.test", "password": "short", "role": "boss"},
    )
    assert short.status_code == 400
    page = short.get_data(as_text=True)
    assert "The password must be at least 12 characters" in page and "Choose a role" in page


def test_filters_that_do_not_read_are_said_and_ignored(signed_in: SignedIn) -> None:
    client, _staff = signed_in()
    page = client.get("/officer/?nationality=GER&scope=everything")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "Enter a country code from the passport, for example FRA" in text
    # Germany's one-letter passport code is read as DEU.
    assert 'value="DEU"' in client.get("/officer/?nationality=D").get_data(as_text=True)
