"""Screening orchestration: run every check on an application, fail closed, record the evidence.

`screen()` runs the checks in a fixed order and returns their findings; a check that raises
becomes a `check_failed` finding naming it (the application is then referred, never approved).
`record_run()` writes a result as a ScreeningRun with its ScreeningHits, in the caller's
transaction, so the run and the decision it leads to are committed together.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import psycopg
from sqlalchemy import Table, bindparam, case, func, or_, select
from sqlalchemy.exc import DBAPIError, OperationalError

from eta import applications
from eta.chip import store as chip_store
from eta.chip.settings import ChipSettings
from eta.documents import normalise_document_number
from eta.identity import store
from eta.identity.settings import PhotoSettings
from eta.models import (
    Application,
    CheckName,
    LostStolenDocument,
    RiskRule,
    RiskRuleVersion,
    RunOutcome,
    ScreeningHit,
    ScreeningRun,
)
from eta.models.base import SessionLike
from eta.partners.feedkeys import EpochKey
from eta.partners.feeds import feed_hits
from eta.screening import answers, chip, face, history, names, rules
from eta.screening.document import DocumentFacts, check_document
from eta.screening.lost_stolen import confusable_key
from eta.screening.pipelined import fetch_together
from eta.screening.types import BirthDate, Subject, TravelDocument
from eta.timeutil import utcnow

log = logging.getLogger(__name__)

# Bump when a check's logic changes: every run records the version it was screened with.
ALGORITHM_VERSION = "eta-screening-1"
INITIAL = "initial"
RESCREEN = "rescreen"


@dataclass(slots=True)
class Finding:
    """One reason to refer, before it is stored as a ScreeningHit."""

    check: CheckName
    code: str
    explanation: str
    score: float | None = None
    watchlist_entry_id: int | None = None
    rule_version_id: int | None = None
    related_application_id: int | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def identity(self) -> tuple[str, ...]:
        """What makes two findings the same finding across runs (for re-screens)."""
        if self.code == REPORTED_BY_PARTNER:
            return (self.check.value, self.code, str(self.details.get("partner")))
        if self.check is CheckName.WATCHLIST:
            return (self.check.value, str(self.details.get("source")), str(self.details.get("key")))
        return (self.check.value, self.code)


@dataclass
class ScreeningContext:
    """Everything a check may look at; `current_check` says which check is running."""

    session: SessionLike
    application: Application
    threshold: float
    today: dt.date
    list_versions: dict[str, Any] = field(default_factory=dict)
    current_check: CheckName | None = None
    # Rows of a check's query, read ahead together with the other checks' (PostgreSQL).
    prefetched: dict[CheckName, list[Any]] = field(default_factory=dict)
    # Seconds any one statement of a check may run (PostgreSQL); None: no limit of its own.
    statement_timeout: float | None = None
    # The partners' feed epoch keys we hold (eta.partners.current.feed_keys().partner_keys()):
    # the lost/stolen check hashes the passport under each and looks the hashes up.
    partner_keys: Sequence[EpochKey] = ()
    # The photo key and the face match threshold (eta.identity); None: the face check fails
    # for an application with a photo (it cannot open it), and passes one without.
    photo_settings: PhotoSettings | None = None
    # The chip's limits and 1:1 face threshold (eta.chip); None: the configuration's defaults.
    chip_settings: ChipSettings | None = None


@dataclass
class ScreeningResult:
    """The findings of one screening and what it was checked against."""

    findings: list[Finding]
    list_versions: dict[str, Any]

    @property
    def clear(self) -> bool:
        """True when nothing was found: the application may be approved."""
        return not self.findings


Check = Callable[[ScreeningContext], list[Finding]]


# ---- the checks ----------------------------------------------------------------------------------


def document_check(ctx: ScreeningContext) -> list[Finding]:
    """Passport validity against the intended arrival; MRZ check digits and consistency."""
    a = ctx.application
    facts = DocumentFacts(
        given_names=a.given_names,
        surname=a.surname,
        sex=a.sex,
        date_of_birth=a.date_of_birth,
        nationality=a.nationality,
        passport_number=a.passport_number,
        issuing_country=a.passport_issuing_country,
        issue_date=a.passport_issue_date,
        expiry_date=a.passport_expiry_date,
        intended_arrival=a.intended_arrival,
        mrz=a.passport_mrz,
    )
    return [
        Finding(CheckName.DOCUMENT, f.code, f.message, details={"field": f.field})
        for f in check_document(facts, ctx.today)
    ]


# Statements the checks run for every application, built once: building a statement and its
# cache key costs more than running it. One query finds both kinds of listing: an exact one is
# also a confusable one, and comes first.
_LOST_STOLEN_QUERY = (
    select(
        LostStolenDocument.id,
        LostStolenDocument.number_normalised,
        LostStolenDocument.source,
        LostStolenDocument.reported_on,
    )
    .where(
        LostStolenDocument.issuing_country == bindparam("country"),
        or_(
            LostStolenDocument.number_normalised == bindparam("number"),
            LostStolenDocument.confusable_key == bindparam("key"),
        ),
    )
    .order_by(
        case((LostStolenDocument.number_normalised == bindparam("number"), 0), else_=1),
        LostStolenDocument.id,
    )
    .limit(1)
)
# Columns, not entities: the rules are only read, and building objects costs more here.
_RULES_QUERY = (
    select(RiskRule.name, RiskRuleVersion.id, RiskRuleVersion.number, RiskRuleVersion.conditions)
    .join(RiskRuleVersion, RiskRuleVersion.id == RiskRule.current_version_id)
    .where(RiskRule.enabled.is_(True))
    .order_by(RiskRule.id)
)


def _lost_stolen_query(application: Application) -> tuple[Any, dict[str, Any]]:
    number = normalise_document_number(
        application.passport_number_normalised or application.passport_number
    )
    return _LOST_STOLEN_QUERY, {
        "country": application.passport_issuing_country,
        "number": number,
        "key": confusable_key(number),
    }


def _rows(ctx: ScreeningContext, check: CheckName, query: tuple[Any, Any]) -> list[Any]:
    """The rows of a check's query: read ahead with the others', or asked for now."""
    rows = ctx.prefetched.pop(check, None)
    if rows is None:
        statement, params = query
        rows = list(ctx.session.execute(statement, params).all())
    return rows


def lost_stolen_check(ctx: ScreeningContext) -> list[Finding]:
    """The passport against the lost and stolen documents: exact, then OCR-confusable; then
    against partners' feeds."""
    a = ctx.application
    query = _lost_stolen_query(a)
    number = query[1]["number"]
    country = a.passport_issuing_country
    found = _rows(ctx, CheckName.LOST_STOLEN, query)
    record = found[0] if found else None
    by_partners = _partner_findings(ctx, country, number)
    if record is None:
        return by_partners
    exact = record.number_normalised == number
    reported = f", reported {record.reported_on.isoformat()}" if record.reported_on else ""
    if exact:
        code = "document_lost_stolen"
        text = (
            f"Passport {country} {number} is listed as lost or stolen ({record.source}{reported})"
        )
    else:
        code = "document_lost_stolen_confusable"
        text = (
            f"Passport {country} {number} resembles listed lost or stolen document "
            f"{record.number_normalised} once look-alike characters (O/0, I/1, S/5...) are "
            f"folded ({record.source}{reported})"
        )
    return [
        Finding(
            CheckName.LOST_STOLEN,
            code,
            text,
            score=1.0 if exact else 0.9,
            details={"lost_stolen_id": record.id, "exact": exact},
        ),
        *by_partners,
    ]


