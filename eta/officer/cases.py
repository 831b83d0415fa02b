"""The officer's work: the deadline queue, the case view, claims and decisions (four eyes)."""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from typing import Any

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from redis.exceptions import RedisError
from sqlalchemy import exists, or_, select
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.attributes import flag_modified
from sqlalchemy.orm.exc import StaleDataError

from eta import applications, audit
from eta.applications.reasons import REFUSAL_REASONS, REVOCATION_REASONS
from eta.extensions import db, redis_client
from eta.models import (
    Actor,
    Application,
    ApplicationStatus,
    Authorisation,
    Decision,
    DecisionKind,
    DecisionState,
    InformationRequest,
    Officer,
    RiskRule,
    RiskRuleVersion,
    Role,
    ScreeningHit,
    ScreeningRun,
    WatchlistEntry,
    WatchlistSource,
    WatchlistVersion,
)
from eta.officer.blueprint import blueprint, has_role, me, role_required
from eta.timeutil import utcnow
from eta.traveller.information import information_link
from workers.enqueue import enqueue
from workers.queues import ISSUANCE, NOTIFICATIONS

log = logging.getLogger(__name__)

IN_QUEUE = (ApplicationStatus.REFERRED, ApplicationStatus.INFO_REQUESTED)
SCOPES = ("all", "mine", "unclaimed", "overdue")


class CaseChanged(Exception):
    """The case was changed by someone else since the officer loaded it."""


def _actor() -> str:
    return f"officer:{me().id}"


