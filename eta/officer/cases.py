"""The officer's work: the deadline queue, the case view, claims and decisions (four eyes)."""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy import exists, or_, select
from sqlalchemy.orm import selectinload

from eta import audit
from eta.applications import decisions
from eta.applications.labels import PURPOSE_LABELS, SEX_OPTIONS, answer_rows
from eta.applications.reasons import REFUSAL_REASONS
from eta.applications.review import latest_review
from eta.chip.store import chip_row
from eta.countries import country_name_in
from eta.extensions import db
from eta.models import (
    Application,
    ApplicationStatus,
    Authorisation,
    Decision,
    DecisionState,
    InformationRequest,
    Officer,
    ReviewRequest,
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
from eta.officer.forms import (
    CaseActionForm,
    QueueFilterForm,
    RefusalForm,
    RequestInformationForm,
    RevokeForm,
    valid_data,
)
from eta.officer.photos import with_photos
from eta.timeutil import utcnow

log = logging.getLogger(__name__)

IN_QUEUE = decisions.IN_QUEUE


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
    form = QueueFilterForm(formdata=request.args)
    # A filter that does not read is shown with its message and left out, never a 500.
    chosen = valid_data(form)
    check = chosen.get("check") or ""
    nationality = chosen.get("nationality") or ""
    scope = chosen.get("scope") or "all"
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
    proposed = set(
        db.session.scalars(
            select(Decision.application_id).where(
                Decision.application_id.in_([case.id for case in cases]),
                Decision.state == DecisionState.PROPOSED,
            )
        )
    )
    reviewing = set(
        db.session.scalars(
            select(ReviewRequest.application_id).where(
                ReviewRequest.application_id.in_([case.id for case in cases]),
                ReviewRequest.outcome.is_(None),
            )
        )
    )
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
                "refusal_proposed": case.id in proposed,
                "review_requested": case.id in reviewing,
            }
        )
    flagged = db.session.scalars(
        select(Authorisation)
        .where(Authorisation.flagged_at.is_not(None), Authorisation.revoked_at.is_(None))
        .order_by(Authorisation.flagged_at)
        .limit(100)
    ).all()
    return render_template(
        "officer/queue.html",
        rows=rows,
        flagged=flagged,
        form=form,
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
    return _case_page(_case_or_404(application_id))


def _case_forms(application: Application, bound: dict[str, CaseActionForm]) -> dict[str, Any]:
    """The case page's forms: empty ones, or the one just sent back with its errors."""
    forms: dict[str, Any] = {
        "action": CaseActionForm(formdata=None),
        "refuse": RefusalForm(formdata=None),
        "request_information": RequestInformationForm(formdata=None),
        "revoke": RevokeForm(formdata=None),
    }
    forms.update(bound)
    return forms


def _case_page(application: Application, **bound: CaseActionForm) -> str:
    """Render the case (its view audited), with `bound` forms showing what was refused."""
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
    evidence = _evidence(application)
    related = [
        found["related"].id for run in evidence for found in run["hits"] if "related" in found
    ]
    return render_template(
        "officer/case.html",
        application=application,
        evidence=evidence,
        photos=with_photos([application.id, *related]),
        chip=chip_row(db.session, application.id),
        history=_history(application),
        decisions=decisions,
        pending=next((d for d in decisions if d.state == DecisionState.PROPOSED), None),
        requests=requests,
        officers=officers,
        time_left=left,
        overdue=overdue,
        can_act=application.claimed_by_id in (None, me().id),
        is_supervisor=has_role(me(), Role.SUPERVISOR),
        undecided=application.status in IN_QUEUE,
        words=_in_words(application),
        forms=_case_forms(application, bound),
        errors=[error for form in bound.values() for error in form.error_list()],
        review=latest_review(db.session, application),
    )


def _in_words(application: Application) -> dict[str, Any]:
    """The case's coded fields as an officer reads them: countries, purpose, sex, answers."""
    language = str(get_locale() or "en")

    def country(code: str | None) -> str:
        # In the officer's language, as the rest of the page (CLDR names through Babel).
        return country_name_in(code, language) if code else ""

    residence = country(application.address_country)
    address = [
        application.address_line1,
        application.address_line2,
        application.address_city,
        application.address_postcode,
        residence,
    ]
    return {
        "sex": str(dict(SEX_OPTIONS).get(application.sex, application.sex or "")),
        "nationality": country(application.nationality),
        "passport_country": country(application.passport_issuing_country),
        "residence": residence,
        "purpose": str(PURPOSE_LABELS.get(application.travel_purpose, application.travel_purpose)),
        "address": ", ".join(part for part in address if part),
        "answers": answer_rows(application.answers),
    }


def _version(form: CaseActionForm | None = None) -> int | None:
    """The case version the officer's page was built from (the forms' hidden field)."""
    form = form or CaseActionForm()
    form.validate()
    # No version that reads: the verb takes the case as it is now (None), as before forms.
    return None if form.version.errors else form.version.data


def _refused(error: decisions.DecisionError, application_id: int) -> ResponseReturnValue:
    """Say why the action was not taken, and show the case again."""
    db.session.rollback()
    flash(_(error.message), "error")
    return redirect(url_for("officer.case", application_id=application_id))


def _decide(
    application: Application, take: Callable[[], object], done: str, then: str
) -> ResponseReturnValue:
    """Take one decision of the domain core, then say it was done and go to `then`.

    The verb checks every guard; what it refuses is shown on the case in the officer's words
    (403 for a case or role that is not the officer's), never a 500.
    """
    try:
        take()
    except decisions.NotYours:
        abort(403)
    except decisions.DecisionError as error:
        return _refused(error, application.id)
    flash(done, "success")
    return redirect(then)


@blueprint.post("/cases/<int:application_id>/claim")
@role_required(Role.OFFICER)
def claim(application_id: int) -> ResponseReturnValue:
    """Claim a case so others know you are working on it."""
    application = _case_or_404(application_id)
    return _decide(
        application,
        lambda: decisions.claim(db.session, application, me(), version=_version()),
        _("You have claimed this case."),
        url_for("officer.case", application_id=application.id),
    )


@blueprint.post("/cases/<int:application_id>/release")
@role_required(Role.OFFICER)
def release(application_id: int) -> ResponseReturnValue:
    """Release a claim: your own, or anyone's if you are a supervisor."""
    application = _case_or_404(application_id)
    return _decide(
        application,
        lambda: decisions.release(db.session, application, me(), version=_version()),
        _("You have released this case."),
        url_for("officer.queue"),
    )


@blueprint.post("/cases/<int:application_id>/approve")
@role_required(Role.OFFICER)
def approve(application_id: int) -> ResponseReturnValue:
    """Approve the case; issuance follows on the queue."""
    application = _case_or_404(application_id)
    return _decide(
        application,
        lambda: decisions.approve(db.session, application, me(), version=_version()),
        _("Approved. The authorisation is being issued."),
        url_for("officer.queue"),
    )


@blueprint.post("/cases/<int:application_id>/refuse")
@role_required(Role.OFFICER)
def propose_refusal(application_id: int) -> ResponseReturnValue:
    """Propose a refusal; it takes effect only when a different supervisor confirms it."""
    application = _case_or_404(application_id)
    form = RefusalForm()
    if not form.validate():
        return _case_page(application, refuse=form), 400
    return _decide(
        application,
        lambda: decisions.propose_refusal(
            db.session,
            application,
            me(),
            version=_version(form),
            reason_code=form.reason_code.data,
            note=form.note.data or "",
        ),
        _("Refusal proposed. A supervisor must confirm it before it takes effect."),
        url_for("officer.case", application_id=application.id),
    )


def _decision_or_404(application: Application, decision_id: int) -> Decision:
    decision = db.session.get(Decision, decision_id)
    # A decision is addressed through its own case: ids of other cases are not found (IDOR).
    if decision is None or decision.application_id != application.id:
        abort(404)
    return decision


@blueprint.post("/cases/<int:application_id>/decisions/<int:decision_id>/confirm")
@role_required(Role.SUPERVISOR)
def confirm_refusal(application_id: int, decision_id: int) -> ResponseReturnValue:
    """A second officer (a supervisor, not the proposer) confirms a proposed refusal."""
    application = _case_or_404(application_id)
    decision = _decision_or_404(application, decision_id)
    return _decide(
        application,
        lambda: decisions.confirm_refusal(
            db.session, application, decision, me(), version=_version()
        ),
        _("Refusal confirmed. The traveller will be told the reason."),
        url_for("officer.decisions"),
    )


@blueprint.post("/cases/<int:application_id>/decisions/<int:decision_id>/reject")
@role_required(Role.SUPERVISOR)
def reject_refusal(application_id: int, decision_id: int) -> ResponseReturnValue:
    """A supervisor sends a proposed refusal back; the case stays in the queue."""
    application = _case_or_404(application_id)
    decision = _decision_or_404(application, decision_id)
    return _decide(
        application,
        lambda: decisions.reject_refusal(
            db.session, application, decision, me(), version=_version()
        ),
        _("Refusal not confirmed. The case is back with its officer."),
        url_for("officer.decisions"),
    )


@blueprint.get("/decisions", endpoint="decisions")
@role_required(Role.SUPERVISOR)
def decisions_waiting() -> str:
    """Refusals waiting for a second officer's confirmation."""
    pending = db.session.execute(
        select(Decision, Application)
        .join(Application, Application.id == Decision.application_id)
        .where(Decision.state == DecisionState.PROPOSED)
        # A proposal on a case the traveller withdrew meanwhile is moot.
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
    form = RequestInformationForm()
    if not form.validate():
        return _case_page(application, request_information=form), 400
    return _decide(
        application,
        lambda: decisions.request_information(
            db.session,
            application,
            me(),
            version=_version(form),
            questions=form.questions.data or "",
        ),
        _("Questions sent. The deadline is paused until the traveller answers."),
        url_for("officer.queue"),
    )


@blueprint.post("/cases/<int:application_id>/revoke")
@role_required(Role.OFFICER)
def revoke(application_id: int) -> ResponseReturnValue:
    """Revoke the case's issued authorisation (revocation list updated, traveller emailed)."""
    application = _case_or_404(application_id)
    form = RevokeForm()
    if not form.validate():
        return _case_page(application, revoke=form), 400
    try:
        decisions.revoke(
            db.session,
            application,
            me(),
            version=_version(form),
            reason_code=form.reason_code.data,
        )
    except LookupError:
        abort(404)
    except decisions.DecisionError as error:
        return _refused(error, application_id)
    flash(_("The authorisation is revoked."), "success")
    current_app.logger.info("authorisation of %s revoked", application.reference)
    return redirect(url_for("officer.case", application_id=application.id))
