"""A refused traveller asks for a review: the form, on a signed link, and its confirmation.

The link comes from the status page (reached with the reference, passport number and date of
birth) or the refusal email, and names the refusal it challenges. The rules (once per refusal,
within ETA_REVIEW_WINDOW_DAYS, the grounds required) are eta.applications.review's; this room
parses the form, calls `request_review` and renders.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Blueprint, abort, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import format_date
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from itsdangerous import BadSignature, SignatureExpired
from wtforms import Field, TextAreaField
from wtforms.validators import ValidationError

from eta.applications import review
from eta.applications.lookup import aware, reason_code
from eta.applications.reasons import describe
from eta.extensions import configured_limit, db, limiter
from eta.models import Application, ApplicationStatus
from eta.web.i18n import localise_digits
from eta.web.links import review_serializer, review_token

blueprint = Blueprint("review", __name__)


def _rule(name: str) -> Any:
    """A validator that says what the domain's `review_errors` says of field `name`."""

    def check(form: ReviewRequestForm, field: Field) -> None:
        messages = review.review_errors(form.grounds.data, form.statement.data).get(name)
        if messages:
            raise ValidationError(str(messages[0]))

    return check


class ReviewRequestForm(FlaskForm):
    """The traveller's grounds for a review, and an optional supporting statement."""

    grounds = TextAreaField(
        _l("Why do you think the decision is wrong?"), validators=[_rule("grounds")]
    )
    statement = TextAreaField(
        _l("Supporting statement (optional)"), validators=[_rule("statement")]
    )


def _refusal_from(token: str) -> tuple[Application, int]:
    """The application and refusal a review link names (404 if forged, 410 once expired)."""
    try:
        # A day past the window: the verb says plainly that the window closed, not "expired".
        max_age = (review.window_days() + 1) * 24 * 3600
        application_id, decision_id = review_serializer().loads(token, max_age=max_age)
    except SignatureExpired:
        abort(410)
    except (BadSignature, TypeError, ValueError):
        abort(404)
    application = db.session.get(Application, int(application_id))
    if application is None or application.erased_at is not None:
        abort(404)
    return application, int(decision_id)


def _day(moment: dt.datetime) -> str:
    return localise_digits(format_date(aware(moment).date(), "long"))


@blueprint.route("/review/<token>", methods=["GET", "POST"])
@limiter.limit(configured_limit("ETA_STATUS_RATE_LIMIT"), methods=["POST"])
def request_form(token: str) -> ResponseReturnValue:
    """The review request form: the refusal's reason, the traveller's grounds, a statement."""
    application, decision_id = _refusal_from(token)
    if review.review_of(db.session, decision_id) is not None:
        return redirect(url_for("review.received", token=token))
    try:
        target = review.reviewable(db.session, application)
    except review.ReviewError as error:
        return render_template(
            "traveller/review_closed.html", application=application, message=error.message
        ), 409
    if target.decision.id != decision_id:
        abort(404)  # a link of another refusal than the one the application stands on
    form = ReviewRequestForm()
    if form.validate_on_submit():
        try:
            review.request_review(
                db.session,
                application,
                grounds=form.grounds.data or "",
                statement=form.statement.data,
            )
        except review.AlreadyRequested:
            return redirect(url_for("review.received", token=token))
        except review.ReviewError as error:
            return render_template(
                "traveller/review_closed.html", application=application, message=error.message
            ), 409
        return redirect(url_for("review.received", token=token))
    errors = {name: list(messages) for name, messages in form.errors.items() if name in form}
    errors.pop("csrf_token", None)
    return render_template(
        "traveller/review_request.html",
        form=form,
        errors=errors,
        application=application,
        reason=describe(reason_code(application)),
        closes_on=_day(target.closes_at),
        max_grounds=review.MAX_GROUNDS_CHARS,
        back=url_for("traveller.status"),
    ), (400 if errors else 200)


@blueprint.get("/review/<token>/received")
def received(token: str) -> ResponseReturnValue:
    """The request is recorded: when, and what happens next."""
    application, decision_id = _refusal_from(token)
    found = review.review_of(db.session, decision_id)
    if found is None:
        return redirect(url_for("review.request_form", token=token))
    return render_template(
        "traveller/review_received.html",
        application=application,
        requested_on=_day(found.created_at),
    )


def review_offer(application: Application) -> dict[str, str] | None:
    """For the status page: the link to ask for a review, and until when, if one may be asked."""
    if application.status != ApplicationStatus.REFUSED:
        return None  # no query for the statuses that cannot be reviewed
    try:
        target = review.reviewable(db.session, application)
    except review.ReviewError:
        return None
    return {
        "link": url_for(
            "review.request_form", token=review_token(application.id, target.decision.id)
        ),
        "closes_on": _day(target.closes_at),
    }