REPORTED_BY_PARTNER = "document_reported_by_partner"


def _partner_findings(ctx: ScreeningContext, country: str, number: str) -> list[Finding]:
    """Partners' feeds that list the passport: a lead to confirm, never a refusal by itself.

    A feed holds keyed hashes only, so an officer learns who reported the document, not why:
    the issuing state confirms it.
    """
    return [
        Finding(
            CheckName.LOST_STOLEN,
            REPORTED_BY_PARTNER,
            f"Passport {country} {number} is reported lost, stolen or revoked by {hit.partner_id}"
            f" (feed batch {hit.sequence}, received {hit.updated_at.date().isoformat()}): "
            "confirm with the issuing state before deciding; this report alone is no reason "
            "to refuse",
            score=1.0,
            details={"partner": hit.partner_id, "sequence": hit.sequence, "epoch": hit.epoch},
        )
        for hit in feed_hits(ctx.session, country, number, ctx.partner_keys)
    ]


def applicant_subject(application: Application) -> Subject:
    """The applicant as the watchlist matcher sees them."""
    return Subject(
        full_name=f"{application.given_names} {application.surname}",
        birth_date=BirthDate.exact(application.date_of_birth),
        nationality=application.nationality,
        sex=application.sex,
        documents=[
            TravelDocument(
                application.passport_number_normalised, application.passport_issuing_country
            )
        ],
        surname=application.surname,
        given_names=application.given_names,
    )


