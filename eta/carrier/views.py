"""The check-in page for carrier staff: sign in, scan a QR (checked offline) or type a passport."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from flask import (
    Blueprint,
    Response,
    current_app,
    jsonify,
    redirect,
    render_template,
    request,
    send_from_directory,
    session,
    url_for,
)
from flask_babel import gettext as _
from sqlalchemy import select
from werkzeug.wrappers import Response as BaseResponse

from eta.accounts.passwords import check_password, hash_password, needs_rehash
from eta.api.body import json_object
from eta.carrier.auth import SESSION_USER, signed_in_user
from eta.carrier.service import check_and_record, parse_passenger
from eta.extensions import db, limiter
from eta.models import CarrierUser
from eta.timeutil import utcnow
from eta.web.problems import PROBLEM_BASE, Problem, validation_problem

blueprint = Blueprint("carrier", __name__, url_prefix="/carrier")

MAX_FAILED_SIGN_INS = 5
LOCKOUT = dt.timedelta(minutes=15)
# The public endpoints of SPEC §4 the page caches for offline checks.
JWKS_PATH = "/.well-known/jwks.json"
REVOCATIONS_PATH = "/api/v1/revocations"
_dummy_hash: list[str] = []


def _waste_a_check(password: str) -> None:
    """Check against a throwaway hash when the email is unknown, so both cases take as long."""
    if not _dummy_hash:
        _dummy_hash.append(hash_password("not-a-real-password-0000"))
    check_password(_dummy_hash[0], password)


@blueprint.get("/")
def check_in() -> str | BaseResponse:
    """The check-in page: scan area, image upload and manual passport entry."""
    user = signed_in_user()
    if user is None:
        return redirect(url_for("carrier.sign_in"))
    return render_template(
        "carrier/check_in.html",
        user=user,
        issuer=current_app.config["ETA_ISSUER"],
        jwks_url=JWKS_PATH,
        revocations_url=REVOCATIONS_PATH,
    )


@blueprint.get("/service-worker.js")
def service_worker() -> Response:
    """The check-in page's service worker, served under /carrier/ so that is its scope."""
    response = send_from_directory(
        Path(current_app.root_path) / "static" / "js" / "carrier",
        "service_worker.js",
        mimetype="text/javascript",
    )
    # Browsers check for a new worker on each visit; never let a cache hold an old one.
    response.headers["Cache-Control"] = "no-cache"
    return response


def _sign_in_errors(email: str, password: str) -> dict[str, str]:
    errors: dict[str, str] = {}
    if not email:
        errors["email"] = _("Enter your email address")
    if not password:
        errors["password"] = _("Enter your password")
    return errors


@blueprint.route("/sign-in", methods=["GET", "POST"])
@limiter.limit("20/minute", methods=["POST"])
def sign_in() -> str | BaseResponse | tuple[str, int]:
    """Staff sign-in with email and password; a few failures lock the account for a while."""
    if request.method == "GET":
        return render_template("carrier/sign_in.html", errors={}, email="")
    email = (request.form.get("email") or "").strip().lower()
    password = request.form.get("password") or ""
    errors = _sign_in_errors(email, password)
    if errors:
        return render_template("carrier/sign_in.html", errors=errors, email=email), 400
    user = db.session.scalar(select(CarrierUser).where(CarrierUser.email == email))
    now = utcnow()
    wrong = _("Enter a correct email address and password")
    if user is None:
        _waste_a_check(password)
        errors = {"email": wrong}
    elif user.locked_until is not None and user.locked_until > now:
        errors = {"email": _("Too many failed attempts. Try again in 15 minutes.")}
    elif not user.active or not check_password(user.password_hash, password):
        user.failed_sign_ins += 1
        if user.failed_sign_ins >= MAX_FAILED_SIGN_INS:
            user.locked_until = now + LOCKOUT
            user.failed_sign_ins = 0
        db.session.commit()
        errors = {"email": wrong}
    if errors or user is None:
        return render_template("carrier/sign_in.html", errors=errors, email=email), 400
    user.failed_sign_ins = 0
    user.locked_until = None
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    db.session.commit()
    session.clear()  # a new session at sign-in: nothing from before carries over
    session[SESSION_USER] = user.id
    session.permanent = True
    return redirect(url_for("carrier.check_in"))


@blueprint.post("/sign-out")
def sign_out() -> BaseResponse:
    """Sign out and forget the session."""
    session.clear()
    return redirect(url_for("carrier.sign_in"))


@blueprint.post("/check")
@limiter.limit("120/minute")
def check() -> Response:
    """Check a passenger by passport data for a signed-in staff member (JSON, CSRF-protected)."""
    user = signed_in_user()
    if user is None:
        raise Problem(
            401,
            "Unauthorized",
            "Sign in again to check passengers.",
            type_=PROBLEM_BASE + "sign-in",
        )
    body = json_object()
    errors: dict[str, list[str]] = {}
    query = parse_passenger(body, "", errors)
    if query is not None and query.token is not None:
        errors["token"] = ["Scan tokens on this page: they are checked in the browser."]
    if errors or query is None:
        raise validation_problem(errors)
    (answer,) = check_and_record([query], carrier_id=user.carrier_id, api_key_id=None, batch=False)
    result: dict[str, Any] = answer.to_json()
    if answer.passport is not None:
        result["passport_number"] = answer.passport[1]
        result["issuing_country"] = answer.passport[0]
    return jsonify(result)


@blueprint.errorhandler(Problem)
def json_problem(problem: Problem) -> Response:
    """The check endpoint answers problems as JSON, even though it is not under /api/."""
    return problem.to_response()
