"""Officer-defined risk rules, kept as versioned data."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from eta.models.base import Base
from eta.timeutil import utcnow


class RiskRule(Base):
    """A named rule; its conditions live in versions so every hit names the exact one applied."""

    __tablename__ = "risk_rules"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    description: Mapped[str | None] = mapped_column(Text)
    enabled: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    current_version_id: Mapped[int | None] = mapped_column(
        ForeignKey("risk_rule_versions.id", use_alter=True, name="fk_rules_current_version")
    )


class RiskRuleVersion(Base):
    """One immutable version of a rule's conditions."""

    __tablename__ = "risk_rule_versions"
    __table_args__ = (
        UniqueConstraint("rule_id", "number", name="uq_risk_rule_versions_rule_number"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    rule_id: Mapped[int] = mapped_column(ForeignKey("risk_rules.id", ondelete="CASCADE"))
    number: Mapped[int]
    # {"all": [{"field": "nationality", "op": "in", "value": ["XXX"]}, {...}]}
    conditions: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("officers.id"))
