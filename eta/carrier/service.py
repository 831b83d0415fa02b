"""Shared by the carrier API and the check-in page: reading passengers, keys, the query log."""

from __future__ import annotations

import datetime as dt
import logging
import re
import time
from collections.abc import Callable, Sequence
from typing import Any, TypeVar, cast

from flask import Flask, current_app
from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from eta import authorisations
from eta.authorisations.state import cached_revocations
from eta.carrier.querylog import QueryLog
from eta.carrier.state import CarrierState, cached_state, keep_state, last_state, load_state
from eta.carrier.verification import (
    NOT_OK,
    OK,
    Answer,
    PassengerQuery,
    VerificationContext,
    check_passengers,
    needs_records,
    passport_hash,
)
from eta.countries import document_country
from eta.extensions import db
from eta.partners.current import partner_tokens
from eta.timeutil import utcnow
from eta.web.problems import PROBLEM_BASE, Problem

T = TypeVar("T")
log = logging.getLogger(__name__)

MAX_BATCH = 1000
# The engine of the verification hot path: same database, autocommit, no pre-ping (see
# configure_engine); a disconnect is caught and the request retried once instead.
CARRIER_BIND = "carrier"
MAX_TOKEN_LENGTH = 4096
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_PASSPORT = re.compile(r"[A-Za-z0-9][A-Za-z0-9 <-]{0,29}")
_PASSPORT_FIELDS = frozenset({"passport_number", "issuing_country", "date_of_birth", "travel_date"})
_TOKEN_FIELDS = _PASSPORT_FIELDS | {"token"}


def _string(
    item: dict[str, Any], field: str, path: str, errors: dict[str, list[str]]
) -> str | None:
    if field not in item:
        return None
    value = item[field]
    if value is None:  # the OpenAPI document (and SPEC §4) make these optional, not nullable
        errors.setdefault(path + field, []).append(
            "Must be a string: leave the field out instead of null."
        )
        return None
    if not isinstance(value, str):
        errors.setdefault(path + field, []).append("Must be a string.")
        return None
    return value


def _date(
    item: dict[str, Any], field: str, path: str, errors: dict[str, list[str]]
) -> dt.date | None:
    text = _string(item, field, path, errors)
    if text is None:
        return None
    try:
        if not _DATE.fullmatch(text):
            raise ValueError
        return dt.date.fromisoformat(text)
    except ValueError:
        errors.setdefault(path + field, []).append("Must be a real date written as YYYY-MM-DD.")
        return None


def parse_passenger(item: object, path: str, errors: dict[str, list[str]]) -> PassengerQuery | None:
    """Read one passenger object; problems go into ``errors`` under ``path`` + field name."""
    if not isinstance(item, dict):
        errors.setdefault(path.rstrip(".") or "", []).append("Must be an object.")
        return None
    before = sum(len(messages) for messages in errors.values())
    token = _string(item, "token", path, errors)
    allowed = _TOKEN_FIELDS if "token" in item else _PASSPORT_FIELDS
    for field in sorted(set(item) - allowed):
        errors.setdefault(path + field, []).append("Unknown field.")
    if token is not None and not 0 < len(token) <= MAX_TOKEN_LENGTH:
        errors.setdefault(path + "token", []).append(
            f"Must be between 1 and {MAX_TOKEN_LENGTH} characters."
        )
    number = _string(item, "passport_number", path, errors)
    if number is not None and not _PASSPORT.fullmatch(number):
        errors.setdefault(path + "passport_number", []).append(
            "Must be the passport number: letters and digits, at most 30 characters."
        )
    country = _string(item, "issuing_country", path, errors)
    if country is not None:
        country = document_country(country)
        if country is None:
            errors.setdefault(path + "issuing_country", []).append(
                "Must be the issuing country's code as the passport prints it (ICAO 9303: "
                "ISO 3166-1 alpha-3, or D for Germany)."
            )
    if "token" not in item:
        if "passport_number" not in item:
            errors.setdefault(path + "passport_number", []).append(
                "Enter the passport number (or send a token)."
            )
        if "issuing_country" not in item:
            errors.setdefault(path + "issuing_country", []).append(
                "Enter the passport's issuing country (or send a token)."
            )
    birth = _date(item, "date_of_birth", path, errors)
    travel = _date(item, "travel_date", path, errors)
    if sum(len(messages) for messages in errors.values()) > before:
        return None
    return PassengerQuery(
        token=token,
        passport_number=number,
        issuing_country=country,
        date_of_birth=birth,
        travel_date=travel,
    )


def configure_engine(app: Flask) -> None:
    """Give the carrier API its own engine (a Flask-SQLAlchemy bind) on the app's database.

    Autocommit, because verification is one read and BEGIN and COMMIT would triple its round
    trips; no pre-ping, because a ping would double them, and check_and_record retries once
    on a dropped connection instead. The rest of the app keeps pre-ping and transactions.
    """
    url = str(app.config["SQLALCHEMY_DATABASE_URI"])
    engine: dict[str, Any] = {"url": url, "isolation_level": "AUTOCOMMIT", "pool_pre_ping": False}
    binds = dict(app.config.get("SQLALCHEMY_BINDS") or {})
    binds.setdefault(CARRIER_BIND, engine)
    app.config["SQLALCHEMY_BINDS"] = binds


def carrier_engine() -> Engine:
    """The carrier API's engine (see :func:`configure_engine`)."""
    return db.engines[CARRIER_BIND]


def verification_context(now: dt.datetime | None = None) -> VerificationContext:
    """Keys, issuer, clock, exempt nationalities and recognised partners (the trust list)."""
    now = now or utcnow()
    return VerificationContext(
        keys=authorisations.key_set(),
        issuer=authorisations.issuer(),
        now=now,
        exempt_countries=frozenset(current_app.config["ETA_EXEMPT_NATIONALITIES"]),
        partners=partner_tokens(now),
    )


