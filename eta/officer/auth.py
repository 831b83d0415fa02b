"""Officer sign-in: password then a one-time TOTP code, lock-out, session timeouts, sign-out."""

from __future__ import annotations

import base64
import datetime as dt
import hmac
import io
import time
from typing import Any

import pyotp
import qrcode
import qrcode.image.svg
from flask import Flask, current_app, flash, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import UserMixin, current_user, login_user, logout_user
from sqlalchemy import func, select

from eta import audit
from eta.accounts.passwords import check_password, hash_password
from eta.extensions import db, limiter, login_manager
from eta.models import Officer, Role
from eta.officer.blueprint import blueprint, me, role_required
from eta.timeutil import utcnow

MAX_FAILURES = 5  # consecutive failures before the account locks
FIRST_LOCK_MINUTES = 1  # doubles with every further failure, up to MAX_LOCK_MINUTES
MAX_LOCK_MINUTES = 60
PENDING_SECONDS = 300  # time allowed between the password step and the code step
TOTP_STEP_SECONDS = 30
DEFAULT_IDLE_SECONDS = 15 * 60
DEFAULT_ABSOLUTE_SECONDS = 8 * 3600
PUBLIC_ENDPOINTS = frozenset({"officer.sign_in", "officer.sign_in_code"})

# Checked against when the email is unknown, so the answer takes as long as for a real account.
_DUMMY_HASH = hash_password("not-a-real-password-for-timing")


class OfficerUser(UserMixin):
    """Flask-Login's view of an officer: the id carries the session epoch, to end sessions."""

    def __init__(self, officer: Officer) -> None:
        self.officer = officer

    def get_id(self) -> str:
        """The session's user id: officer id and session epoch."""
        return f"{self.officer.id}:{self.officer.session_epoch}"


def load_officer(user_id: str) -> OfficerUser | None:
    """Flask-Login's user loader: a session is void once its officer is inactive or signed out."""
    officer_id, _sep, epoch = user_id.partition(":")
    if not (officer_id.isdigit() and epoch.isdigit()):
        return None
    officer = db.session.get(Officer, int(officer_id))
    if officer is None or not officer.active or officer.session_epoch != int(epoch):
        return None
    return OfficerUser(officer)


def init_login(app: Flask) -> None:
    """Bind Flask-Login to the app with the officer loader."""
    login_manager.init_app(app)
    login_manager.user_loader(load_officer)
    login_manager.login_view = "officer.sign_in"
    # We check timeouts ourselves; Flask-Login's protection would only add a second cookie.
    login_manager.session_protection = None


def _actor() -> str:
    return f"officer:{me().id}"


@blueprint.before_request
def require_sign_in() -> ResponseReturnValue | None:
    """Every officer page needs a live session: signed in, not idle, not too old."""
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    if not current_user.is_authenticated:
        return redirect(url_for("officer.sign_in"))
    now = time.time()
    signed_in_at = session.get("officer_signed_in_at", 0)
    seen_at = session.get("officer_seen_at", 0)
    idle = current_app.config.get("ETA_OFFICER_IDLE_SECONDS", DEFAULT_IDLE_SECONDS)
    absolute = current_app.config.get("ETA_OFFICER_ABSOLUTE_SECONDS", DEFAULT_ABSOLUTE_SECONDS)
    if now - seen_at > idle or now - signed_in_at > absolute:
        logout_user()
        session.clear()
        flash(_("You were signed out because your session timed out. Sign in again."), "error")
        return redirect(url_for("officer.sign_in"))
    session["officer_seen_at"] = now
    return None


def _lock_message(officer: Officer) -> str:
    until = officer.locked_until.strftime("%H:%M UTC") if officer.locked_until else ""
    return _("Too many failed attempts. Try again after %(time)s.", time=until)


def _locked(officer: Officer) -> bool:
    return officer.locked_until is not None and officer.locked_until > utcnow()


def _fail(officer: Officer | None, stage: str) -> None:
    """Count a failed attempt; lock the account for longer after each failure past the limit."""
    if officer is not None:
        officer.failed_sign_ins += 1
        beyond = officer.failed_sign_ins - MAX_FAILURES
        if beyond >= 0:
            minutes = min(FIRST_LOCK_MINUTES * 2**beyond, MAX_LOCK_MINUTES)
            officer.locked_until = utcnow() + dt.timedelta(minutes=minutes)
    audit.record(
        db.session,
        "officer.sign_in_failed",
        actor=f"officer:{officer.id}" if officer else "anonymous",
        object_type="officer",
        object_id=officer.id if officer else None,
        details={"stage": stage, "locked": bool(officer and officer.locked_until)},
    )
    db.session.commit()


def _sign_in_limit() -> str:
    return str(current_app.config.get("ETA_OFFICER_SIGN_IN_RATE_LIMIT", "20/minute;200/hour"))


