"""Photos and templates in the database: stored sealed, read back by id, erased with the rest.

Every function takes the session and works in the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import bindparam, delete, select, update

from eta.identity import faces, image, sealing
from eta.identity.gate import AcceptedPhoto
from eta.models import Application, ApplicationPhoto, FaceTemplateChange
from eta.models.base import SessionLike

PHOTO = "photo"
TEMPLATE = "template"


def _template_bytes(vector: np.ndarray) -> bytes:
    return np.asarray(vector, dtype="<f4").tobytes()


def _template_vector(raw: bytes) -> np.ndarray:
    vector = np.frombuffer(raw, dtype="<f4")
    if vector.shape != (faces.TEMPLATE_DIMENSIONS,):
        raise sealing.SealError("a stored template has the wrong length")
    return vector


def save_photo(
    session: SessionLike,
    application_id: int,
    accepted: AcceptedPhoto,
    key: bytes,
    template: np.ndarray | None,
) -> None:
    """Insert the application's photo (and template, when computed), sealed under `key`."""
    width, height = accepted.photo.size
    session.add(
        ApplicationPhoto(
            application_id=application_id,
            media_type=image.STORED_MEDIA_TYPE,
            width=width,
            height=height,
            photo_sealed=sealing.seal(key, PHOTO, application_id, accepted.photo.jpeg),
            face=accepted.face.as_json(),
            quality=accepted.measures.as_json(),
            template_sealed=None
            if template is None
            else sealing.seal(key, TEMPLATE, application_id, _template_bytes(template)),
            template_version=None if template is None else faces.TEMPLATE_VERSION,
        )
    )
    if template is not None:
        session.add(FaceTemplateChange(application_id=application_id, added=True))


# What screening reads of an application's photo: no image (it is only read when the template
# has to be computed), so the query costs one small row, and it joins the checks' read-ahead.
SCREENING_QUERY = select(
    ApplicationPhoto.id,
    ApplicationPhoto.application_id,
    ApplicationPhoto.face,
    ApplicationPhoto.template_sealed,
    ApplicationPhoto.template_version,
).where(ApplicationPhoto.application_id == bindparam("id"))


def screening_query(application_id: int) -> tuple[Any, dict[str, Any]]:
    """The query of an application's photo row for screening, with its parameters."""
    return SCREENING_QUERY, {"id": application_id}


def photo_row(session: SessionLike, application_id: int) -> ApplicationPhoto | None:
    """The application's photo row, or None when it has none (or it was erased)."""
    return session.scalar(
        select(ApplicationPhoto).where(ApplicationPhoto.application_id == application_id)
    )


def photo_jpeg(row: ApplicationPhoto, key: bytes) -> bytes:
    """The JPEG of a photo row (SealError when it does not open)."""
    return sealing.unseal(key, PHOTO, row.application_id, row.photo_sealed)


def template_of(row: Any, key: bytes) -> np.ndarray | None:
    """The row's template, or None when none of the current version is stored."""
    if row.template_sealed is None or row.template_version != faces.TEMPLATE_VERSION:
        return None
    return _template_vector(sealing.unseal(key, TEMPLATE, row.application_id, row.template_sealed))


def compute_template(session: SessionLike, row: Any, key: bytes) -> np.ndarray:
    """The template of a stored photo (a row of SCREENING_QUERY or the whole row), from the face
    the gate found; FaceModelError when the network fails."""
    sealed = session.scalar(
        select(ApplicationPhoto.photo_sealed).where(ApplicationPhoto.id == row.id)
    )
    if sealed is None:
        raise sealing.SealError("the photo is gone")
    picture = image.open_stored(sealing.unseal(key, PHOTO, row.application_id, sealed))
    return faces.template(picture, faces.Face.from_json(row.face))


def store_template(session: SessionLike, row: Any, key: bytes, vector: np.ndarray) -> None:
    """Keep a template computed later (by screening) on the photo's row."""
    session.execute(
        update(ApplicationPhoto)
        .where(ApplicationPhoto.id == row.id)
        .values(
            template_sealed=sealing.seal(
                key, TEMPLATE, row.application_id, _template_bytes(vector)
            ),
            template_version=faces.TEMPLATE_VERSION,
        )
        .execution_options(synchronize_session=False)
    )
    session.add(FaceTemplateChange(application_id=row.application_id, added=True))


@dataclass(frozen=True, slots=True)
class Gallery:
    """Earlier applicants' templates: application ids and one template per row."""

    application_ids: list[int]
    templates: np.ndarray  # shape (n, 128), float32


def templates_of(connection: Any, key: bytes, application_ids: Sequence[int] | None) -> Gallery:
    """The current templates of these applications (all, with None) whose data is not erased.

    `connection` is a Connection or a Session; the index reads on a connection of its own, so
    that it only ever sees committed templates.
    """
    statement = (
        select(ApplicationPhoto.application_id, ApplicationPhoto.template_sealed)
        .join(Application, Application.id == ApplicationPhoto.application_id)
        .where(
            ApplicationPhoto.template_sealed.is_not(None),
            ApplicationPhoto.template_version == faces.TEMPLATE_VERSION,
            Application.erased_at.is_(None),
        )
        .order_by(ApplicationPhoto.application_id)
    )
    if application_ids is not None:
        statement = statement.where(ApplicationPhoto.application_id.in_(list(application_ids)))
    rows = connection.execute(statement).all()
    if not rows:
        return Gallery([], np.zeros((0, faces.TEMPLATE_DIMENSIONS), dtype=np.float32))
    matrix = np.stack(
        [
            _template_vector(sealing.unseal(key, TEMPLATE, row.application_id, row.template_sealed))
            for row in rows
        ]
    )
    return Gallery([row.application_id for row in rows], matrix)


def gallery(session: SessionLike, key: bytes, *, excluding: int) -> Gallery:
    """Every stored template of the current version but `excluding`'s, of rows not erased.

    Exact search reads them all: fine for tens of thousands; an approximate index is the
    next step for millions (docs/screening.md).
    """
    rows = session.execute(
        select(ApplicationPhoto.application_id, ApplicationPhoto.template_sealed)
        .join(Application, Application.id == ApplicationPhoto.application_id)
        .where(
            ApplicationPhoto.application_id != excluding,
            ApplicationPhoto.template_sealed.is_not(None),
            ApplicationPhoto.template_version == faces.TEMPLATE_VERSION,
            Application.erased_at.is_(None),
        )
        .order_by(ApplicationPhoto.application_id)
    ).all()
    ids = [row.application_id for row in rows]
    if not rows:
        return Gallery([], np.zeros((0, faces.TEMPLATE_DIMENSIONS), dtype=np.float32))
    matrix = np.stack(
        [
            _template_vector(sealing.unseal(key, TEMPLATE, row.application_id, row.template_sealed))
            for row in rows
        ]
    )
    return Gallery(ids, matrix)


def erase_photos(session: SessionLike, application_ids: Sequence[int]) -> int:
    """Delete the photos and templates of these applications; returns how many went."""
    if not application_ids:
        return 0
    result = session.execute(
        delete(ApplicationPhoto)
        .where(ApplicationPhoto.application_id.in_(list(application_ids)))
        .execution_options(synchronize_session=False)
    )
    # Every worker's 1:N index drops them at its next search (eta.identity.index).
    session.add_all(
        [FaceTemplateChange(application_id=i, added=False) for i in sorted(set(application_ids))]
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
