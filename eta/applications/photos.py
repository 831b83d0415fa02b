"""An application's facial photo at submission: through the quality gate, then stored sealed.

The gate runs even when other fields have errors, so the traveller learns everything at once.
The face template is computed here, before the application is saved, so a later applicant's
screening always finds it; should the recognition network fail now, screening computes it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
from flask import current_app
from flask_babel import lazy_gettext as _

from eta.identity import faces, store
from eta.identity.gate import AcceptedPhoto, PhotoRejected, check_photo, template_of
from eta.identity.settings import PhotoSettings
from eta.models.base import SessionLike

log = logging.getLogger(__name__)

FIELD = "photo"


@dataclass(frozen=True, slots=True)
class Photo:
    """A photo that passed the gate, its template (None if it failed) and the key to seal it."""

    accepted: AcceptedPhoto
    template: np.ndarray | None
    key: bytes


def settings() -> PhotoSettings:
    """The photo settings of the running app."""
    return PhotoSettings.from_config(current_app.config)


def accept(document: dict[str, Any], errors: dict[str, list[Any]]) -> Photo | None:
    """The document's `photo` through the gate; its instructions go into `errors["photo"]`.

    None when there is no photo (an error then if ETA_PHOTO_REQUIRED) or it failed the gate.
    Raises FaceModelError when the models cannot run: the caller answers 503, not a field error.
    """
    config = settings()
    sent = document.get(FIELD)
    if sent is None:
        if config.required:
            errors.setdefault(FIELD, []).append(
                _("Add a photo of your face, taken in the last month")
            )
        return None
    if config.key is None:
        errors.setdefault(FIELD, []).append(
            _("This service does not take photos: send the application without one")
        )
        return None
    try:
        accepted = check_photo(sent, config)
    except PhotoRejected as rejected:
        errors.setdefault(FIELD, []).extend(rejected.instructions)
        return None
    if errors:
        return None  # the template would be wasted work: the application is not saved
    try:
        template = template_of(accepted)
    except faces.FaceModelError:
        log.warning("face template failed at submission; screening computes it", exc_info=True)
        template = None
    return Photo(accepted, template, config.key)


def save(session: SessionLike, application_id: int, photo: Photo) -> None:
    """Store the photo (and template) of a new application in the caller's transaction."""
    store.save_photo(session, application_id, photo.accepted, photo.key, photo.template)
