"""Search for a case by reference, passport number or name (every search audited)."""

from __future__ import annotations

from flask import current_app, render_template, request
from flask_babel import lazy_gettext as _l

from eta import audit
from eta.applications.search import find_cases, term_digest
from eta.extensions import db
from eta.models import ApplicationStatus, Role
from eta.officer.blueprint import blueprint, me, role_required
from eta.officer.forms import SearchForm, valid_data

# The words officers read for each status (the queue, search results, the case page).
STATUS_LABELS = {
    ApplicationStatus.SUBMITTED: _l("Submitted"),
    ApplicationStatus.SCREENING: _l("Being screened"),
    ApplicationStatus.REFERRED: _l("Referred to an officer"),
    ApplicationStatus.INFO_REQUESTED: _l("Waiting for the traveller's answer"),
    ApplicationStatus.APPROVED: _l("Approved"),
    ApplicationStatus.REFUSED: _l("Refused"),
    ApplicationStatus.REVOKED: _l("Revoked"),
    ApplicationStatus.WITHDRAWN: _l("Withdrawn"),
    ApplicationStatus.EXPIRED: _l("Expired"),
}


@blueprint.app_template_filter("status_label")
def status_label(status: str) -> str:
    """An application status in the officer's words and language."""
    # A StrEnum member hashes and compares as its value: the plain string finds it.
    label = STATUS_LABELS.get(status)  # type: ignore[call-overload]
    return str(label) if label is not None else status


@blueprint.get("/search")
@role_required(Role.OFFICER)
def search() -> str:
    """Find cases by reference, passport number or name; the search is audited, not its term."""
    form = SearchForm(formdata=request.args)
    term = valid_data(form).get("q") or ""
    found = None
    if term:
        found = find_cases(db.session, term)
        audit.record(
            db.session,
            "application.searched",
            actor=f"officer:{me().id}",
            details={
                "kind": found.kind.value,
                "results": len(found.cases),
                "term_digest": term_digest(term, current_app.config["SECRET_KEY"]),
            },
        )
        db.session.commit()
    return render_template("officer/search.html", form=form, found=found)
