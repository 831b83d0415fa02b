"""RFC 9457 problem details: the one shape of every JSON API error."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from flask import Response, has_request_context, json
from flask_babel import get_locale
from flask_babel import gettext as _
from werkzeug import exceptions

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
    body: dict[str, Any] = {"type": type_, "title": localise(title), "status": status}
    if detail:
        body["detail"] = localise(detail)
    if errors is not None:
        body["errors"] = {
            path: [localise(text) for text in messages] for path, messages in errors.items()
        }
    response = Response(json.dumps(body), status=status, mimetype=PROBLEM_MIME)
    if has_request_context():
        response.headers["Content-Language"] = str(get_locale())
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


def _texts() -> dict[str, str]:
    """Problem texts as written in the code (and werkzeug's), in the client's language.

    Views raise problems in English, the language of the code, its tests and its logs; the
    answer speaks the client's Accept-Language. Built per call, so in the request's language.
    """
    return {
        # Reason phrases (RFC 9110; both names where werkzeug still uses the older one).
        "Bad Request": _("Bad Request"),
        "Unauthorized": _("Unauthorized"),
        "Forbidden": _("Forbidden"),
        "Not Found": _("Not Found"),
        "Method Not Allowed": _("Method Not Allowed"),
        "Conflict": _("Conflict"),
        "Content Too Large": _("Content Too Large"),
        "Request Entity Too Large": _("Content Too Large"),
        "Unsupported Media Type": _("Unsupported Media Type"),
        "Unprocessable Content": _("Unprocessable Content"),
        "Unprocessable Entity": _("Unprocessable Content"),
        "Too Many Requests": _("Too Many Requests"),
        "Internal Server Error": _("Internal Server Error"),
        "Service Unavailable": _("Service Unavailable"),
        # werkzeug's own descriptions, when a view aborts without one.
        exceptions.BadRequest.description: _("The request is not valid."),
        exceptions.Unauthorized.description: _("Sign in to use this address."),
        exceptions.Forbidden.description: _("You do not have permission to use this address."),
        exceptions.NotFound.description: _("Nothing is found at this address."),
        exceptions.MethodNotAllowed.description: _(
            "This method is not allowed at this address: see the Allow header."
        ),
        exceptions.RequestEntityTooLarge.description: _("Send less than 1 MB at once."),
        exceptions.TooManyRequests.description: _(
            "You have tried too many times. Wait a few minutes, then try again."
        ),
        exceptions.ServiceUnavailable.description: _("Try again later."),
        # eta's own.
        "Your request has errors": _("Your request has errors"),
        "Some fields are missing or not valid: see errors.": _(
            "Some fields are missing or not valid: see errors."
        ),
        "Something went wrong on our side.": _("Something went wrong on our side."),
        "Send the request body as JSON with Content-Type: application/json.": _(
            "Send the request body as JSON with Content-Type: application/json."
        ),
        "The request body is empty: send a JSON object.": _(
            "The request body is empty: send a JSON object."
        ),
        "The request body must be a JSON object.": _("The request body must be a JSON object."),
        "Send a JSON object, not a list or a single value.": _(
            "Send a JSON object, not a list or a single value."
        ),
        "Must not contain NUL or unpaired surrogate characters.": _(
            "Must not contain NUL or unpaired surrogate characters."
        ),
        "Must be a string.": _("Must be a string."),
        "Must be at most 100 characters.": _("Must be at most 100 characters."),
        "Enter your application reference.": _("Enter your application reference."),
        "Enter your passport number.": _("Enter your passport number."),
        "Enter your date of birth.": _("Enter your date of birth."),
        "Date of birth must be a real date written as YYYY-MM-DD.": _(
            "Date of birth must be a real date written as YYYY-MM-DD."
        ),
        "We could not find an application with those details.": _(
            "We could not find an application with those details."
        ),
        "Idempotency-Key must be 1 to 255 visible ASCII characters (no spaces).": _(
            "Idempotency-Key must be 1 to 255 visible ASCII characters (no spaces)."
        ),
        "This Idempotency-Key was already used with another request body: "
        "use a new key for a new application.": _(
            "This Idempotency-Key was already used with another request body: "
            "use a new key for a new application."
        ),
    }


# Texts with a value in them: the pattern of the English text, and its translation.
_PATTERNS: tuple[tuple[re.Pattern[str], Callable[[re.Match[str]], str]], ...] = (
    (
        re.compile(r"The body must be at most (\d+) bytes\.\Z"),
        lambda match: _("The body must be at most %(limit)s bytes.", limit=match[1]),
    ),
    (
        re.compile(r"The request body is not valid JSON: (.*)\Z", re.DOTALL),
        lambda match: _("The request body is not valid JSON: %(error)s", error=match[1]),
    ),
)


def localise(text: str) -> str:
    """A problem text in the client's language when the catalogue has it, else as written."""
    text = str(text)  # a lazy message (a domain error's) is translated here like the others
    translated = _texts().get(text)
    if translated is not None:
        return translated
    for pattern, translate in _PATTERNS:
        match = pattern.match(text)
        if match:
            return translate(match)
    return text