def time_left(application: Application, now: dt.datetime) -> tuple[str, bool]:
    """Words for the time left to decide, and whether the deadline has passed."""
    if application.status == ApplicationStatus.INFO_REQUESTED:
        return _("Paused: waiting for the traveller"), False
    if application.decision_deadline is None:
        return _("No deadline"), False
    left = application.decision_deadline - now
    overdue = left < dt.timedelta(0)
    hours = int(abs(left).total_seconds() // 3600)
    days, hours = divmod(hours, 24)
    span = (
        _("%(days)d d %(hours)d h", days=days, hours=hours)
        if days
        else _(
            "%(hours)d h %(minutes)d min",
            hours=hours,
            minutes=int(abs(left).total_seconds() // 60) % 60,
        )
    )
    if overdue:
        return _("Overdue by %(span)s", span=span), True
    return span, False


def _hit_types(application_ids: list[int]) -> dict[int, list[str]]:
    kinds: dict[int, set[str]] = defaultdict(set)
    if application_ids:
        rows = db.session.execute(
            select(ScreeningRun.application_id, ScreeningHit.check_name)
            .join(ScreeningHit, ScreeningHit.run_id == ScreeningRun.id)
            .where(ScreeningRun.application_id.in_(application_ids))
        )
        for application_id, check in rows:
            kinds[application_id].add(check)
    return {key: sorted(value) for key, value in kinds.items()}


@blueprint.get("/")
@role_required(Role.OFFICER)
def queue() -> str:
    """Referred cases by decision deadline, with time left, hit types and filters."""
    check = request.args.get("check", "")
    nationality = request.args.get("nationality", "").strip().upper()
    scope = request.args.get("scope", "all")
    now = utcnow()
    stmt = select(Application).where(Application.status.in_(IN_QUEUE))
    if check:
        stmt = stmt.where(
            exists(
                select(ScreeningHit.id)
                .join(ScreeningRun, ScreeningHit.run_id == ScreeningRun.id)
                .where(ScreeningRun.application_id == Application.id)
                .where(ScreeningHit.check_name == check)
            )
        )
    if nationality:
        stmt = stmt.where(Application.nationality == nationality)
    if scope == "mine":
        stmt = stmt.where(Application.claimed_by_id == me().id)
    elif scope == "unclaimed":
        stmt = stmt.where(Application.claimed_by_id.is_(None))
    elif scope == "overdue":
        stmt = stmt.where(
            Application.status == ApplicationStatus.REFERRED,
            Application.decision_deadline < now,
        )
    stmt = stmt.order_by(Application.decision_deadline.asc().nulls_last(), Application.id)
    cases = db.session.scalars(stmt.limit(500)).all()
    kinds = _hit_types([case.id for case in cases])
    claimers = {
        officer.id: officer
        for officer in db.session.scalars(
            select(Officer).where(
                Officer.id.in_({c.claimed_by_id for c in cases if c.claimed_by_id})
            )
        )
    }
    rows = []
    for case in cases:
        left, overdue = time_left(case, now)
        rows.append(
            {
                "case": case,
                "time_left": left,
                "overdue": overdue,
                "hits": kinds.get(case.id, []),
                "claimed_by": claimers.get(case.claimed_by_id or 0),
            }
        )
    flagged = db.session.scalars(
        select(Authorisation)
        .where(Authorisation.flagged_at.is_not(None), Authorisation.revoked_at.is_(None))
        .order_by(Authorisation.flagged_at)
        .limit(100)
    ).all()
    from eta.models import CheckName

    return render_template(
        "officer/queue.html",
        rows=rows,
        flagged=flagged,
        checks=[c.value for c in CheckName],
        filters={"check": check, "nationality": nationality, "scope": scope},
        scopes=SCOPES,
    )


def _case_or_404(application_id: int) -> Application:
    application = db.session.get(Application, application_id)
    if application is None:
        abort(404)
    return application


def _history(application: Application) -> list[Application]:
    """The applicant's other applications: same passport, or same names and date of birth."""
    if application.erased_at is not None:
        # Erased: nothing left to match on (NULL matches nothing, but say so rather than ask).
        return []
    return list(
        db.session.scalars(
            select(Application)
            .where(Application.id != application.id)
            .where(
                or_(
                    (
                        Application.passport_number_normalised
                        == application.passport_number_normalised
                    )
                    & (
                        Application.passport_issuing_country == application.passport_issuing_country
                    ),
                    (Application.surname_mrz == application.surname_mrz)
                    & (Application.given_names_mrz == application.given_names_mrz)
                    & (Application.date_of_birth == application.date_of_birth),
                )
            )
            .order_by(Application.created_at.desc())
            .limit(50)
        )
    )


def _evidence(application: Application) -> list[dict[str, Any]]:
    """Every screening run with its hits, each with the list entry or rule it matched."""
    runs = db.session.scalars(
        select(ScreeningRun)
        .where(ScreeningRun.application_id == application.id)
        .options(selectinload(ScreeningRun.hits))
        .order_by(ScreeningRun.id.desc())
    ).all()
    out = []
    for run in runs:
        hits = []
        for hit in run.hits:
            item: dict[str, Any] = {"hit": hit}
            if hit.watchlist_entry_id:
                entry = db.session.get(WatchlistEntry, hit.watchlist_entry_id)
                version = db.session.get(WatchlistVersion, entry.version_id) if entry else None
                source = db.session.get(WatchlistSource, version.source_id) if version else None
                item.update(entry=entry, list_version=version, source=source)
            if hit.rule_version_id:
                rule_version = db.session.get(RiskRuleVersion, hit.rule_version_id)
                item["rule_version"] = rule_version
                item["rule"] = (
                    db.session.get(RiskRule, rule_version.rule_id) if rule_version else None
                )
            if hit.related_application_id:
                item["related"] = db.session.get(Application, hit.related_application_id)
            hits.append(item)
        out.append({"run": run, "hits": hits})
    return out


@blueprint.get("/cases/<int:application_id>")
@role_required(Role.OFFICER)
def case(application_id: int) -> str:
    """One case: the application, the evidence, the history, requests and decisions."""
    application = _case_or_404(application_id)
    audit.record(
        db.session,
        "application.viewed",
        actor=_actor(),
        object_type="application",
        object_id=application.reference,
    )
    db.session.commit()
    officers = {o.id: o for o in db.session.scalars(select(Officer))}
    decisions = db.session.scalars(
        select(Decision).where(Decision.application_id == application.id).order_by(Decision.id)
    ).all()
    requests = db.session.scalars(
        select(InformationRequest)
        .where(InformationRequest.application_id == application.id)
        .order_by(InformationRequest.id)
    ).all()
    left, overdue = time_left(application, utcnow())
    return render_template(
        "officer/case.html",
        application=application,
        evidence=_evidence(application),
        history=_history(application),
        decisions=decisions,
        pending=next((d for d in decisions if d.state == DecisionState.PROPOSED), None),
        requests=requests,
        officers=officers,
        time_left=left,
        overdue=overdue,
        refusal_reasons=REFUSAL_REASONS,
        revocation_reasons=REVOCATION_REASONS,
        can_act=application.claimed_by_id in (None, me().id),
        is_supervisor=has_role(me(), Role.SUPERVISOR),
        undecided=application.status in IN_QUEUE,
    )


def _checked(application: Application) -> None:
    """Refuse to act on a stale page: the form's version must be the case's current version."""
    if request.form.get("version", "") != str(application.version):
        raise CaseChanged


def _changed() -> ResponseReturnValue:
    db.session.rollback()
    flash(
        _(
            "This case changed while you were looking at it. Nothing was saved: "
            "check the case again before you act."
        ),
        "error",
    )
    return redirect(url_for("officer.case", application_id=request.view_args["application_id"]))  # type: ignore[index]


def _take(application: Application) -> None:
    """Act only on a case that is unclaimed or claimed by me; claim it and bump its version."""
    officer = me()
    if application.claimed_by_id not in (None, officer.id):
        abort(403)
    application.claimed_by_id = officer.id
    application.claimed_at = application.claimed_at or utcnow()
    # Every action changes the row, so a second officer's stale form is detected.
    flag_modified(application, "claimed_by_id")


def _notify(application: Application, message: str, link: str | None = None) -> None:
    try:
        enqueue(
            redis_client.client,
            NOTIFICATIONS,
            "workers.notifications.notify_traveller",
            application.id,
            message,
            *([link] if link else []),
            job_id=f"notify-{message}-{application.id}-{utcnow().timestamp():.0f}",
        )
    except RedisError:
        # The decision is committed; the email is best effort and logged for the operator.
        log.exception("could not queue the %s email for application %s", message, application.id)


@blueprint.post("/cases/<int:application_id>/claim")
@role_required(Role.OFFICER)
def claim(application_id: int) -> ResponseReturnValue:
    """Claim a case so others know you are working on it."""
    application = _case_or_404(application_id)
    try:
        _checked(application)
        if application.status not in IN_QUEUE:
            abort(409)
        _take(application)
        application.claimed_at = utcnow()
        audit.record(
            db.session,
            "application.claimed",
            actor=_actor(),
            object_type="application",
            object_id=application.reference,
        )
        db.session.commit()
    except (CaseChanged, StaleDataError):
        return _changed()
    flash(_("You have claimed this case."), "success")
    return redirect(url_for("officer.case", application_id=application.id))


@blueprint.post("/cases/<int:application_id>/release")
@role_required(Role.OFFICER)
def release(application_id: int) -> ResponseReturnValue:
    """Release a claim: your own, or anyone's if you are a supervisor."""
    application = _case_or_404(application_id)
    if application.claimed_by_id not in (None, me().id) and not has_role(me(), Role.SUPERVISOR):
        abort(403)
    try:
        _checked(application)
        application.claimed_by_id = None
        application.claimed_at = None
        audit.record(
            db.session,
            "application.released",
            actor=_actor(),
            object_type="application",
            object_id=application.reference,
        )
        db.session.commit()
    except (CaseChanged, StaleDataError):
        return _changed()
    flash(_("You have released this case."), "success")
    return redirect(url_for("officer.queue"))


def _decidable(application: Application) -> None:
    if application.status != ApplicationStatus.REFERRED:
        raise CaseChanged


@blueprint.post("/cases/<int:application_id>/approve")
@role_required(Role.OFFICER)
def approve(application_id: int) -> ResponseReturnValue:
    """Approve the case; issuance follows on the queue."""
    application = _case_or_404(application_id)
    try:
        _checked(application)
        _take(application)
        _decidable(application)
        applications.approve(db.session, application, officer_id=me().id)
    except (CaseChanged, StaleDataError, applications.LifecycleError):
        return _changed()
    try:
        enqueue(
            redis_client.client,
            ISSUANCE,
            "workers.issuance.issue_authorisation",
            application.id,
            job_id=f"issue-{application.id}",
        )
    except RedisError:
        # Approved in the database; the maintenance sweeper re-enqueues issuance.
        log.exception("could not queue issuance for application %s", application.id)
    flash(_("Approved. The authorisation is being issued."), "success")
    return redirect(url_for("officer.queue"))


@blueprint.post("/cases/<int:application_id>/refuse")
@role_required(Role.OFFICER)
def propose_refusal(application_id: int) -> ResponseReturnValue:
    """Propose a refusal; it takes effect only when a different supervisor confirms it."""
    application = _case_or_404(application_id)
    reason = request.form.get("reason_code", "")
    note = request.form.get("note", "").strip()
    if reason not in REFUSAL_REASONS or not note:
        flash(_("Choose a reason for refusing and write a note for the record."), "error")
        return redirect(url_for("officer.case", application_id=application.id))
    try:
        _checked(application)
        _take(application)
        _decidable(application)
        if db.session.scalar(
            select(Decision.id).where(
                Decision.application_id == application.id,
                Decision.state == DecisionState.PROPOSED,
            )
        ):
            raise CaseChanged
        decision = Decision(
            application_id=application.id,
            kind=DecisionKind.REFUSE,
            reason_code=reason,
            note=note,
            proposed_by_id=me().id,
        )
        db.session.add(decision)
        db.session.flush()
        audit.record(
            db.session,
            "decision.proposed",
            actor=_actor(),
            object_type="application",
            object_id=application.reference,
            details={"decision": decision.id, "kind": "refuse", "reason": reason},
        )
        db.session.commit()
    except (CaseChanged, StaleDataError):
        return _changed()
    flash(_("Refusal proposed. A supervisor must confirm it before it takes effect."), "success")
    return redirect(url_for("officer.case", application_id=application.id))


def _decision_or_404(application: Application, decision_id: int) -> Decision:
    decision = db.session.get(Decision, decision_id)
    # A decision is addressed through its own case: ids of other cases are not found (IDOR).
    if decision is None or decision.application_id != application.id:
        abort(404)
    return decision


def _proposal_for_second_officer(
    application_id: int, decision_id: int
) -> tuple[Application, Decision]:
    """The case and its proposed decision, for an officer other than the proposer (else 403)."""
    application = _case_or_404(application_id)
    decision = _decision_or_404(application, decision_id)
    if decision.proposed_by_id == me().id:
        abort(403)
    return application, decision


def _settle(decision: Decision, state: DecisionState) -> None:
    """Record the second officer's answer to a proposal."""
    decision.state = state
    decision.confirmed_by_id = me().id
    decision.confirmed_at = utcnow()


@blueprint.post("/cases/<int:application_id>/decisions/<int:decision_id>/confirm")
@role_required(Role.SUPERVISOR)
def confirm_refusal(application_id: int, decision_id: int) -> ResponseReturnValue:
    """A second officer (a supervisor, not the proposer) confirms a proposed refusal."""
    application, decision = _proposal_for_second_officer(application_id, decision_id)
    try:
        _checked(application)
        _decidable(application)
        if decision.state != DecisionState.PROPOSED:
            raise CaseChanged
        _settle(decision, DecisionState.CONFIRMED)
        audit.record(
            db.session,
            "decision.confirmed",
            actor=_actor(),
            object_type="application",
            object_id=application.reference,
            details={"decision": decision.id, "reason": decision.reason_code},
        )
        applications.refuse(
            db.session,
            application,
            officer_id=decision.proposed_by_id,
            reason_code=decision.reason_code,
            note=decision.note,
        )
    except (CaseChanged, StaleDataError, applications.LifecycleError):
        return _changed()
    _notify(application, "refused")
    flash(_("Refusal confirmed. The traveller will be told the reason."), "success")
    return redirect(url_for("officer.decisions"))


@blueprint.post("/cases/<int:application_id>/decisions/<int:decision_id>/reject")
@role_required(Role.SUPERVISOR)
def reject_refusal(application_id: int, decision_id: int) -> ResponseReturnValue:
    """A supervisor sends a proposed refusal back; the case stays in the queue."""
    application, decision = _proposal_for_second_officer(application_id, decision_id)
    try:
        _checked(application)
        if decision.state != DecisionState.PROPOSED:
            raise CaseChanged
        _settle(decision, DecisionState.REJECTED)
        flag_modified(application, "claimed_by_id")
        audit.record(
            db.session,
            "decision.rejected",
            actor=_actor(),
            object_type="application",
            object_id=application.reference,
            details={"decision": decision.id},
        )
        db.session.commit()
    except (CaseChanged, StaleDataError):
        return _changed()
    flash(_("Refusal not confirmed. The case is back with its officer."), "success")
    return redirect(url_for("officer.decisions"))


@blueprint.get("/decisions")
@role_required(Role.SUPERVISOR)
def decisions() -> str:
    """Refusals waiting for a second officer's confirmation."""
    pending = db.session.execute(
        select(Decision, Application)
        .join(Application, Application.id == Decision.application_id)
        .where(Decision.state == DecisionState.PROPOSED)
        # A proposal on a case decided otherwise meanwhile (approved, withdrawn) is moot.
        .where(Application.status == ApplicationStatus.REFERRED)
        .order_by(Decision.proposed_at)
    ).all()
    officers = {o.id: o for o in db.session.scalars(select(Officer))}
    return render_template(
        "officer/decisions.html", pending=pending, officers=officers, reasons=REFUSAL_REASONS
    )


@blueprint.post("/cases/<int:application_id>/request-information")
@role_required(Role.OFFICER)
def request_information(application_id: int) -> ResponseReturnValue:
    """Ask the traveller questions; the deadline pauses until they answer on the emailed link."""
    application = _case_or_404(application_id)
    questions = request.form.get("questions", "").strip()
    if not questions:
        flash(_("Write the questions for the traveller."), "error")
        return redirect(url_for("officer.case", application_id=application.id))
    try:
        _checked(application)
        _take(application)
        _decidable(application)
        info = InformationRequest(
            application_id=application.id, officer_id=me().id, questions=questions
        )
        db.session.add(info)
        db.session.flush()
        audit.record(
            db.session,
            "information.requested",
            actor=_actor(),
            object_type="application",
            object_id=application.reference,
            details={"request": info.id},
        )
        applications.request_info(db.session, application, officer_id=me().id)
    except (CaseChanged, StaleDataError, applications.LifecycleError):
        return _changed()
    _notify(application, "info_requested", information_link(info.id))
    flash(_("Questions sent. The deadline is paused until the traveller answers."), "success")
    return redirect(url_for("officer.queue"))


@blueprint.post("/cases/<int:application_id>/revoke")
@role_required(Role.OFFICER)
def revoke(application_id: int) -> ResponseReturnValue:
    """Revoke the case's issued authorisation (revocation list updated, traveller emailed)."""
    from eta import authorisations

    application = _case_or_404(application_id)
    authorisation = application.authorisation
    reason = request.form.get("reason_code", "")
    if authorisation is None or authorisation.revoked_at is not None:
        abort(404)
    if reason not in REVOCATION_REASONS:
        flash(_("Choose a reason for revoking."), "error")
        return redirect(url_for("officer.case", application_id=application.id))
    try:
        _checked(application)
        authorisations.revoke(
            db.session, authorisation, reason_code=reason, officer_id=me().id, actor=Actor.OFFICER
        )
    except (CaseChanged, StaleDataError, applications.LifecycleError):
        return _changed()
    flash(_("The authorisation is revoked."), "success")
    current_app.logger.info("authorisation of %s revoked", application.reference)
    return redirect(url_for("officer.case", application_id=application.id))