def watchlist_findings(
    subject: Subject, loaded: Any, threshold: float, mrz_name: tuple[str, str] | None = None
) -> list[Finding]:
    """Matches of a subject against loaded lists (eta.screening.lists.store.LoadedWatchlists)."""
    matches = {m.entry_id: m for m in loaded.index.match(subject, threshold)}
    if mrz_name is not None:
        given, surname = mrz_name
        typed = " ".join(subject.full_name.upper().split())
        if f"{given} {surname}".strip() != typed:
            # Passports print names in the MRZ's Latin form: match that spelling too.
            mrz_subject = Subject(
                full_name=f"{given} {surname}",
                birth_date=subject.birth_date,
                nationality=subject.nationality,
                sex=subject.sex,
                documents=subject.documents,
                surname=surname,
                given_names=given,
            )
            for match in loaded.index.match(mrz_subject, threshold):
                if match.entry_id not in matches or match.score > matches[match.entry_id].score:
                    matches[match.entry_id] = match
    findings = []
    for match in sorted(matches.values(), key=lambda m: (-m.score, m.entry_id)):
        source = loaded.sources.get(match.entry_id, "?")
        findings.append(
            Finding(
                CheckName.WATCHLIST,
                "watchlist_match",
                f"{source} {match.key} {match.matched_name} ({match.score:.2f}): "
                f"{match.explanation}",
                score=match.score,
                watchlist_entry_id=match.entry_id,
                details={
                    "source": source,
                    "key": match.key,
                    "listed_name": match.matched_name,
                    "name_score": match.name_score,
                },
            )
        )
    return findings


def watchlist_check(ctx: ScreeningContext) -> list[Finding]:
    """Name, date of birth, nationality, sex and passport against every active list."""
    from eta.screening.lists.store import active_watchlists

    loaded = active_watchlists(
        ctx.session, state_rows=ctx.prefetched.pop(CheckName.WATCHLIST, None)
    )
    ctx.list_versions.update(loaded.versions)
    if not loaded.versions:
        # Fail closed: with no list loaded every applicant would clear.
        return [check_failed(CheckName.WATCHLIST, NO_WATCHLIST)]
    a = ctx.application
    return watchlist_findings(
        applicant_subject(a), loaded, ctx.threshold, (a.given_names_mrz, a.surname_mrz)
    )


