"""A supervisor builds a risk rule in the builder form, in a real Chromium.

The guard against a rule on sex or age alone answers on the attribute it concerns; a rule
that combines other attributes is saved, listed, and can be exported as JSON.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pyotp
import pytest
from flask import Flask
from sqlalchemy import select

from eta.extensions import db
from eta.models import RiskRule, RiskRuleVersion
from tests.accessibility import no_serious_violations
from tests.officer.conftest import PASSWORD, Staff, make_officer, password_hash  # noqa: F401  (fixtures)

pytestmark = pytest.mark.browser


def _sign_in(page: Any, staff: Staff) -> None:
    page.goto("/officer/sign-in")
    page.fill("#email", staff.email)
    page.fill("#password", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url("**/officer/sign-in/code")
    page.fill("#code", pyotp.TOTP(staff.secret).now())
    page.click("main button[type=submit]")
    page.wait_for_url("**/officer/")


def test_a_rule_is_built_in_the_form_and_the_guard_answers_on_the_field(
    app: Flask,
    browser: Any,
    live_server: str,
    make_officer: Callable[..., Staff],  # noqa: F811
) -> None:
    supervisor = make_officer("supervisor")
    # CSP bypassed only so the test can inject axe.
    page = browser.new_context(base_url=live_server, bypass_csp=True, locale="en-GB").new_page()
    _sign_in(page, supervisor)
    page.goto("/officer/rules")
    page.fill("#name", "Young men")
    page.select_option("#condition-0-attribute", "sex")
    page.select_option("#condition-0-operator", "eq")
    page.fill("#condition-0-value", "M")
    page.select_option("#condition-1-attribute", "age_band")
    page.select_option("#condition-1-operator", "eq")
    page.fill("#condition-1-value", "18-25")
    page.click("#create-rule")

    # Refused by the domain's guard, said on the attribute and in the summary, nothing saved.
    guard = "A rule may not use sex or age alone: add another attribute"
    assert guard in page.locator("#condition-0-attribute-error").inner_text()
    assert page.locator(".eta-error-summary a[href='#condition-0-attribute']").inner_text() == guard
    assert page.title().startswith("Error:")
    # What was typed is kept.
    assert page.locator("#condition-1-attribute").input_value() == "age_band"
    assert page.locator("#condition-1-value").input_value() == "18-25"
    no_serious_violations(page)
    with app.app_context():
        assert db.session.scalars(select(RiskRule)).all() == []

    # A third condition, added with "Add another condition", makes it a rule that may be saved.
    page.click("#add-condition")
    page.select_option("#condition-2-attribute", "nationality")
    page.select_option("#condition-2-operator", "in")
    page.fill("#condition-2-value", "FRA, SWE")
    page.fill("#name", "Young men from two countries")
    page.click("#create-rule")
    page.wait_for_url("**/officer/rules/*")
    assert "Rule created, disabled" in page.inner_text("main")
    exported = json.loads(page.locator("#exported").inner_text())
    assert exported == {
        "all": [
            {"field": "sex", "op": "eq", "value": "M"},
            {"field": "age_band", "op": "eq", "value": "18-25"},
            {"field": "nationality", "op": "in", "value": ["FRA", "SWE"]},
        ]
    }
    # The builder on the rule's page shows the saved conditions, ready to change.
    assert page.locator("#condition-2-value").input_value() == "FRA, SWE"
    no_serious_violations(page)

    page.goto("/officer/rules")
    row = page.locator("#rules tbody tr", has_text="Young men from two countries")
    assert row.count() == 1
    assert "nationality in FRA, SWE" in row.inner_text()
    with app.app_context():
        version = db.session.scalars(select(RiskRuleVersion)).one()
        assert version.conditions == exported
