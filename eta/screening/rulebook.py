"""Risk rules in the database: create a rule, save a new version of it, enable or disable it.

Each verb checks the rule (`eta.screening.rules.rule_problems`, the guard against rules on sex
or age alone included) and writes the change with its audit record in the caller's
transaction; the caller commits. A refused rule raises `InvalidRule` with every problem.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from eta import audit
from eta.models import RiskRule, RiskRuleVersion
from eta.models.base import SessionLike
from eta.screening.rules import RuleProblem, rule_problems

NAME_MAX = 100  # the column's length


def _n(message: str) -> str:
    """Mark `message` for the translation catalogue; the officer's page translates it."""
    return message


class InvalidRule(ValueError):
    """The rule was not saved; `problems` says why, each placed on its part of the rule."""

    def __init__(self, problems: list[RuleProblem]) -> None:
        super().__init__("; ".join(problem.text for problem in problems))
        self.problems = problems


def _name_problems(session: SessionLike, name: str) -> list[RuleProblem]:
    if not name:
        return [RuleProblem(None, "name", _n("Enter a name for the rule"))]
    if len(name) > NAME_MAX:
        return [
            RuleProblem(
                None,
                "name",
                _n("The name must be %(count)d characters or fewer"),
                {"count": NAME_MAX},
            )
        ]
    if session.scalar(select(RiskRule.id).where(RiskRule.name == name)) is not None:
        return [RuleProblem(None, "name", _n("A rule with this name already exists"))]
    return []


def create_rule(
    session: SessionLike,
    *,
    name: str,
    description: str | None,
    conditions: dict[str, Any],
    officer_id: int | None,
    actor: str,
) -> RiskRule:
    """Create a rule, disabled, with its first version (dry-run it before enabling it)."""
    name = " ".join(name.split())
    problems = _name_problems(session, name) + rule_problems(conditions)
    if problems:
        raise InvalidRule(problems)
    rule = RiskRule(name=name, description=(description or "").strip() or None, enabled=False)
    session.add(rule)
    session.flush()
    version = RiskRuleVersion(
        rule_id=rule.id, number=1, conditions=conditions, created_by_id=officer_id
    )
    session.add(version)
    session.flush()
    rule.current_version_id = version.id
    audit.record(
        session,
        "rule.created",
        actor=actor,
        object_type="risk_rule",
        object_id=rule.id,
        details={"version": 1},
    )
    return rule


def add_version(
    session: SessionLike,
    rule: RiskRule,
    *,
    conditions: dict[str, Any],
    officer_id: int | None,
    actor: str,
) -> RiskRuleVersion:
    """Save changed conditions as the rule's next version (screening uses it from now on)."""
    problems = rule_problems(conditions)
    if problems:
        raise InvalidRule(problems)
    number = (
        session.scalar(
            select(func.max(RiskRuleVersion.number)).where(RiskRuleVersion.rule_id == rule.id)
        )
        or 0
    ) + 1
    version = RiskRuleVersion(
        rule_id=rule.id, number=number, conditions=conditions, created_by_id=officer_id
    )
    session.add(version)
    session.flush()
    rule.current_version_id = version.id
    audit.record(
        session,
        "rule.version_created",
        actor=actor,
        object_type="risk_rule",
        object_id=rule.id,
        details={"version": number},
    )
    return version


def set_enabled(session: SessionLike, rule: RiskRule, enabled: bool, *, actor: str) -> None:
    """Enable or disable a rule (screening applies enabled rules' current versions)."""
    rule.enabled = enabled
    audit.record(
        session,
        "rule.enabled" if enabled else "rule.disabled",
        actor=actor,
        object_type="risk_rule",
        object_id=rule.id,
    )