def rules_check(ctx: ScreeningContext) -> list[Finding]:
    """Every enabled risk rule's current version against the applicant's facts."""
    facts = rules.applicant_facts(ctx.application, ctx.today)
    findings = []
    applied: dict[str, int] = {}
    for name, version_id, number, conditions in _rows(ctx, CheckName.RULE, (_RULES_QUERY, {})):
        applied[name] = number
        problems = rules.validate_conditions(conditions)
        if problems:
            # Fail closed: a rule that no longer validates is not "never matches" but a check
            # that could not run; an officer looks at the application and at the rule.
            findings.append(
                Finding(
                    CheckName.CHECK_FAILED,
                    "rule_invalid",
                    f"Rule {name!r} version {number} is not valid ({problems[0]}): "
                    "screen this application by hand and correct the rule",
                    rule_version_id=version_id,
                    details={"check": "rule", "rule": name, "version": number},
                )
            )
            continue
        if rules.rule_matches(conditions, facts):
            findings.append(
                Finding(
                    CheckName.RULE,
                    "rule_matched",
                    f"Rule {name!r} version {number} matched: "
                    f"{rules.describe_conditions(conditions)}",
                    rule_version_id=version_id,
                    details={"rule": name, "version": number},
                )
            )
    ctx.list_versions["rules"] = applied
    return findings


def history_check(ctx: ScreeningContext) -> list[Finding]:
    """Earlier refusals, revocations, pending or valid ones, and passports reused by others."""
    return [
        Finding(
            CheckName.HISTORY,
            f.code,
            f.explanation,
            related_application_id=f.related_application_id,
        )
        for f in history.check_history(
            ctx.session, ctx.application, others=ctx.prefetched.pop(CheckName.HISTORY, None)
        )
    ]


def answers_check(ctx: ScreeningContext) -> list[Finding]:
    """Any "yes" to a background question."""
    return [
        Finding(CheckName.ANSWERS, f"answer_{f.question}"[:50], f.explanation)
        for f in answers.check_answers(ctx.application.answers or {})
    ]


def face_check(ctx: ScreeningContext) -> list[Finding]:
    """The applicant's face against earlier applicants': the same face under another identity."""
    return [
        Finding(
            CheckName.FACE,
            face.IDENTITY_CONFLICT,
            f.explanation,
            score=round(f.distance, 4),
            related_application_id=f.related_application_id,
            details=f.details,
        )
        for f in face.check_face(
            ctx.session,
            ctx.application,
            ctx.photo_settings,
            photo=ctx.prefetched.pop(CheckName.FACE, None),
        )
    ]


def chip_check(ctx: ScreeningContext) -> list[Finding]:
    """The passport chip: passive authentication, and the photo against the chip's face (1:1)."""
    return [
        Finding(f.check, f.code, f.explanation, score=f.score, details=f.details)
        for f in chip.check_chip(
            ctx.session,
            ctx.application,
            ctx.photo_settings,
            ctx.chip_settings or ChipSettings(),
            utcnow(),
            present=ctx.prefetched.pop(CheckName.CHIP, None),
        )
    ]


# The checks an initial screening runs, in order; a re-screen after a list change runs only the
# ones that depend on the lists. The face and chip checks come last: they store what they
# computed (a template, the chip's result), and a later check's failure (a rollback) would undo
# that; the chip check's own failure costs the face check's template at most (computed again).
CHECKS: dict[CheckName, Check] = {
    CheckName.DOCUMENT: document_check,
    CheckName.LOST_STOLEN: lost_stolen_check,
    CheckName.WATCHLIST: watchlist_check,
    CheckName.RULE: rules_check,
    CheckName.HISTORY: history_check,
    CheckName.ANSWERS: answers_check,
    CheckName.FACE: face_check,
    CheckName.CHIP: chip_check,
}
LIST_CHECKS = (CheckName.LOST_STOLEN, CheckName.WATCHLIST)


def is_transient(error: BaseException) -> bool:
    """Errors worth a retry (the database or the network blinked), not a bug in a check.

    A statement cancelled by the check's own timeout is not: a check that hangs (a locked
    table) would hang again, so it is a `check_failed` referral at once.
    """
    if isinstance(getattr(error, "orig", None), psycopg.errors.QueryCanceled):
        return False
    if isinstance(error, OperationalError | ConnectionError | TimeoutError):
        return True
    return isinstance(error, DBAPIError) and error.connection_invalidated


