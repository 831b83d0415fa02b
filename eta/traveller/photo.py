"""The journey's photo page: take a photo with the camera or upload one, through the quality gate.

Without JavaScript the page is a plain upload form. With it (static/js/traveller/photo.js), a
camera preview and a "Take photo" button capture a frame into a canvas and send it through the
same file input as a JPEG, so the server sees one kind of request either way.

A photo that passes the gate waits in the draft sealed (AES-GCM under ETA_PHOTO_KEY, bound to
the draft's row), never in the session or a URL; at submission it goes through the gate again
(eta.applications.photos), which computes the template, and is stored with the application.
"""

from __future__ import annotations

import base64
import logging
from typing import Any

from flask import redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from werkzeug.wrappers import Response
from wtforms import HiddenField

from eta.applications import photos
from eta.extensions import db
from eta.identity import faces, image, sealing
from eta.identity.gate import PhotoRejected, check_photo
from eta.models import ApplicationDraft
from eta.web import edge

DRAFT_PHOTO = "draft-photo"  # the sealing kind: a photo waiting in a draft, bound to its id
DRAFT_KEY = "photo"  # where the sealed photo sits in the draft's data
# Room for the multipart envelope and the CSRF token around the largest photo accepted.
ENVELOPE_BYTES = 64 * 1024


class PhotoForm(FlaskForm):
    """The photo page's form: one file (an upload, or the camera's capture put in its place)."""

    photo = FileField(
        _l("Upload a photo"),
        validators=[FileRequired(_l("Choose a photo of your face to upload"))],
    )
    return_to = HiddenField()


def enabled() -> bool:
    """Whether this service takes photos (a key is configured)."""
    return photos.settings().key is not None


def after_questions() -> str:
    """Where the journey goes after its last question page: the photo page, if there is one."""
    if enabled():
        return url_for("traveller.photo")
    return url_for("traveller.check_answers")


def stored_jpeg(draft: ApplicationDraft) -> bytes | None:
    """The JPEG of the photo waiting in the draft, or None (none, or it no longer opens)."""
    sealed = (draft.data or {}).get(DRAFT_KEY)
    key = photos.settings().key
    if not sealed or key is None:
        return None
    try:
        return sealing.unseal(key, DRAFT_PHOTO, draft.id, base64.b64decode(sealed))
    except (sealing.SealError, ValueError):
        return None  # a key rotated since: the traveller is asked for the photo again


def missing(draft: ApplicationDraft) -> bool:
    """Whether the service requires a photo and the draft has none yet."""
    return enabled() and photos.settings().required and stored_jpeg(draft) is None


def summary_rows(draft: ApplicationDraft) -> list[dict[str, Any]]:
    """The photo's row of Check your answers (none when the service takes no photos)."""
    if not enabled():
        return []
    has_photo = stored_jpeg(draft) is not None
    return [
        {
            "label": _("Photo of your face"),
            "value": _("Added") if has_photo else _("Not added"),
            "image": url_for("traveller.photo_preview") if has_photo else None,
            "href": url_for("traveller.photo") + "?return=check#photo",
        }
    ]


class Retake(Exception):
    """The draft's photo no longer passes the gate (its thresholds changed): it was dropped."""


def for_submission(draft: ApplicationDraft) -> photos.Photo | None:
    """The draft's photo through the gate again, ready to store with the application.

    None when the draft has none. Retake when it no longer passes (the thresholds changed
    since): the photo is dropped, and the caller sends the traveller back to the photo page.
    FaceModelError propagates (the models cannot run: not the traveller's fault).
    """
    jpeg = stored_jpeg(draft)
    if jpeg is None:
        return None
    errors: dict[str, list[Any]] = {}
    accepted = photos.accept({photos.FIELD: base64.b64encode(jpeg).decode()}, errors)
    if accepted is None:
        draft.data = {k: v for k, v in (draft.data or {}).items() if k != DRAFT_KEY}
        db.session.commit()
        raise Retake
    return accepted


def _keep(draft: ApplicationDraft, jpeg: bytes) -> None:
    key = photos.settings().key
    if key is None:  # the page is only reached when the service takes photos
        raise RuntimeError("no photo key is configured")
    sealed = sealing.seal(key, DRAFT_PHOTO, draft.id, jpeg)
    # A new dict, so SQLAlchemy sees the JSON column change.
    draft.data = {**(draft.data or {}), DRAFT_KEY: base64.b64encode(sealed).decode()}
    db.session.commit()


def _body_limit() -> int:
    return photos.settings().image.max_bytes + ENVELOPE_BYTES


def _back(returning: bool, last_question: str) -> str:
    if returning:
        return url_for("traveller.check_answers")
    return url_for("traveller.question", slug=last_question)


def _render(form: PhotoForm, draft: ApplicationDraft, back: str, status: int = 200) -> Any:
    errors = {"photo": [str(e) for e in form.photo.errors]} if form.photo.errors else {}
    settings = photos.settings()
    body = render_template(
        "traveller/photo.html",
        form=form,
        errors=errors,
        back=back,
        has_photo=stored_jpeg(draft) is not None,
        required=settings.required,
        max_megabytes=image.megabytes(settings.image),
    )
    return body, status


def register(blueprint: Any, current_draft: Any, new_draft: Any, last_question: str) -> None:
    """Add the photo page's routes to the traveller blueprint.

    `current_draft`/`new_draft` are the journey's draft look-ups; `last_question` the slug of
    the page before this one (its back link).
    """

    @blueprint.route("/apply/photo", methods=["GET", "POST"])
    @edge.body_limit(_body_limit)
    def photo() -> Any:
        """Take a photo with the camera or upload one; the quality gate says how to retake it."""
        if not enabled():
            return redirect(url_for("traveller.check_answers"))
        draft = current_draft() or new_draft()
        settings = photos.settings()
        returning = "check" in (request.args.get("return"), request.form.get("return_to"))
        form = PhotoForm(return_to="check" if returning else "")
        submitted = form.validate_on_submit()
        back = _back(returning, last_question)
        if request.method == "GET" or not submitted:
            return _render(form, draft, back)
        raw = form.photo.data.read(settings.image.max_bytes + 1)
        sent = base64.b64encode(raw).decode() if raw else ""
        try:
            accepted = check_photo(sent, settings)
        except PhotoRejected as rejected:
            form.photo.errors = [str(i) for i in rejected.instructions]
            return _render(form, draft, back)
        except faces.FaceModelError:
            logging.getLogger(__name__).exception("the photo quality gate could not run")
            form.photo.errors = [
                _("Photos cannot be checked at the moment: try again in a few minutes.")
            ]
            return _render(form, draft, back, 503)
        _keep(draft, accepted.photo.jpeg)
        return redirect(url_for("traveller.check_answers"))

    @blueprint.get("/apply/photo/preview")
    def photo_preview() -> Response:
        """The photo waiting in the traveller's own draft (never cached: see web.security)."""
        draft = current_draft()
        jpeg = stored_jpeg(draft) if draft is not None else None
        if jpeg is None:
            return Response(status=404)
        return Response(jpeg, mimetype=image.STORED_MEDIA_TYPE)