# Per client address, on top of the per-account lock: guessing one password across many
# accounts (spraying) never trips an account's lock, so the address is counted too.
@blueprint.route("/sign-in", methods=["GET", "POST"])
@limiter.shared_limit(_sign_in_limit, scope="officer-sign-in", methods=["POST"])
def sign_in() -> ResponseReturnValue:
    """First step: email address and password."""
    if current_user.is_authenticated:
        return redirect(url_for("officer.queue"))
    errors: dict[str, str] = {}
    email = ""
    if request.method == "POST":
        email = request.form.get("email", "").strip().lower()
        password = request.form.get("password", "")
        officer = db.session.scalar(select(Officer).where(func.lower(Officer.email) == email))
        if officer is not None and _locked(officer):
            errors["email"] = _lock_message(officer)
        elif officer is None or not officer.active:
            check_password(_DUMMY_HASH, password)
            _fail(None, "password")
            errors["email"] = _("Enter a correct email address and password")
        elif not check_password(officer.password_hash, password):
            _fail(officer, "password")
            errors["email"] = (
                _lock_message(officer)
                if _locked(officer)
                else _("Enter a correct email address and password")
            )
        else:
            session.clear()
            session["officer_pending"] = {"id": officer.id, "at": time.time()}
            return redirect(url_for("officer.sign_in_code"))
    return render_template("officer/sign_in.html", errors=errors, email=email), (
        400 if errors else 200
    )


def _pending_officer() -> Officer | None:
    pending: dict[str, Any] | None = session.get("officer_pending")
    if not pending or time.time() - float(pending.get("at", 0)) > PENDING_SECONDS:
        return None
    officer = db.session.get(Officer, int(pending["id"]))
    if officer is None or not officer.active:
        return None
    return officer


def accepted_step(secret: str, code: str, last_step: int | None, now: float) -> int | None:
    """The TOTP time step `code` belongs to (one step of clock drift allowed), if not yet used."""
    code = "".join(code.split())
    if not (code.isdigit() and len(code) == 6):
        return None
    totp = pyotp.TOTP(secret)
    current = int(now // TOTP_STEP_SECONDS)
    for step in (current - 1, current, current + 1):
        if hmac.compare_digest(totp.at(step * TOTP_STEP_SECONDS), code):
            if last_step is not None and step <= last_step:
                return None  # a code is good once (ASVS V6.5.1)
            return step
    return None


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
    errors: dict[str, str] = {}
    if request.method == "POST":
        if _locked(officer):
            errors["code"] = _lock_message(officer)
        else:
            step = accepted_step(
                officer.totp_secret,
                request.form.get("code", ""),
                officer.last_totp_step,
                time.time(),
            )
            if step is None:
                _fail(officer, "code")
                errors["code"] = (
                    _lock_message(officer)
                    if _locked(officer)
                    else _("Enter the current 6-digit code from your authenticator app")
                )
            else:
                officer.last_totp_step = step
                officer.failed_sign_ins = 0
                officer.locked_until = None
                officer.last_sign_in_at = utcnow()
                audit.record(
                    db.session,
                    "officer.signed_in",
                    actor=f"officer:{officer.id}",
                    object_type="officer",
                    object_id=officer.id,
                )
                db.session.commit()
                # A new session at sign-in: nothing from before (CSRF token included) survives.
                session.clear()
                login_user(OfficerUser(officer))
                now = time.time()
                session["officer_signed_in_at"] = now
                session["officer_seen_at"] = now
                return redirect(url_for("officer.queue"))
    enrol = None
    if officer.last_totp_step is None:
        uri = pyotp.TOTP(officer.totp_secret).provisioning_uri(
            name=officer.email, issuer_name=current_app.config["ETA_SERVICE_NAME"]
        )
        enrol = {"qr": otpauth_qr_data_uri(uri), "secret": officer.totp_secret}
    return render_template("officer/sign_in_code.html", errors=errors, enrol=enrol), (
        400 if errors else 200
    )


@blueprint.post("/sign-out")
@role_required(Role.OFFICER)
def sign_out() -> ResponseReturnValue:
    """Sign out of this browser."""
    audit.record(
        db.session, "officer.signed_out", actor=_actor(), object_type="officer", object_id=me().id
    )
    db.session.commit()
    logout_user()
    session.clear()
    flash(_("You have signed out."), "success")
    return redirect(url_for("officer.sign_in"))


def end_sessions(officer: Officer, *, actor: str) -> None:
    """Void every session of `officer` (their next request needs a new sign-in)."""
    officer.session_epoch += 1
    audit.record(
        db.session,
        "officer.sessions_ended",
        actor=actor,
        object_type="officer",
        object_id=officer.id,
    )
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
    return render_template("officer/account.html", officer=me())
