"""Officer sign-in: password then a one-time TOTP code, lock-out, session timeouts, sign-out."""

from __future__ import annotations

import base64
import datetime as dt
import io
import time
from typing import Any

import pyotp
import qrcode
import qrcode.image.svg
from flask import Flask, current_app, flash, g, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import UserMixin, current_user, login_user, logout_user
from sqlalchemy import func, select

from eta import audit
from eta.accounts import lockout
from eta.accounts import sessions as staff_sessions
from eta.accounts.totp import accepted_step, claim_step
from eta.extensions import db, limiter, login_manager
from eta.models import Officer, Role, StaffSession
from eta.officer.blueprint import blueprint, me, role_required
from eta.officer.forms import ActionForm, CodeForm, SignInForm
from eta.timeutil import utcnow

__all__ = ["accepted_step", "end_sessions", "init_login", "otpauth_qr_data_uri"]

PENDING_SECONDS = 300  # time allowed between the password step and the code step
PUBLIC_ENDPOINTS = frozenset({"officer.sign_in", "officer.sign_in_code"})


class OfficerUser(UserMixin):
    """Flask-Login's view of an officer in one server-side session (the id is the session's)."""

    def __init__(self, officer: Officer, record: StaffSession, token: str) -> None:
        self.officer = officer
        self.record = record
        self.token = token

    def get_id(self) -> str:
        """The session's random id (its row says whether it is still open)."""
        return self.token


def _limits() -> staff_sessions.Limits:
    config = current_app.config
    return staff_sessions.Limits(
        idle=dt.timedelta(seconds=config["ETA_OFFICER_IDLE_SECONDS"]),
        absolute=dt.timedelta(seconds=config["ETA_OFFICER_ABSOLUTE_SECONDS"]),
    )


def load_officer(token: str) -> OfficerUser | None:
    """Flask-Login's user loader: the open session `token` names, for an active officer."""
    check = staff_sessions.check_session(db.session, token, _limits(), now=utcnow())
    g.officer_session_ended = check.ended
    record = check.session
    if record is None or record.officer_id is None:
        return None
    officer = db.session.get(Officer, record.officer_id)
    if officer is None or not officer.active:
        return None
    return OfficerUser(officer, record, token)


def init_login(app: Flask) -> None:
    """Bind Flask-Login to the app with the officer loader."""
    login_manager.init_app(app)
    login_manager.user_loader(load_officer)
    login_manager.login_view = "officer.sign_in"
    # Sessions are checked server-side; Flask-Login's protection would only add a second cookie.
    login_manager.session_protection = None


def _actor() -> str:
    return f"officer:{me().id}"


@blueprint.before_request
def require_sign_in() -> ResponseReturnValue | None:
    """Every officer page needs an open session: signed in, not idle, not too old."""
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    if not current_user.is_authenticated:
        if g.get("officer_session_ended") in (staff_sessions.IDLE, staff_sessions.EXPIRED):
            session.clear()
            flash(_("You were signed out because your session timed out. Sign in again."), "error")
        return redirect(url_for("officer.sign_in"))
    return None


def _lock_message(officer: Officer) -> str:
    until = officer.locked_until.strftime("%H:%M UTC") if officer.locked_until else ""
    return _("Too many failed attempts. Try again after %(time)s.", time=until)


def _policy() -> lockout.Policy:
    return lockout.policy(current_app.config, "OFFICER")


def _record_failure(officer: Officer | None, stage: str, *, locked: bool) -> None:
    """The audit record of a refused step (the counting is the lock-out's); commits."""
    audit.record(
        db.session,
        "officer.sign_in_failed",
        actor=f"officer:{officer.id}" if officer else "anonymous",
        object_type="officer",
        object_id=officer.id if officer else None,
        details={"stage": stage, "locked": locked},
    )
    db.session.commit()


def _sign_in_limit() -> str:
    return str(current_app.config["ETA_OFFICER_SIGN_IN_RATE_LIMIT"])


# Per client address, on top of the per-account lock: guessing one password across many
# accounts (spraying) never trips an account's lock, so the address is counted too.
@blueprint.route("/sign-in", methods=["GET", "POST"])
@limiter.shared_limit(_sign_in_limit, scope="officer-sign-in", methods=["POST"])
def sign_in() -> ResponseReturnValue:
    """First step: email address and password."""
    if current_user.is_authenticated:
        return redirect(url_for("officer.queue"))
    form = SignInForm()
    if form.validate_on_submit():
        email = form.email.data or ""
        officer = db.session.scalar(select(Officer).where(func.lower(Officer.email) == email))
        now = utcnow()
        outcome = lockout.check_sign_in(
            db.session, officer, form.password.data or "", _policy(), now=now
        )
        if outcome is lockout.Outcome.ACCEPTED:
            session.clear()
            session["officer_pending"] = {"id": officer.id, "at": time.time()}  # type: ignore[union-attr]
            return redirect(url_for("officer.sign_in_code"))
        known = officer if outcome is not lockout.Outcome.UNKNOWN else None
        _record_failure(
            known, "password", locked=known is not None and lockout.is_locked(known, now)
        )
        # One message for every refusal (unknown address, deactivated or locked account, wrong
        # password): any other would tell an attacker that the account exists.
        form.email.errors = [_("Enter a correct email address and password")]
    return render_template("officer/sign_in.html", form=form), (400 if form.error_list() else 200)


