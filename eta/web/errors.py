"""Error pages: the GOV.UK-style HTML page for people, problem+json under /api/ for programs."""

from __future__ import annotations

import logging
import sqlite3

import sqlalchemy.exc
from flask import Flask, Response, current_app, g, render_template, request
from flask_babel import gettext as _
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from werkzeug.exceptions import HTTPException, SecurityError

from eta.web.problems import PROBLEM_BASE, Problem, problem_response

log = logging.getLogger(__name__)


def _wants_problem() -> bool:
    return request.path.startswith("/api/") or request.path.startswith("/.well-known/")


def _titles() -> dict[int, tuple[str, str]]:
    # Built per request so the titles come out in the visitor's language.
    return {
        400: (
            _("Sorry, there is a problem with your request"),
            _("Check what you entered and try again."),
        ),
        401: (_("You need to sign in"), _("Sign in to see this page.")),
        403: (
            _("You do not have permission to see this page"),
            _("Ask an administrator if you need access."),
        ),
        404: (_("Page not found"), _("If you typed the web address, check it is correct.")),
        405: (
            _("This action is not allowed here"),
            _("Go back and try again from the service's pages."),
        ),
        413: (_("What you sent is too large"), _("Send less than 1 MB at once.")),
        415: (
            _("This type of content is not accepted"),
            _("Send JSON with Content-Type: application/json."),
        ),
        422: (
            _("Sorry, there is a problem with your request"),
            _("Check what you entered and try again."),
        ),
        429: (
            _("Too many attempts"),
            _("You have tried too many times. Wait a few minutes, then try again."),
        ),
        500: (
            _("Sorry, there is a problem with the service"),
            _("Try again later. Your answers have been saved."),
        ),
        503: (_("Sorry, the service is unavailable"), _("Try again later.")),
    }


def _render(code: int, description: str | None = None) -> tuple[str, int]:
    title, hint = _titles().get(code, (_("Sorry, there is a problem"), _("Try again later.")))
    return render_template("errors/error.html", code=code, title=title, hint=hint), code


def handle_http_exception(error: HTTPException) -> Response | tuple[str, int]:
    """Answer a werkzeug HTTP error in the form the client expects."""
    code = error.code or 500
    if isinstance(error, SecurityError):
        # A Host outside TRUSTED_HOSTS: no URL can be built for it, so no page that links
        # anywhere; a plain answer that names nothing of the request.
        return problem_response(400, "Bad Request", "This host name is not served here.")
    if _wants_problem():
        headers = {}
        if code == 405 and error.valid_methods:  # type: ignore[attr-defined]
            headers["Allow"] = ", ".join(error.valid_methods)  # type: ignore[attr-defined]
        return problem_response(code, error.name, error.description, headers=headers)
    return _render(code)


def handle_problem(problem: Problem) -> Response | tuple[str, int, dict[str, str]]:
    """Answer a Problem raised by a view (a page keeps its Retry-After, as for 429 and 503)."""
    if _wants_problem():
        return problem.to_response()
    page, code = _render(problem.status)
    retry = {name: value for name, value in problem.headers.items() if name == "Retry-After"}
    return page, code, retry


# SQLite's errors that mean "try again" (a writer holds the lock past the busy timeout, the
# file cannot be opened), not a bug such as "no such table", which stays a 500.
_SQLITE_UNAVAILABLE = ("database is locked", "unable to open database file", "disk i/o error")


def _is_unavailable(error: BaseException) -> bool:
    """Whether `error` itself means the database or Redis cannot be reached or is overloaded."""
    if isinstance(error, RedisConnectionError | RedisTimeoutError):
        return True  # BusyLoadingError (Redis loading its data) is a ConnectionError too
    if isinstance(error, sqlalchemy.exc.TimeoutError):
        return True  # every pooled connection busy for pool_timeout seconds
    if isinstance(error, sqlalchemy.exc.DBAPIError) and error.connection_invalidated:
        return True  # the server dropped the connection (restart, failover)
    if isinstance(error, sqlalchemy.exc.OperationalError | sqlalchemy.exc.InterfaceError):
        if isinstance(error.orig, sqlite3.Error):
            return str(error.orig).lower().startswith(_SQLITE_UNAVAILABLE)
        # PostgreSQL (psycopg): refused or lost connections, the server shutting down or in
        # recovery, statement_timeout, too many clients. Its programming errors are others.
        return True
    return False


def unavailable_cause(error: BaseException) -> BaseException | None:
    """The failure to reach the database or Redis behind `error`, if there is one.

    Follows the chain of causes a few links down: a failure while handling a lost connection
    (a rollback on it, say) is the same outage.
    """
    seen: BaseException | None = error
    for _link in range(5):
        if seen is None:
            return None
        if _is_unavailable(seen):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


def unavailable_response(cause: BaseException) -> Response | tuple[str, int, dict[str, str]]:
    """503 with Retry-After: problem+json for programs, the error page in the visitor's language.

    Logs the failure's kind only: a driver's message can quote the statement.
    """
    log.warning(
        "dependency unavailable on %s %s: %s",
        request.method,
        request.url_rule,
        type(cause).__name__,
    )
    headers = {"Retry-After": str(current_app.config["ETA_RETRY_AFTER_SECONDS"])}
    g.eta_retry_after = headers["Retry-After"]  # see keep_retry_after
    if _wants_problem():
        return problem_response(
            503,
            "Service Unavailable",
            "The service is unavailable for a moment. "
            "Retry after the number of seconds in Retry-After.",
            type_=PROBLEM_BASE + "unavailable",
            headers=headers,
        )
    manager = getattr(current_app, "login_manager", None)
    if manager is not None and "_login_user" not in g:
        # Flask-Login's template context loads the signed-in user, a database read that would
        # fail again while rendering this page: the page is shown as to a visitor.
        g._login_user = manager.anonymous_user()
    page, code = _render(503)
    return page, code, headers


def handle_unexpected(
    error: Exception,
) -> Response | tuple[str, int] | tuple[str, int, dict[str, str]]:
    """Log an unexpected failure (without request data) and answer 500 without a stack trace.

    A failure to reach the database or Redis is no bug of ours: 503 with Retry-After.
    """
    if isinstance(error, HTTPException):
        return handle_http_exception(error)
    cause = unavailable_cause(error)
    if cause is not None:
        return unavailable_response(cause)
    log.exception("unhandled error on %s %s", request.method, request.url_rule)
    if _wants_problem():
        return problem_response(500, "Internal Server Error", "Something went wrong on our side.")
    return _render(500)


def keep_retry_after(response: Response) -> Response:
    """Give a 503 the Retry-After it was answered with.

    Flask-Limiter, with its headers on, sets Retry-After on every answer of a limited route to
    when its window resets (up to an hour away): wrong for an outage, which the client should
    retry after ETA_RETRY_AFTER_SECONDS. Registered to run after the limiter's hook.
    """
    wanted = g.pop("eta_retry_after", None)
    if wanted is not None and response.status_code == 503:
        response.headers["Retry-After"] = wanted
    return response


def init_app(app: Flask) -> None:
    """Register the error handlers."""
    # After-request hooks run last-registered first: at the head of the list, this one runs
    # after every other (the rate limiter's included).
    app.after_request_funcs.setdefault(None, []).insert(0, keep_retry_after)
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(Problem, handle_problem)
    app.register_error_handler(Exception, handle_unexpected)
