"""The passport chip's face for officers: served as a JPEG, each view in the audit log."""

from __future__ import annotations

from flask import Response, abort, current_app

from eta import audit
from eta.chip import lds
from eta.chip.image import face_jpeg
from eta.chip.store import chip_row, files_of
from eta.extensions import db
from eta.identity import sealing
from eta.models import Application, Role
from eta.officer.blueprint import blueprint, me, role_required


@blueprint.get("/cases/<int:application_id>/chip-face")
@role_required(Role.OFFICER)
def case_chip_face(application_id: int) -> Response:
    """The face on the applicant's passport chip (DG2, as JPEG), never cached; audited."""
    application = db.session.get(Application, application_id)
    row = chip_row(db.session, application_id) if application else None
    text = current_app.config.get("ETA_PHOTO_KEY")
    if application is None or row is None or not text:
        abort(404)
    try:
        jpeg = face_jpeg(files_of(row, sealing.parse_key(text)).dg2)
    except (sealing.SealError, lds.ChipDataError):
        abort(404)
    audit.record(
        db.session,
        "application.chip_face_viewed",
        actor=f"officer:{me().id}",
        object_type="application",
        object_id=application.reference,
    )
    db.session.commit()
    response = Response(jpeg, mimetype="image/jpeg")
    response.headers["Cache-Control"] = "no-store, private"
    response.headers["Content-Disposition"] = "inline"
    return response
