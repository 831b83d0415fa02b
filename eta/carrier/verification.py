"""Answering carriers: OK / NOT_OK / NOT_APPLICABLE for tokens and passports, one query a batch."""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import hmac
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Connection,
    Executable,
    bindparam,
    exists,
    false,
    or_,
    select,
    true,
    tuple_,
)

from eta.documents import normalise_document_number
from eta.issuance.keys import KeySet
from eta.issuance.revocations import revocation_hash
from eta.issuance.tokens import verify
from eta.models import (
    Application,
    ApplicationStatus,
    Authorisation,
    Carrier,
    CarrierApiKey,
    PartnerRevocation,
)
from eta.models.base import SessionLike
from eta.partners.recognition import NO_PARTNERS, PartnerTokens
from eta.screening.mrz import mrz_name_parts

OK = "OK"
NOT_OK = "NOT_OK"
NOT_APPLICABLE = "NOT_APPLICABLE"
RESULTS = (OK, NOT_OK, NOT_APPLICABLE)

# Reasons a carrier sees (SPEC §4); "ok" and "exempt_nationality" go with the other results.
REASON_OK = "ok"
REASON_EXEMPT = "exempt_nationality"
NOT_OK_REASONS = (
    "not_found",
    "pending",
    "refused",
    "revoked",
    "expired",
    "invalid_signature",
    "document_mismatch",
)
REASONS = (REASON_OK, REASON_EXEMPT, *NOT_OK_REASONS)

_PENDING_STATUSES = frozenset(
    {
        ApplicationStatus.SUBMITTED,
        ApplicationStatus.SCREENING,
        ApplicationStatus.REFERRED,
        ApplicationStatus.INFO_REQUESTED,
    }
)


@dataclass(frozen=True)
class PassengerQuery:
    """One passenger to check: a token, or passport data; the optional fields narrow the check."""

    token: str | None = None
    passport_number: str | None = None
    issuing_country: str | None = None
    date_of_birth: dt.date | None = None
    travel_date: dt.date | None = None

    @property
    def kind(self) -> str:
        """``token`` or ``passport``: how the passenger was identified."""
        return "token" if self.token is not None else "passport"


@dataclass(frozen=True)
class Answer:
    """What a carrier is told about one passenger: only what boarding needs."""

    result: str
    reason: str
    reference: str | None = None
    valid_until: dt.datetime | None = None
    surname: str | None = None
    given_names: str | None = None
    # The passport the answer is about, for the query log's keyed hash; never sent out.
    passport: tuple[str, str] | None = None

    def to_json(self) -> dict[str, Any]:
        """The answer as sent to the carrier (None fields left out)."""
        body: dict[str, Any] = {"result": self.result, "reason": self.reason}
        if self.reference is not None:
            body["reference"] = self.reference
        if self.valid_until is not None:
            # Whole seconds, as in the token's exp: both ways give the same answer.
            body["valid_until"] = (
                self.valid_until.astimezone(dt.UTC).replace(microsecond=0).isoformat()
            )
        if self.surname is not None:
            body["surname"] = self.surname
        if self.given_names is not None:
            body["given_names"] = self.given_names
        return body


class ApiKeyNotActive(Exception):
    """The API key behind a query was revoked, or its carrier deactivated."""


@dataclass(frozen=True)
class VerificationContext:
    """Everything a check needs besides the database: keys, issuer, clock, exemptions."""

    keys: KeySet
    issuer: str
    now: dt.datetime
    exempt_countries: Collection[str]
    # Partners whose authorisations the trust list says we recognise (their keys, their iss).
    partners: PartnerTokens = NO_PARTNERS


def passport_hash(secret: str, issuing_country: str, passport_number: str) -> str:
    """The keyed hash under which a passport is logged (HMAC-SHA256, hex).

    Keyed with the app's secret so the log cannot be reversed by hashing every passport number.
    """
    message = f"{issuing_country.upper()}:{normalise_document_number(passport_number)}"
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


def _not_ok(reason: str, passport: tuple[str, str] | None = None) -> Answer:
    return Answer(result=NOT_OK, reason=reason, passport=passport)


