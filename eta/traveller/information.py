"""The traveller's answer to an officer's questions, on a signed link sent by email."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from eta import applications, audit
from eta.extensions import db
from eta.models import Application, ApplicationStatus, InformationRequest
from eta.timeutil import utcnow
from eta.web.urls import public_url

blueprint = Blueprint("information", __name__)

_SALT = "eta.information-request"
# Long enough to answer within the usual 14 days to respond, with some slack for slow post.
LINK_MAX_AGE = 21 * 24 * 3600
MAX_ANSWER_CHARS = 5000


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=_SALT)


def information_token(request_id: int) -> str:
    """The signed token naming one information request."""
    return _serializer().dumps(request_id)


def information_link(request_id: int) -> str:
    """The absolute link a traveller follows to answer information request `request_id`."""
    return public_url("information.respond", token=information_token(request_id))


def _request_from(token: str) -> InformationRequest:
    try:
        request_id = _serializer().loads(token, max_age=LINK_MAX_AGE)
    except SignatureExpired:
        abort(410)
    except BadSignature:
        abort(404)
    info = db.session.get(InformationRequest, int(request_id))
    if info is None:
        abort(404)
    return info


@blueprint.route("/respond/<token>", methods=["GET", "POST"])
def respond(token: str) -> ResponseReturnValue:
    """Show the officer's questions and take the traveller's answer."""
    info = _request_from(token)
    application = db.session.get(Application, info.application_id)
    if application is None:
        abort(404)
    error = None
    answer = ""
    answerable = info.answer is None and application.status == ApplicationStatus.INFO_REQUESTED
    if request.method == "POST" and answerable:
        answer = request.form.get("answer", "").strip()
        if not answer:
            error = _("Enter your answer")
        elif len(answer) > MAX_ANSWER_CHARS:
            error = _("Your answer must be %(count)d characters or fewer", count=MAX_ANSWER_CHARS)
        else:
            info.answer = answer
            info.answered_at = utcnow()
            audit.record(
                db.session,
                "information.answered",
                actor="traveller",
                object_type="application",
                object_id=application.reference,
                details={"request": info.id},
            )
            applications.info_received(db.session, application)
            return render_template("traveller/information_done.html", application=application)
    return render_template(
        "traveller/information.html",
        info=info,
        application=application,
        answerable=answerable,
        error=error,
        answer=answer,
    ), (400 if error else 200)