NO_WATCHLIST = "no watchlist loaded"


def check_failed(check: CheckName | str, reason: str) -> Finding:
    """The finding that refers an application whose check could not complete."""
    name = CheckName(check).value if isinstance(check, CheckName) else check
    return Finding(
        CheckName.CHECK_FAILED,
        f"{name}_failed"[:50],
        f"The {name} check could not complete ({reason}): screen this application by hand",
        details={"check": name},
    )


# SET LOCAL statement_timeout, as a statement SQLAlchemy builds (set_config's third argument:
# for this transaction only). Built once, like the checks' statements, so it can be pipelined.
_STATEMENT_TIMEOUT = select(func.set_config("statement_timeout", bindparam("timeout"), True))


def _timeout_statement(ctx: ScreeningContext) -> tuple[Any, dict[str, Any]] | None:
    """The statement that limits each of the checks' statements, on PostgreSQL; else None."""
    if not ctx.statement_timeout or ctx.session.get_bind().dialect.name != "postgresql":
        return None
    milliseconds = max(1, round(ctx.statement_timeout * 1000))
    return _STATEMENT_TIMEOUT, {"timeout": f"{milliseconds}ms"}


def limit_statements(ctx: ScreeningContext) -> None:
    """Give the checks' transaction its statement timeout (again after each rollback)."""
    planned = _timeout_statement(ctx)
    if planned is not None:
        ctx.session.execute(*planned)


def _failure_reason(error: BaseException) -> str:
    """What an officer reads of a check's failure: a timeout says so, others name the error."""
    if isinstance(getattr(error, "orig", None), psycopg.errors.QueryCanceled):
        return "timed out"
    return type(error).__name__


def _prefetch(ctx: ScreeningContext, checks: list[CheckName]) -> bool:
    """Read the queries of the checks about to run in one round trip (PostgreSQL only).

    Each check then uses its rows instead of asking the database itself. Nothing is read ahead
    elsewhere, or when reading ahead failed: each check then runs its own query, and fails (or
    not) on its own, as without this.
    """
    from eta.screening.lists.store import ACTIVE_STATE_QUERY

    a = ctx.application
    queries = {
        CheckName.LOST_STOLEN: lambda: _lost_stolen_query(a),
        CheckName.WATCHLIST: lambda: (ACTIVE_STATE_QUERY, {}),
        CheckName.RULE: lambda: (_RULES_QUERY, {}),
        CheckName.HISTORY: lambda: history.others_query(a),
        CheckName.FACE: lambda: store.screening_query(a.id),
        CheckName.CHIP: lambda: chip_store.screening_query(a.id),
    }
    wanted = [name for name in checks if name in queries]
    if len(wanted) < 2:
        return False  # nothing to save
    try:
        planned = [queries[name]() for name in wanted]
    except Exception:  # an application a check would fail on: that check says so itself
        return False
    # The statement timeout goes first, in the same round trip, and limits the reads after it.
    limit = _timeout_statement(ctx)
    rows = fetch_together(ctx.session, planned if limit is None else [limit, *planned])
    if rows is None:
        return False  # rolled back: the timeout is gone with the transaction
    ctx.prefetched.update(zip(wanted, rows if limit is None else rows[1:], strict=True))
    return True


