"""Officer roles: each includes the powers of the ones before it (see Role)."""

from __future__ import annotations

from eta.models import Officer, Role

ROLE_RANK = {Role.OFFICER.value: 1, Role.SUPERVISOR.value: 2, Role.ADMIN.value: 3}


def has_role(officer: Officer, role: Role) -> bool:
    """True when `officer`'s role is `role` or a more powerful one."""
    return ROLE_RANK.get(officer.role, 0) >= ROLE_RANK[role.value]
