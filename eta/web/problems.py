"""RFC 9457 problem details: the one shape of every JSON API error."""

from __future__ import annotations

from typing import Any

from flask import Response, json

PROBLEM_MIME = "application/problem+json"
PROBLEM_BASE = "https://eta.invalid/problems/"  # a stable URI namespace, not a live page


class Problem(Exception):
    """An API error to be answered as problem+json; raise it from any API view."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str | None = None,
        *,
        type_: str | None = None,
        errors: dict[str, list[str]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail or title)
        self.status = status
        self.title = title
        self.detail = detail
        self.type = type_ or "about:blank"
        self.errors = errors
        self.headers = headers or {}

    def to_response(self) -> Response:
        """Render this problem as an application/problem+json response."""
        return problem_response(
            self.status,
            self.title,
            self.detail,
            type_=self.type,
            errors=self.errors,
            headers=self.headers,
        )


def problem_response(
    status: int,
    title: str,
    detail: str | None = None,
    *,
    type_: str = "about:blank",
    errors: dict[str, list[str]] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    """Build a problem+json response with the RFC 9457 members eta uses."""
    body: dict[str, Any] = {"type": type_, "title": title, "status": status}
    if detail:
        body["detail"] = detail
    if errors is not None:
        body["errors"] = errors
    response = Response(json.dumps(body), status=status, mimetype=PROBLEM_MIME)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def validation_problem(errors: dict[str, list[str]]) -> Problem:
    """A 422 listing the messages for each field path (`passport.number`)."""
    return Problem(
        422,
        "Your request has errors",
        "Some fields are missing or not valid: see errors.",
        type_=PROBLEM_BASE + "validation",
        errors=errors,
    )
