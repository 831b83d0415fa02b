"""Refusal and revocation reasons: codes officers choose, and the plain words travellers read."""

from __future__ import annotations

from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString

# Codes are stored on events and decisions; the words are translated when shown.
REFUSAL_REASONS: dict[str, LazyString] = {
    "security": _l("We believe you may pose a risk to security or public order."),
    "false_information": _l("Information in your application was false or misleading."),
    "document": _l(
        "The passport you gave is not valid for travel, or has been reported lost or stolen."
    ),
    "immigration_history": _l(
        "Your immigration history means you need to apply for a visa instead."
    ),
    "no_response": _l("You did not answer our request for information in time."),
    "other": _l("Your application did not meet the requirements for an ETA."),
}

REVOCATION_REASONS: dict[str, LazyString] = {
    "new_information": _l("We received new information about you after your ETA was issued."),
    "document": _l("The passport linked to your ETA has been reported lost, stolen or cancelled."),
    "holder_request": _l("You asked us to cancel your ETA."),
    "error": _l("Your ETA was issued in error."),
    "other": _l("Your ETA no longer meets the requirements."),
}


def describe(code: str | None) -> str:
    """The traveller-facing words for a refusal or revocation reason code (in their language)."""
    text = REFUSAL_REASONS.get(code or "") or REVOCATION_REASONS.get(code or "")
    return str(text if text is not None else REFUSAL_REASONS["other"])


def appeal_text() -> str:
    """How a refused traveller can challenge the decision (ETA_APPEAL_TEXT, else the default)."""
    configured = current_app.config.get("ETA_APPEAL_TEXT")
    if configured:
        return str(configured)
    return str(
        _l(
            "You can ask for the decision to be reviewed within %(days)d days: tell us online "
            "why you think it is wrong. You can also apply for a visa instead.",
            days=int(current_app.config["ETA_REVIEW_WINDOW_DAYS"]),
        )
    )
