"""Signed links emailed to travellers that more than one room builds or reads.

An information request's link is made where the officer asks and read where the traveller
answers: it lives here, not in either room, so the rooms do not import each other.
"""

from __future__ import annotations

from flask import current_app
from itsdangerous import URLSafeTimedSerializer

from eta.web.urls import public_url

_INFORMATION_SALT = "eta.information-request"


def information_serializer() -> URLSafeTimedSerializer:
    """The signer of information-request links (the app's secret key, their own salt)."""
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=_INFORMATION_SALT)


def information_token(request_id: int) -> str:
    """The signed token naming one information request."""
    return information_serializer().dumps(request_id)


def information_link(request_id: int) -> str:
    """The absolute link a traveller follows to answer information request `request_id`."""
    return public_url("information.respond", token=information_token(request_id))


# A refused traveller's link to the review request form: on the status page (reached with the
# reference, passport number and date of birth) and in the refusal email. It names the
# application and the refusal it challenges, so a link from an earlier refusal cannot ask for
# the review of a later one.
_REVIEW_SALT = "eta.review-request"


def review_serializer() -> URLSafeTimedSerializer:
    """The signer of review-request links (the app's secret key, their own salt)."""
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=_REVIEW_SALT)


def review_token(application_id: int, decision_id: int) -> str:
    """The signed token naming one refusal (`decision_id`) of application `application_id`."""
    return review_serializer().dumps([application_id, decision_id])


def review_link(application_id: int, decision_id: int, language: str | None = None) -> str:
    """The absolute link to ask for the review of refusal `decision_id`, in `language`."""
    token = review_token(application_id, decision_id)
    if language:
        return public_url("review.request_form", token=token, lang=language)
    return public_url("review.request_form", token=token)
