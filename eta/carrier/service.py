"""Shared by the carrier API and the check-in page: reading passengers, keys, the query log."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from typing import Any

from flask import current_app

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
from eta.models import CarrierQuery
from eta.timeutil import utcnow

MAX_BATCH = 1000
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


def verification_context(now: dt.datetime | None = None) -> VerificationContext:
    """Keys, issuer, clock and exempt nationalities from the app's configuration."""
    return VerificationContext(
        keys=issuing.key_set(),
        issuer=issuing.issuer(),
        now=now or utcnow(),
        exempt_countries=frozenset(current_app.config["ETA_EXEMPT_NATIONALITIES"]),
    )


def check_and_record(
    queries: Sequence[PassengerQuery],
    *,
    carrier_id: int,
    api_key_id: int | None,
    batch: bool,
) -> list[Answer]:
    """Answer the queries and log them: one row per request (per batch), one INSERT.

    Revocation is read from the authorisation rows in the same query as everything else, so
    a revocation counts from the moment it is committed.
    """
    answers = check_passengers(db.session, queries, verification_context())
    _record(answers, queries, carrier_id=carrier_id, api_key_id=api_key_id, batch=batch)
    return answers


def _record(
    answers: Sequence[Answer],
    queries: Sequence[PassengerQuery],
    *,
    carrier_id: int,
    api_key_id: int | None,
    batch: bool,
) -> None:
    if batch:
        refused = sum(1 for answer in answers if answer.result == NOT_OK)
        row = CarrierQuery(
            carrier_id=carrier_id,
            api_key_id=api_key_id,
            kind="batch",
            passengers=len(answers),
            result=NOT_OK if refused else OK,
            reason=f"not_ok={refused}" if refused else None,
        )
    else:
        answer, query = answers[0], queries[0]
        passport = answer.passport
        if passport is None and query.passport_number and query.issuing_country:
            passport = (query.issuing_country, query.passport_number)
        secret = current_app.config["SECRET_KEY"]
        row = CarrierQuery(
            carrier_id=carrier_id,
            api_key_id=api_key_id,
            kind=query.kind,
            passengers=1,
            result=answer.result,
            reason=answer.reason,
            passport_hash=passport_hash(secret, *passport) if passport else None,
        )
    db.session.add(row)
    db.session.commit()
