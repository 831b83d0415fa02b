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
from eta.timeutil import utcnow
from eta.web.edge import query_int

AUDIT_PAGE_SIZE = 100


def _officer_or_404(officer_id: int) -> Officer:
    officer = db.session.get(Officer, officer_id)
    if officer is None:
        abort(404)
    return officer


@blueprint.get("/admin/officers")
@role_required(Role.ADMIN)
def officers() -> str:
    """Every officer account, with its role, state and last sign-in."""
    rows = db.session.scalars(select(Officer).order_by(Officer.email)).all()
    return render_template("officer/officers.html", officers=rows, roles=[r.value for r in Role])


@blueprint.post("/admin/officers")
@role_required(Role.ADMIN)
def create_officer_account() -> ResponseReturnValue:
    """Create an officer; the TOTP secret and its QR are shown once, for enrolment."""
    try:
        created = create_officer(
            db.session,
            request.form.get("email", ""),
            request.form.get("password", ""),
            request.form.get("role", ""),
            issuer=current_app.config["ETA_SERVICE_NAME"],
            actor=f"officer:{me().id}",
        )
    except AccountError as error:
        flash(str(error), "error")
        return redirect(url_for("officer.officers"))
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
    officer.active = request.form.get("active") == "1"
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
    action = request.args.get("action", "").strip()
    actor = request.args.get("actor", "").strip()
    object_id = request.args.get("object_id", "").strip()
    before = query_int("before")  # bounded: a number no id can reach is ignored, not a 500
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
        filters={"action": action, "actor": actor, "object_id": object_id},
        more=len(events) == AUDIT_PAGE_SIZE,
    )
