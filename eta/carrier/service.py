"""Shared by the carrier API and the check-in page: reading passengers, keys, the query log."""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Sequence
from typing import Any, overload

from flask import Flask, current_app
from sqlalchemy import Engine, bindparam, insert, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql.dml import ReturningInsert

from eta import issuing
from eta.carrier.verification import (
    NOT_OK,
    OK,
    Answer,
    PassengerQuery,
    VerificationContext,
    check_passengers,
    passport_hash,
)
from eta.extensions import db
from eta.models import Carrier, CarrierApiKey, CarrierQuery
from eta.timeutil import utcnow

MAX_BATCH = 1000
# The engine of the verification hot path: same database, autocommit, no pre-ping (see
# configure_engine); a disconnect is caught and the request retried once instead.
CARRIER_BIND = "carrier"
MAX_TOKEN_LENGTH = 4096
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_COUNTRY = re.compile(r"[A-Za-z]{3}")
_PASSPORT = re.compile(r"[A-Za-z0-9][A-Za-z0-9 <-]{0,29}")
_PASSPORT_FIELDS = frozenset({"passport_number", "issuing_country", "date_of_birth", "travel_date"})
_TOKEN_FIELDS = _PASSPORT_FIELDS | {"token"}


def _string(
    item: dict[str, Any], field: str, path: str, errors: dict[str, list[str]]
) -> str | None:
    value = item.get(field)
    if value is None:
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
    if country is not None and not _COUNTRY.fullmatch(country):
        errors.setdefault(path + "issuing_country", []).append(
            "Must be the ISO 3166-1 alpha-3 code of the issuing country."
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
        issuing_country=country.upper() if country else None,
        date_of_birth=birth,
        travel_date=travel,
    )


def configure_engine(app: Flask) -> None:
    """Give the carrier API its own engine (a Flask-SQLAlchemy bind) on the app's database.

    Autocommit, because verification needs no transaction and BEGIN and COMMIT would double
    its round trips; no pre-ping, because a ping per request is a third of the round trips
    left, and check_and_record retries once on a dropped connection instead. The rest of the
    app keeps pre-ping, transactions and synchronous commits.
    """
    url = str(app.config["SQLALCHEMY_DATABASE_URI"])
    engine: dict[str, Any] = {"url": url, "isolation_level": "AUTOCOMMIT", "pool_pre_ping": False}
    if url.startswith("postgresql"):
        # The only write here is the query log: a row lost to a server crash in the last
        # fraction of a second is worth not waiting for a WAL flush on every verification.
        # (Applications, decisions and revocations are written by the main engine.)
        engine["connect_args"] = {"options": "-c synchronous_commit=off"}
    binds = dict(app.config.get("SQLALCHEMY_BINDS") or {})
    binds.setdefault(CARRIER_BIND, engine)
    app.config["SQLALCHEMY_BINDS"] = binds


def carrier_engine() -> Engine:
    """The carrier API's engine (see :func:`configure_engine`)."""
    return db.engines[CARRIER_BIND]


def verification_context(now: dt.datetime | None = None) -> VerificationContext:
    """Keys, issuer, clock and exempt nationalities from the app's configuration."""
    return VerificationContext(
        keys=issuing.key_set(),
        issuer=issuing.issuer(),
        now=now or utcnow(),
        exempt_countries=frozenset(current_app.config["ETA_EXEMPT_NATIONALITIES"]),
    )


@overload
def check_and_record(
    queries: Sequence[PassengerQuery], *, carrier_id: int, api_key_id: None, batch: bool
) -> list[Answer]: ...


@overload
def check_and_record(
    queries: Sequence[PassengerQuery], *, carrier_id: int, api_key_id: int, batch: bool
) -> list[Answer] | None: ...


def check_and_record(
    queries: Sequence[PassengerQuery],
    *,
    carrier_id: int,
    api_key_id: int | None,
    batch: bool,
) -> list[Answer] | None:
    """Answer the queries and log them: one read for every passenger, one INSERT per request.

    Both statements run in autocommit on one connection: nothing here needs a transaction, and
    BEGIN and COMMIT would double the round trips of the hottest path in the system. Revocation
    is read from the authorisation rows, so it counts from the moment it is committed.

    With an API key, the log row is written only while that key and its carrier are active;
    None means they no longer are, and the caller answers 401 instead of the answers.
    """
    context = verification_context()
    engine = carrier_engine()
    for attempt in (1, 2):
        try:
            with engine.connect() as connection:
                answers = check_passengers(connection, queries, context)
                row = _log_row(answers, queries, batch=batch, at=context.now)
                if api_key_id is None:
                    connection.execute(insert(CarrierQuery).values(carrier_id=carrier_id, **row))
                    return answers
                logged = connection.execute(_log_through_key(), {**row, "api_key_id": api_key_id})
                return answers if logged.first() is not None else None
        except DBAPIError as error:
            # A pooled connection the server dropped (restart, idle timeout): SQLAlchemy has
            # invalidated the pool, so the second attempt gets a fresh connection.
            if not error.connection_invalidated or attempt == 2:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


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


_LOG_COLUMNS = ("at", "kind", "passengers", "result", "reason", "passport_hash")


@functools.cache
def _log_through_key() -> ReturningInsert[tuple[int]]:
    """INSERT a log row selected through its API key: no row unless key and carrier are active.

    Built once: the statement is the same for every request, only its parameters change.
    """
    columns = CarrierQuery.__table__.c
    values = [bindparam(name, type_=columns[name].type).label(name) for name in _LOG_COLUMNS]
    source = (
        select(CarrierApiKey.carrier_id, CarrierApiKey.id, *values)
        .join(Carrier, Carrier.id == CarrierApiKey.carrier_id)
        .where(
            CarrierApiKey.id == bindparam("api_key_id"),
            CarrierApiKey.revoked_at.is_(None),
            Carrier.active.is_(True),
        )
    )
    return (
        insert(CarrierQuery)
        .from_select(["carrier_id", "api_key_id", *_LOG_COLUMNS], source)
        .returning(CarrierQuery.id)
    )
