"""The check-in page for carrier staff: sign in, scan a QR (checked offline) or type a passport."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
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

from eta.accounts import lockout
from eta.accounts import sessions as staff_sessions
from eta.accounts.passwords import hash_password, needs_rehash
from eta.api.body import json_object
from eta.carrier.auth import SESSION_KEY, session_ended, signed_in_user
from eta.carrier.forms import PassportForm, SignInForm, SignOutForm, TokenForm
from eta.carrier.service import check_and_record, parse_passenger
from eta.extensions import db, limiter
from eta.models import Carrier, CarrierUser
from eta.timeutil import utcnow
from eta.web.problems import PROBLEM_BASE, Problem, validation_problem

blueprint = Blueprint("carrier", __name__, url_prefix="/carrier")

# The public endpoints of SPEC §4 the page caches for offline checks.
JWKS_PATH = "/.well-known/jwks.json"
REVOCATIONS_PATH = "/api/v1/revocations"


@blueprint.get("/")
def check_in() -> str | BaseResponse:
    """The check-in page: scan area, image upload and manual passport entry."""
    user = signed_in_user()
    if user is None:
        if session_ended():
            flash(_("You were signed out because your session timed out. Sign in again."), "error")
        return redirect(url_for("carrier.sign_in"))
    carrier = db.session.get(Carrier, user.carrier_id)
    return render_template(
        "carrier/check_in.html",
        user=user,
        carrier_name=carrier.name if carrier is not None else "",
        issuer=current_app.config["ETA_ISSUER"],
        jwks_url=JWKS_PATH,
        revocations_url=REVOCATIONS_PATH,
        sign_out=SignOutForm(formdata=None),
        token_form=TokenForm(formdata=None),
        passport_form=PassportForm(formdata=None),
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


def _sign_in_limit() -> str:
    return str(current_app.config["ETA_CARRIER_SIGN_IN_RATE_LIMIT"])


@blueprint.route("/sign-in", methods=["GET", "POST"])
@limiter.limit(_sign_in_limit, methods=["POST"])
def sign_in() -> str | BaseResponse | tuple[str, int]:
    """Staff sign-in with email and password; a few failures lock the account for a while."""
    form = SignInForm()
    if request.method == "GET":
        return render_template("carrier/sign_in.html", form=form)
    if not form.validate():
        return render_template("carrier/sign_in.html", form=form), 400
    email = form.email.data or ""
    password = form.password.data or ""
    user = db.session.scalar(select(CarrierUser).where(CarrierUser.email == email))
    now = utcnow()
    rules = lockout.policy(current_app.config, "CARRIER")
    outcome = lockout.check_sign_in(db.session, user, password, rules, now=now)
    if outcome is not lockout.Outcome.ACCEPTED or user is None:
        db.session.commit()  # the failure just counted
        # One message for every refusal (unknown address, deactivated or locked account,
        # wrong password): any other would tell an attacker that the account exists.
        form.email.errors = [_("Enter a correct email address and password")]
        return render_template("carrier/sign_in.html", form=form), 400
    lockout.clear_failures(user)
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    token, _row = staff_sessions.open_session(db.session, user, now=now)
    db.session.commit()
    session.clear()  # a new session at sign-in: nothing from before carries over
    session[SESSION_KEY] = token
    session.permanent = True  # the desk's browser may restart; the server-side limits still hold
    return redirect(url_for("carrier.check_in"))


@blueprint.post("/sign-out")
def sign_out() -> BaseResponse:
    """Sign out: the session ends on the server, so a copy of the cookie opens nothing."""
    staff_sessions.end_session(db.session, session.get(SESSION_KEY), now=utcnow())
    session.clear()
    flash(_("You have signed out."), "success")
    return redirect(url_for("carrier.sign_in"))


@blueprint.post("/sign-out-everywhere")
def sign_out_everywhere() -> BaseResponse:
    """Sign out of every browser this staff member is signed in on (a desk left signed in)."""
    user = signed_in_user()
    if user is not None:
        staff_sessions.end_all_sessions(
            db.session, user, actor=f"carrier_user:{user.id}", now=utcnow()
        )
        db.session.commit()
    session.clear()
    flash(_("You have signed out on every device."), "success")
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