def _pending_officer() -> Officer | None:
    pending: dict[str, Any] | None = session.get("officer_pending")
    if not pending or time.time() - float(pending.get("at", 0)) > PENDING_SECONDS:
        return None
    officer = db.session.get(Officer, int(pending["id"]))
    if officer is None or not officer.active:
        return None
    return officer


def otpauth_qr_data_uri(uri: str) -> str:
    """The otpauth URI as a QR code in an SVG data URI (an <img>, so the CSP allows it)."""
    image = qrcode.make(uri, image_factory=qrcode.image.svg.SvgPathImage, box_size=8)
    buffer = io.BytesIO()
    image.save(buffer)
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode()


@blueprint.route("/sign-in/code", methods=["GET", "POST"])
@limiter.shared_limit(_sign_in_limit, scope="officer-sign-in", methods=["POST"])
def sign_in_code() -> ResponseReturnValue:
    """Second step: a code from the authenticator app (enrolment QR on first sign-in)."""
    officer = _pending_officer()
    if officer is None:
        session.clear()
        flash(_("Sign in again."), "error")
        return redirect(url_for("officer.sign_in"))
    form = CodeForm()
    if form.validate_on_submit():
        now = utcnow()
        step = None
        if not lockout.is_locked(officer, now):
            step = accepted_step(
                officer.totp_secret, form.code.data or "", officer.last_totp_step, time.time()
            )
        # The step is claimed by one conditional UPDATE, in the transaction that opens the
        # session: of several browsers posting the same code at once, exactly one gets in.
        if step is not None and claim_step(db.session, officer, step):
            lockout.clear_failures(officer)
            officer.last_sign_in_at = now
            token, record = staff_sessions.open_session(db.session, officer, now=now)
            db.session.commit()
            # A new session at sign-in: nothing from before (CSRF token included) survives.
            session.clear()
            login_user(OfficerUser(officer, record, token))
            return redirect(url_for("officer.queue"))
        db.session.rollback()
        if lockout.is_locked(officer, now):
            form.code.errors = [_lock_message(officer)]
            _record_failure(officer, "code", locked=True)
        else:
            locked = lockout.record_failure(db.session, officer, _policy(), now=now)
            _record_failure(officer, "code", locked=locked)
            form.code.errors = [
                _lock_message(officer)
                if locked
                else _("Enter the current 6-digit code from your authenticator app")
            ]
    enrol = None
    if officer.last_totp_step is None:
        uri = pyotp.TOTP(officer.totp_secret).provisioning_uri(
            name=officer.email, issuer_name=current_app.config["ETA_SERVICE_NAME"]
        )
        enrol = {"qr": otpauth_qr_data_uri(uri), "secret": officer.totp_secret}
    return render_template("officer/sign_in_code.html", form=form, enrol=enrol), (
        400 if form.error_list() else 200
    )


@blueprint.post("/sign-out")
@role_required(Role.OFFICER)
def sign_out() -> ResponseReturnValue:
    """Sign out of this browser: the session ends on the server, not only in the cookie."""
    staff_sessions.end_session(db.session, current_user.get_id(), now=utcnow())
    logout_user()
    session.clear()
    flash(_("You have signed out."), "success")
    return redirect(url_for("officer.sign_in"))


def end_sessions(officer: Officer, *, actor: str, reason: str = staff_sessions.EVERYWHERE) -> None:
    """End every session of `officer` (their next request needs a new sign-in); commits."""
    staff_sessions.end_all_sessions(db.session, officer, actor=actor, now=utcnow(), reason=reason)
    db.session.commit()


@blueprint.post("/sign-out-everywhere")
@role_required(Role.OFFICER)
def sign_out_everywhere() -> ResponseReturnValue:
    """Sign out of every browser this officer is signed in on."""
    end_sessions(me(), actor=_actor())
    logout_user()
    session.clear()
    flash(_("You have signed out on every device."), "success")
    return redirect(url_for("officer.sign_in"))


@blueprint.get("/account")
@role_required(Role.OFFICER)
def account() -> str:
    """The officer's own account: role, last sign-in, sign out everywhere."""
    return render_template("officer/account.html", officer=me(), form=ActionForm())