def _instant(query: PassengerQuery, now: dt.datetime) -> dt.datetime:
    """The moment the authorisation must be valid: now, or midday UTC of a later travel date."""
    if query.travel_date is None or query.travel_date == now.astimezone(dt.UTC).date():
        return now
    return dt.datetime.combine(query.travel_date, dt.time(12), tzinfo=dt.UTC)


def _passport_key(country: str, number: str) -> tuple[str, str]:
    return country.strip().upper(), normalise_document_number(number)


@dataclass
class _TokenCheck:
    """A token that passed the cryptographic checks, waiting for the database's word."""

    claims: dict[str, Any]
    passport: tuple[str, str]
    # The partner whose key signed it (mutual recognition); None for ours.
    partner_id: str | None = None


def needs_records(queries: Sequence[PassengerQuery], *, revocations_known: bool) -> bool:
    """Whether answering ``queries`` needs the database (passports do; tokens unless the
    revoked token ids are known)."""
    return not revocations_known or any(query.token is None for query in queries)


def check_passengers(
    session: SessionLike | Connection | None,
    queries: Sequence[PassengerQuery],
    context: VerificationContext,
    *,
    api_key_id: int | None = None,
    revoked_jtis: Collection[str] | None = None,
    partner_revoked: Mapping[str, Collection[str]] | None = None,
) -> list[Answer]:
    """Answer every query, in order, with at most one database query for the whole list.

    Tokens are checked in SPEC §5 order: signature and claims here, then revocation, then the
    document given. Revocation is read from the database in the same query as the passports,
    unless ``revoked_jtis`` (the carrier state, current as of this request) is given; then
    ``session`` may be None when :func:`needs_records` says so. A partner's token is checked
    against the revocation list last imported from that partner: ``partner_revoked`` (by
    partner id, from the same state) or, without it, the database. Passports are looked up by
    issuing country and number; an authorisation must be valid at the travel date (default:
    now). With ``api_key_id``, the same query confirms that key and its carrier are still
    active, and :class:`ApiKeyNotActive` is raised when they are not.
    """
    answers: list[Answer | None] = [None] * len(queries)
    pending_tokens: dict[int, _TokenCheck] = {}
    passports: set[tuple[str, str]] = set()

    for index, query in enumerate(queries):
        if query.issuing_country and query.issuing_country.upper() in context.exempt_countries:
            answers[index] = Answer(result=NOT_APPLICABLE, reason=REASON_EXEMPT)
            continue
        if query.token is not None:
            instant = _instant(query, context.now)
            outcome = verify(query.token, context.keys, (), instant, context.issuer)
            partner_id = None
            if outcome.detail == "unknown_kid" and context.partners:
                # Not one of our keys: a partner's, if the trust list vouches for it.
                partner = context.partners.partner_of(query.token)
                if partner is not None:
                    outcome = context.partners.verify(query.token, instant) or outcome
                    partner_id = partner.id
            if not outcome.ok or outcome.claims is None:
                answers[index] = _not_ok(outcome.reason)
                continue
            claims = outcome.claims
            pending_tokens[index] = _TokenCheck(
                claims, _passport_key(claims["doc"]["cty"], claims["doc"]["num"]), partner_id
            )
        else:
            passports.add(_passport_key(query.issuing_country or "", query.passport_number or ""))

    jtis: set[str] = set()
    if revoked_jtis is None:
        jtis = {check.claims["jti"] for check in pending_tokens.values() if not check.partner_id}
    partners_revoked = partner_revoked
    if partners_revoked is None:
        asked = {
            (check.partner_id, revocation_hash(check.claims["jti"]))
            for check in pending_tokens.values()
            if check.partner_id
        }
        if asked:
            if session is None:
                raise ValueError("these queries need the database: see needs_records()")
            partners_revoked = _partner_revocations(session, asked)
    by_jti: dict[str, _Record] = {}
    by_passport: dict[tuple[str, str], list[_Record]] = {}
    if jtis or passports or api_key_id is not None:
        if session is None:
            raise ValueError("these queries need the database: see needs_records()")
        for record in _records(session, jtis, passports, api_key_id):
            if record.jti is not None and record.jti in jtis:
                by_jti[record.jti] = record
            if record.passport in passports:
                by_passport.setdefault(record.passport, []).append(record)

    for index, query in enumerate(queries):
        if answers[index] is not None:
            continue
        if index in pending_tokens:
            check = pending_tokens[index]
            if check.partner_id is not None:
                revoked = revocation_hash(check.claims["jti"]) in (
                    (partners_revoked or {}).get(check.partner_id, ())
                )
            elif revoked_jtis is None:
                revoked = _revoked_record(by_jti.get(check.claims["jti"]))
            else:
                revoked = check.claims["jti"] in revoked_jtis
            answers[index] = _token_answer(query, check, revoked=revoked)
        else:
            key = _passport_key(query.issuing_country or "", query.passport_number or "")
            answers[index] = _passport_answer(
                query, key, by_passport.get(key, []), _instant(query, context.now)
            )
    return [answer for answer in answers if answer is not None]


