"""Applicants' photos for officers: served one by one, each view in the audit log."""

from __future__ import annotations

from flask import Response, abort, current_app
from sqlalchemy import select

from eta import audit
from eta.extensions import db
from eta.identity import sealing, store
from eta.models import Application, ApplicationPhoto, Role
from eta.officer.blueprint import blueprint, me, role_required


def with_photos(application_ids: list[int]) -> set[int]:
    """Which of these applications have a photo (for the case page to show)."""
    if not application_ids:
        return set()
    return set(
        db.session.scalars(
            select(ApplicationPhoto.application_id).where(
                ApplicationPhoto.application_id.in_(application_ids)
            )
        )
    )


@blueprint.get("/cases/<int:application_id>/photo")
@role_required(Role.OFFICER)
def case_photo(application_id: int) -> Response:
    """The applicant's photo (JPEG), never cached; the view is audited before it is sent."""
    application = db.session.get(Application, application_id)
    row = store.photo_row(db.session, application_id) if application else None
    text = current_app.config.get("ETA_PHOTO_KEY")
    if application is None or row is None or not text:
        abort(404)
    try:
        jpeg = store.photo_jpeg(row, sealing.parse_key(text))
    except sealing.SealError:
        abort(404)
    audit.record(
        db.session,
        "application.photo_viewed",
        actor=f"officer:{me().id}",
        object_type="application",
        object_id=application.reference,
    )
    db.session.commit()
    response = Response(jpeg, mimetype=row.media_type)
    response.headers["Cache-Control"] = "no-store, private"
    response.headers["Content-Disposition"] = "inline"
    return response
