"""The officer blueprint object and the role checks every officer page goes through."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from flask import Blueprint, abort
from flask_login import current_user

from eta.accounts.roles import has_role
from eta.models import Officer, Role

__all__ = ["blueprint", "has_role", "me", "role_required"]

blueprint = Blueprint("officer", __name__, url_prefix="/officer")

P = ParamSpec("P")
R = TypeVar("R")


def me() -> Officer:
    """The signed-in officer (views run only after the sign-in check)."""
    officer: Officer = current_user.officer
    return officer


def role_required(role: Role) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Let a view run only for a signed-in officer holding `role` (or a higher one); else 403."""

    def decorate(view: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(view)
        def guarded(*args: P.args, **kwargs: P.kwargs) -> R:
            if not current_user.is_authenticated:
                abort(401)
            if not has_role(me(), role):
                abort(403)
            return view(*args, **kwargs)

        guarded.required_role = role  # type: ignore[attr-defined]
        return guarded

    return decorate