@dataclass(frozen=True)
class _Record:
    """What a check needs of an application and its authorisation (None before issuance)."""

    status: str
    reference: str
    date_of_birth: dt.date
    surname_mrz: str
    given_names_mrz: str
    passport: tuple[str, str]
    jti: str | None
    revoked_at: dt.datetime | None
    valid_from: dt.datetime | None
    valid_until: dt.datetime | None


_RECORD_COLUMNS = (
    Application.id.label("application_id"),
    Application.status,
    Application.reference,
    Application.date_of_birth,
    Application.surname_mrz,
    Application.given_names_mrz,
    Application.passport_issuing_country,
    Application.passport_number_normalised,
    Authorisation.jti,
    Authorisation.revoked_at,
    Authorisation.valid_from,
    Authorisation.valid_until,
)


@functools.cache
def _records_statement(by_jti: bool, by_passport: bool, with_key: bool) -> Executable:
    """The records query, built once per shape: building SQL costs more than running it here.

    With the key, the records are left-joined to a one-row check of the API key, so the
    answer to "is this caller still allowed?" comes in the same round trip, even when no
    record matches.
    """
    conditions = []
    if by_jti:
        conditions.append(Authorisation.jti.in_(bindparam("jtis", expanding=True)))
    if by_passport:
        conditions.append(
            tuple_(
                Application.passport_issuing_country, Application.passport_number_normalised
            ).in_(bindparam("passports", expanding=True))
        )
    found = (
        select(*_RECORD_COLUMNS)
        .outerjoin(Authorisation, Authorisation.application_id == Application.id)
        .where(or_(false(), *conditions))
    )
    if not with_key:
        return found.order_by(Application.id)
    key_active = exists().where(
        CarrierApiKey.id == bindparam("api_key_id"),
        CarrierApiKey.revoked_at.is_(None),
        Carrier.id == CarrierApiKey.carrier_id,
        Carrier.active.is_(True),
    )
    caller = select(key_active.label("key_active")).subquery("caller")
    records = found.subquery("found")
    return (
        select(caller.c.key_active, *records.c)
        .select_from(caller.outerjoin(records, true()))
        .order_by(records.c.application_id)
    )


def _records(
    session: SessionLike | Connection,
    jtis: Collection[str],
    passports: Collection[tuple[str, str]],
    api_key_id: int | None = None,
) -> list[_Record]:
    """The one database query: applications (with any authorisation) for these jtis/passports.

    Only the columns a check needs are read, so a 1,000-passenger batch stays light. Raises
    :class:`ApiKeyNotActive` when ``api_key_id`` is given and no longer active.
    """
    parameters: dict[str, Any] = {}
    if jtis:
        parameters["jtis"] = sorted(jtis)
    if passports:
        parameters["passports"] = sorted(passports)
    with_key = api_key_id is not None
    if with_key:
        parameters["api_key_id"] = api_key_id
    statement = _records_statement(bool(jtis), bool(passports), with_key)
    records: list[_Record] = []
    for result_row in session.execute(statement, parameters):
        row = tuple(result_row)
        if with_key:
            if not row[0]:
                raise ApiKeyNotActive
            row = row[1:]
        (
            application_id,
            status,
            reference,
            date_of_birth,
            surname_mrz,
            given_names_mrz,
            country,
            number,
            jti,
            revoked_at,
            valid_from,
            valid_until,
        ) = row
        if application_id is None:
            continue  # the key check's row when no record matched
        records.append(
            _Record(
                status=status,
                reference=reference,
                date_of_birth=date_of_birth,
                surname_mrz=surname_mrz,
                given_names_mrz=given_names_mrz,
                passport=(country, number),
                jti=jti,
                revoked_at=revoked_at,
                valid_from=valid_from,
                valid_until=valid_until,
            )
        )
    return records