def check_and_record(
    queries: Sequence[PassengerQuery],
    *,
    carrier_id: int,
    api_key_id: int | None,
    batch: bool,
    state_version: str | None = None,
) -> list[Answer]:
    """Answer the queries, reading the database at most once, and queue their query-log row.

    With ``state_version`` (read from Redis in this request's admission), revocations and the
    API key's standing come from this process's carrier state (:mod:`eta.carrier.state`),
    reloaded first if that version is newer: tokens then need no database read, passports one.
    Without it, one read answers everything and confirms the key. Either way a revocation
    counts from the moment it is committed, and ApiKeyNotActive is raised for a key that is no
    longer active. Reads run in autocommit on the carrier engine (see
    :func:`configure_engine`). The log row is written by the process's :class:`QueryLog`
    within half a second.
    """
    context = verification_context()
    state = _current_state(state_version) if state_version is not None else None
    revoked = state.revoked_jtis if state is not None else None
    partner_revoked = state.revocations.partner_revoked if state is not None else None
    # A key the state does not list (revoked, or created since it was loaded) is checked by
    # the database, in the same query as the passengers.
    confirm_key = api_key_id
    if state is not None and api_key_id in state.active_key_ids:
        confirm_key = None
    if confirm_key is not None or needs_records(queries, revocations_known=state is not None):
        answers = _with_database(
            lambda connection: check_passengers(
                connection,
                queries,
                context,
                api_key_id=confirm_key,
                revoked_jtis=revoked,
                partner_revoked=partner_revoked,
            )
        )
        if state is not None and confirm_key is not None:
            state.active_key_ids.add(confirm_key)  # active as of this version: trust it now
    else:
        answers = check_passengers(
            None, queries, context, revoked_jtis=revoked, partner_revoked=partner_revoked
        )
    row = _log_row(answers, queries, batch=batch, at=context.now)
    query_log().add({"carrier_id": carrier_id, "api_key_id": api_key_id, **row})
    return answers


def _current_state(version: str) -> CarrierState:
    """The carrier state for ``version``: this process's, or freshly read from the database.

    Revocations another caller of the one revocation cache already read for ``version`` are
    reused; only the API key ids are read then.
    """
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    state = cached_state(app, version)
    if state is None:
        revocations = cached_revocations(app, version)
        try:
            state = _with_connection(
                lambda connection: load_state(connection, version, revocations)
            )
        except (OperationalError, InterfaceError):
            # The database is down (a restart): the last state loaded is a few seconds old;
            # answering from it for a bounded time keeps check-in going, then 503.
            previous = last_state(app)
            stale_for = float(app.config["ETA_CARRIER_STALE_STATE_SECONDS"])
            if previous is None or time.monotonic() - previous.oldest_load > stale_for:
                raise database_unavailable() from None
            log.warning("carrier state not reloaded: database unavailable; answering from memory")
            return previous
        keep_state(app, state)
    return state


def database_unavailable() -> Problem:
    """The 503 problem for a request that needs the database while it is unreachable."""
    return Problem(
        503,
        "Service Unavailable",
        "Verification is unavailable for a moment. "
        "Retry after the number of seconds in Retry-After.",
        type_=PROBLEM_BASE + "unavailable",
        headers={"Retry-After": str(current_app.config["ETA_CARRIER_RETRY_AFTER_SECONDS"])},
    )


def _with_database(read: Callable[[Connection], T]) -> T:
    """:func:`_with_connection`, answering a 503 problem when the database is unreachable."""
    try:
        return _with_connection(read)
    except (OperationalError, InterfaceError):
        raise database_unavailable() from None


def _with_connection(read: Callable[[Connection], T]) -> T:
    """Run ``read`` on a carrier-engine connection, once more if the first one was dead."""
    engine = carrier_engine()
    for attempt in (1, 2):
        try:
            with engine.connect() as connection:
                return read(connection)
        except DBAPIError as error:
            # A pooled connection the server dropped (restart, idle timeout): SQLAlchemy has
            # invalidated the pool, so the second attempt gets a fresh connection.
            if not error.connection_invalidated or attempt == 2:
                raise
    raise AssertionError("unreachable")


def query_log() -> QueryLog:
    """This app's query log writer (one per app and process, made on first use)."""
    extensions = current_app.extensions
    writer = extensions.get("eta.carrier_query_log")
    if writer is None:
        writer = extensions["eta.carrier_query_log"] = QueryLog(db.engine)
    return cast(QueryLog, writer)


def _log_row(
    answers: Sequence[Answer],
    queries: Sequence[PassengerQuery],
    *,
    batch: bool,
    at: dt.datetime,
) -> dict[str, Any]:
    """The query-log columns of a request: a batch is one row with its count of refusals."""
    if batch:
        refused = sum(1 for answer in answers if answer.result == NOT_OK)
        return {
            "at": at,
            "kind": "batch",
            "passengers": len(answers),
            "result": NOT_OK if refused else OK,
            "reason": f"not_ok={refused}" if refused else None,
            "passport_hash": None,
        }
    answer, query = answers[0], queries[0]
    passport = answer.passport
    if passport is None and query.passport_number and query.issuing_country:
        passport = (query.issuing_country, query.passport_number)
    secret = current_app.config["SECRET_KEY"]
    return {
        "at": at,
        "kind": query.kind,
        "passengers": 1,
        "result": answer.result,
        "reason": answer.reason,
        "passport_hash": passport_hash(secret, *passport) if passport else None,
    }