def screen(
    session: SessionLike,
    application: Application,
    *,
    threshold: float = names.DEFAULT_THRESHOLD,
    today: dt.date | None = None,
    only: tuple[CheckName, ...] | None = None,
    retry_transient: bool = False,
    context: ScreeningContext | None = None,
    statement_timeout: float | None = None,
    partner_keys: Sequence[EpochKey] = (),
    photo_settings: PhotoSettings | None = None,
    chip_settings: ChipSettings | None = None,
) -> ScreeningResult:
    """Run the checks on an application and return every finding; never raises for a check.

    A check that raises is recorded as a `check_failed` finding naming it, except that with
    `retry_transient` a transient error (database, network) propagates so the job is retried.
    Pass a `context` to learn which check was running if the caller is interrupted (timeout).
    With a `statement_timeout` (seconds; or the context's), each statement of a check that
    runs longer is cancelled (PostgreSQL), and that check fails: the application is referred.
    `partner_keys` (or the context's) are the partners' feed keys the lost/stolen check uses;
    `photo_settings` (or the context's) the photo key and threshold of the face check,
    `chip_settings` (or the context's) the chip check's 1:1 threshold.
    """
    ctx = context or ScreeningContext(
        session,
        application,
        threshold,
        today or utcnow().date(),
        statement_timeout=statement_timeout,
        partner_keys=partner_keys,
        photo_settings=photo_settings,
        chip_settings=chip_settings,
    )
    ctx.list_versions["threshold"] = threshold
    if not _prefetch(ctx, [name for name in CHECKS if only is None or name in only]):
        limit_statements(ctx)
    findings: list[Finding] = []
    for name, check in CHECKS.items():
        if only is not None and name not in only:
            continue
        ctx.current_check = name
        try:
            findings.extend(check(ctx))
        except Exception as error:
            if retry_transient and is_transient(error):
                raise
            log.exception("screening check %s failed for application %s", name, application.id)
            session.rollback()  # a failed statement must not poison the decision's transaction
            limit_statements(ctx)  # the rollback ended the transaction and its timeout
            findings.append(check_failed(name, _failure_reason(error)))
    ctx.current_check = None
    return ScreeningResult(findings, dict(ctx.list_versions))


_RUNS: Table = ScreeningRun.__table__  # type: ignore[assignment]
_HITS: Table = ScreeningHit.__table__  # type: ignore[assignment]


def run_record(
    application: Application, result: ScreeningResult, *, purpose: str = INITIAL
) -> applications.Attached:
    """A finished ScreeningRun with one ScreeningHit per finding, as rows to insert.

    For `record_run()`, or for `applications.advance(attach=...)`, which writes them with the
    decision (on PostgreSQL in the same statement).
    """
    now = utcnow()
    return applications.Attached(
        _RUNS,
        {
            "application_id": application.id,
            "purpose": purpose,
            "started_at": now,
            "finished_at": now,
            "outcome": (RunOutcome.CLEAR if result.clear else RunOutcome.HIT).value,
            "algorithm_version": ALGORITHM_VERSION,
            "list_versions": result.list_versions,
        },
        _HITS,
        "run_id",
        [
            {
                "check_name": finding.check.value,
                "code": finding.code,
                "score": finding.score,
                "explanation": finding.explanation,
                "watchlist_entry_id": finding.watchlist_entry_id,
                "rule_version_id": finding.rule_version_id,
                "related_application_id": finding.related_application_id,
                "details": finding.details,
            }
            for finding in result.findings
        ],
    )


def record_run(
    session: SessionLike,
    application: Application,
    result: ScreeningResult,
    *,
    purpose: str = INITIAL,
) -> int:
    """Insert a finished ScreeningRun with one ScreeningHit per finding; returns the run's id.

    Core statements in the caller's transaction (the caller commits): a run and its hits are
    written once and never changed, so the unit of work's bookkeeping would be pure cost.
    """
    return applications.insert_attached(session, run_record(application, result, purpose=purpose))


def earlier_findings(session: SessionLike, application_id: int) -> set[tuple[str, ...]]:
    """Identities of every hit any earlier run of this application recorded."""
    seen: set[tuple[str, ...]] = set()
    for hit in session.scalars(
        select(ScreeningHit)
        .join(ScreeningRun, ScreeningRun.id == ScreeningHit.run_id)
        .where(ScreeningRun.application_id == application_id)
    ):
        finding = Finding(
            CheckName(hit.check_name), hit.code, hit.explanation, details=hit.details or {}
        )
        seen.add(finding.identity())
    return seen