_PARTNER_REVOKED = select(PartnerRevocation.partner_id, PartnerRevocation.hash).where(
    tuple_(PartnerRevocation.partner_id, PartnerRevocation.hash).in_(
        bindparam("pairs", expanding=True)
    )
)


def _partner_revocations(
    session: SessionLike | Connection, pairs: Collection[tuple[str, str]]
) -> dict[str, set[str]]:
    """Which of these (partner id, revocation hash) pairs the partners' lists name."""
    found: dict[str, set[str]] = {}
    for partner_id, value in session.execute(_PARTNER_REVOKED, {"pairs": sorted(pairs)}):
        found.setdefault(partner_id, set()).add(value)
    return found


def _revoked_record(record: _Record | None) -> bool:
    return record is not None and (
        record.revoked_at is not None or record.status == ApplicationStatus.REVOKED
    )


def _token_answer(query: PassengerQuery, check: _TokenCheck, *, revoked: bool) -> Answer:
    claims = check.claims
    if revoked:
        return _not_ok("revoked", check.passport)
    if query.passport_number is not None and (
        normalise_document_number(query.passport_number) != check.passport[1]
    ):
        return _not_ok("document_mismatch", check.passport)
    if query.issuing_country is not None and query.issuing_country.upper() != check.passport[0]:
        return _not_ok("document_mismatch", check.passport)
    if query.date_of_birth is not None and query.date_of_birth.isoformat() != claims["dob"]:
        return _not_ok("document_mismatch", check.passport)
    return Answer(
        result=OK,
        reason=REASON_OK,
        reference=claims["sub"],
        valid_until=dt.datetime.fromtimestamp(claims["exp"], tz=dt.UTC),
        surname=claims["nam"]["fn"],
        given_names=claims["nam"]["gn"],
        passport=check.passport,
    )


def _passport_answer(
    query: PassengerQuery,
    passport: tuple[str, str],
    candidates: list[_Record],
    instant: dt.datetime,
) -> Answer:
    candidates = [record for record in candidates if record.status != ApplicationStatus.WITHDRAWN]
    if not candidates:
        return _not_ok("not_found", passport)
    if query.date_of_birth is not None:
        candidates = [
            record for record in candidates if record.date_of_birth == query.date_of_birth
        ]
        if not candidates:
            return _not_ok("document_mismatch", passport)
    valid = [
        (record.valid_until, index)
        for index, record in enumerate(candidates)
        if record.status == ApplicationStatus.APPROVED
        and record.revoked_at is None
        and record.valid_from is not None
        and record.valid_until is not None
        and record.valid_from <= instant < record.valid_until
    ]
    if valid:
        best = candidates[max(valid)[1]]
        # The names as the token and the passport's MRZ carry them (truncated alike).
        surname, given_names = mrz_name_parts(best.surname_mrz or "", best.given_names_mrz or "")
        return Answer(
            result=OK,
            reason=REASON_OK,
            reference=best.reference,
            valid_until=best.valid_until,
            surname=surname,
            given_names=given_names,
            passport=passport,
        )
    # No authorisation allows travel: the latest application says why.
    return _not_ok(_why_not(candidates[-1], instant), passport)


def _why_not(record: _Record, instant: dt.datetime) -> str:
    status = record.status
    if status == ApplicationStatus.REVOKED or record.revoked_at is not None:
        return "revoked"
    if status in _PENDING_STATUSES:
        return "pending"
    if status == ApplicationStatus.REFUSED:
        return "refused"
    if status == ApplicationStatus.EXPIRED:
        return "expired"
    if record.valid_from is None:
        return "pending"  # approved, but the authorisation is still being issued
    if instant < record.valid_from:
        return "pending"
    return "expired"
