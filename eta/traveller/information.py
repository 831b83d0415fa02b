"""The traveller's answer to an officer's questions, on a signed link sent by email."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from itsdangerous import BadSignature, SignatureExpired

from eta.applications import decisions
from eta.extensions import db
from eta.models import Application, ApplicationStatus, InformationRequest
from eta.web.links import information_serializer

blueprint = Blueprint("information", __name__)

MAX_ANSWER_CHARS = 5000


def _request_from(token: str) -> InformationRequest:
    try:
        # The link works as long as the request may be answered (ETA_INFORMATION_DAYS).
        max_age = int(current_app.config["ETA_INFORMATION_DAYS"]) * 24 * 3600
        request_id = information_serializer().loads(token, max_age=max_age)
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
            try:
                decisions.answer_information(db.session, info, application, answer)
            except decisions.CaseChanged:
                abort(409)
            return render_template("traveller/information_done.html", application=application)
    return render_template(
        "traveller/information.html",
        info=info,
        application=application,
        answerable=answerable,
        error=error,
        answer=answer,
    ), (400 if error else 200)
