"""The traveller's answer to an officer's questions, on a signed link sent by email."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, render_template
from flask.typing import ResponseReturnValue
from itsdangerous import BadSignature, SignatureExpired

from eta.applications import decisions
from eta.extensions import db
from eta.models import Application, ApplicationStatus, InformationRequest
from eta.traveller.forms import AnswerForm
from eta.web.links import information_serializer

blueprint = Blueprint("information", __name__)


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
    answerable = info.answer is None and application.status == ApplicationStatus.INFO_REQUESTED
    form = AnswerForm()
    if answerable and form.validate_on_submit():
        try:
            decisions.answer_information(db.session, info, application, form.answer.data)
        except decisions.CaseChanged:
            abort(409)
        return render_template("traveller/information_done.html", application=application)
    error = str(form.answer.errors[0]) if form.answer.errors else None
    return render_template(
        "traveller/information.html",
        info=info,
        application=application,
        answerable=answerable,
        form=form,
        error=error,
    ), (400 if error else 200)
