"""Admin pages: officer accounts (create, deactivate, end sessions) and audit search."""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from sqlalchemy import select

from eta import audit
from eta.accounts import AccountError, create_officer
from eta.accounts import sessions as staff_sessions
from eta.extensions import db
from eta.models import Application, AuditEvent, Officer, Role
from eta.officer.auth import end_sessions, otpauth_qr_data_uri
from eta.officer.blueprint import blueprint, me, role_required
from eta.officer.forms import ActionForm, ActiveForm, AuditFilterForm, OfficerForm, valid_data
from eta.timeutil import utcnow

AUDIT_PAGE_SIZE = 100


def _officer_or_404(officer_id: int) -> Officer:
    officer = db.session.get(Officer, officer_id)
    if officer is None:
        abort(404)
    return officer


@blueprint.get("/admin/officers")
@role_required(Role.ADMIN)
def officers() -> ResponseReturnValue:
    """Every officer account, with its role, state and last sign-in."""
    return _officers_page(OfficerForm(formdata=None))


def _officers_page(form: OfficerForm, status: int = 200) -> ResponseReturnValue:
    rows = db.session.scalars(select(Officer).order_by(Officer.email)).all()
    return render_template(
        "officer/officers.html", officers=rows, form=form, action=ActionForm(formdata=None)
    ), status


@blueprint.post("/admin/officers")
@role_required(Role.ADMIN)
def create_officer_account() -> ResponseReturnValue:
    """Create an officer; the TOTP secret and its QR are shown once, for enrolment."""
    form = OfficerForm()
    if not form.validate():
        return _officers_page(form, 400)
    try:
        created = create_officer(
            db.session,
            form.email.data or "",
            form.password.data or "",
            form.role.data,
            issuer=current_app.config["ETA_SERVICE_NAME"],
            actor=f"officer:{me().id}",
        )
    except AccountError:
        db.session.rollback()
        # The form has checked the role and the password's length: what the accounts package
        # still refuses is an address already in use.
        form.email.errors = [_("An officer with this email address already exists")]
        return _officers_page(form, 400)
    return render_template(
        "officer/officer_created.html",
        created=created,
        qr=otpauth_qr_data_uri(created.otpauth_uri),
    )


@blueprint.post("/admin/officers/<int:officer_id>/end-sessions")
@role_required(Role.ADMIN)
def end_officer_sessions(officer_id: int) -> ResponseReturnValue:
    """End every session of another officer (a lost laptop, a leaver)."""
    officer = _officer_or_404(officer_id)
    end_sessions(officer, actor=f"officer:{me().id}")
    flash(_("Every session of %(email)s has ended.", email=officer.email), "success")
    return redirect(url_for("officer.officers"))


@blueprint.post("/admin/officers/<int:officer_id>/active")
@role_required(Role.ADMIN)
def set_officer_active(officer_id: int) -> ResponseReturnValue:
    """Deactivate or reactivate an officer (deactivation also ends their sessions)."""
    officer = _officer_or_404(officer_id)
    if officer.id == me().id:
        abort(403)
    form = ActiveForm()
    if not form.validate():
        abort(400)
    officer.active = form.active.data == "1"
    if not officer.active:
        staff_sessions.end_all_sessions(
            db.session,
            officer,
            actor=f"officer:{me().id}",
            now=utcnow(),
            reason=staff_sessions.DEACTIVATED,
        )
    audit.record(
        db.session,
        "officer.activated" if officer.active else "officer.deactivated",
        actor=f"officer:{me().id}",
        object_type="officer",
        object_id=officer.id,
    )
    db.session.commit()
    return redirect(url_for("officer.officers"))


@blueprint.get("/admin/audit")
@role_required(Role.ADMIN)
def audit_search() -> str:
    """Search audit events by action, actor and object, newest first."""
    form = AuditFilterForm(formdata=request.args)
    chosen = valid_data(form)
    action = chosen.get("action") or ""
    actor = chosen.get("actor") or ""
    object_id = chosen.get("object_id") or ""
    before = chosen.get("before")  # bounded by the form: a number no id can reach is ignored
    stmt = select(AuditEvent)
    if action:
        stmt = stmt.where(AuditEvent.action.startswith(action))
    if actor:
        stmt = stmt.where(AuditEvent.actor == actor)
    if object_id:
        stmt = stmt.where(AuditEvent.object_id == object_id)
    if before:
        stmt = stmt.where(AuditEvent.id < before)
    events = db.session.scalars(stmt.order_by(AuditEvent.id.desc()).limit(AUDIT_PAGE_SIZE)).all()
    audit.record(
        db.session,
        "audit.searched",
        actor=f"officer:{me().id}",
        object_type="audit",
        details={"action": action, "actor": actor, "object_id": object_id},
    )
    db.session.commit()
    references = {e.object_id for e in events if e.object_type == "application" and e.object_id}
    cases = {
        reference: case_id
        for reference, case_id in db.session.execute(
            select(Application.reference, Application.id).where(
                Application.reference.in_(references)
            )
        )
    }
    return render_template(
        "officer/audit.html",
        events=events,
        cases=cases,
        form=form,
        filters={"action": action, "actor": actor, "object_id": object_id},
        more=len(events) == AUDIT_PAGE_SIZE,
    )
