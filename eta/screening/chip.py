"""The chip check: passive authentication of the passport chip, and the photo against its face.

Two findings may come of it, each only informing an officer (never a refusal, and a verified
chip never clears anyone by itself):
- the chip's data is not proven to be the issuing state's: `chip_tampered` (a data group's hash
  or the SOD's signature fails), `chip_unknown_csca` (no imported CSCA issued the document
  signer) or `chip_signer_expired`; the result, "verified" included, is kept on the chip's row
  for the case page;
- the traveller's photo is not the chip's face (1:1, dlib templates, Euclidean distance above
  ETA_CHIP_FACE_THRESHOLD): `face_mismatch`, with the distance and the threshold.
A chip file that no longer reads, a key that is missing or an algorithm eta cannot check
raises: screening records `check_failed` and refers. No chip: nothing to check.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from eta.chip import csca, lds, passive
from eta.chip import store as chip_store
from eta.chip.image import open_face
from eta.chip.settings import ChipSettings
from eta.identity import faces
from eta.identity import store as photo_store
from eta.identity.settings import PhotoSettings
from eta.models import Application, CheckName
from eta.models.base import SessionLike

FACE_MISMATCH = "face_mismatch"
FACE_NOT_FOUND = "chip_face_not_found"
NO_REFUSAL = " A chip check alone is no reason to refuse."


class ChipCheckUnavailable(RuntimeError):
    """The chip check cannot run here (no photo key to open the chip's files)."""


@dataclass(frozen=True, slots=True)
class ChipFinding:
    """One reason to refer, as the chip check found it."""

    check: CheckName
    code: str
    explanation: str
    score: float | None = None
    details: dict[str, Any] = field(default_factory=dict)


def chip_face(image: lds.FacialImage, detect_side: int) -> np.ndarray | None:
    """The template of the largest face in DG2's image, or None when no face is found."""
    picture = open_face(image)
    found = faces.detect(picture, detect_side)
    if not found:
        return None
    largest = max(found, key=lambda f: (f.box[2] - f.box[0]) * (f.box[3] - f.box[1]))
    return faces.template(picture, largest)


def _photo_template(session: SessionLike, application_id: int, key: bytes) -> np.ndarray | None:
    """The template of the application's photo (computed from it if none is stored)."""
    row = photo_store.photo_row(session, application_id)
    if row is None:
        return None
    probe = photo_store.template_of(row, key)
    return probe if probe is not None else photo_store.compute_template(session, row, key)


def _face_findings(
    session: SessionLike,
    application: Application,
    files: chip_store.ChipFiles,
    key: bytes,
    photo: PhotoSettings,
    threshold: float,
) -> tuple[list[ChipFinding], float | None]:
    """The 1:1 match of the photo against the chip's face; and the distance (None: no photo)."""
    probe = _photo_template(session, application.id, key)
    if probe is None:
        return [], None
    reference = chip_face(lds.read_face(files.dg2), photo.detect_side)
    if reference is None:
        return [
            ChipFinding(
                CheckName.CHIP,
                FACE_NOT_FOUND,
                "No face was found in the chip's facial image (DG2), so the photo could not "
                "be compared with it: compare the photo with the passport by hand." + NO_REFUSAL,
            )
        ], None
    distance = float(np.linalg.norm(probe.astype(np.float32) - reference))
    if distance <= threshold:
        return [], distance
    return [
        ChipFinding(
            CheckName.FACE,
            FACE_MISMATCH,
            f"The face in the photo does not match the face on the passport chip (distance "
            f"{distance:.3f}; at or below {threshold:.2f} two photos are taken as the same "
            "face): compare the photo with the chip's image and the traveller's passport. A "
            "face match alone is no reason to refuse.",
            score=distance,
            details={
                "distance": round(distance, 4),
                "threshold": threshold,
                "template_version": faces.TEMPLATE_VERSION,
            },
        )
    ], distance


def check_chip(
    session: SessionLike,
    application: Application,
    photo: PhotoSettings | None,
    settings: ChipSettings,
    now: dt.datetime,
    present: Sequence[Any] | None = None,
) -> list[ChipFinding]:
    """Passive authentication of the application's chip, and its face against the photo.

    ``present``: the rows of :func:`eta.chip.store.screening_query` when they were read ahead
    with the other checks' queries (an application without a chip then costs no query here).
    """
    if present is not None and not present:
        return []
    row = chip_store.chip_row(session, application.id)
    if row is None:
        return []
    if photo is None or photo.key is None:
        raise ChipCheckUnavailable("no photo key is configured (ETA_PHOTO_KEY)")
    files = chip_store.files_of(row, photo.key)
    verdict = passive.verify(
        lds.read_sod(files.sod), {1: files.dg1, 2: files.dg2}, csca.trusted(session), now
    )
    findings = []
    if verdict.outcome is not passive.Outcome.VERIFIED:
        findings.append(
            ChipFinding(
                CheckName.CHIP,
                f"chip_{verdict.outcome.value}",
                f"{verdict.reason}.{NO_REFUSAL}",
                details={"outcome": verdict.outcome.value, **verdict.details},
            )
        )
    face, distance = _face_findings(
        session, application, files, photo.key, photo, settings.face_threshold
    )
    findings.extend(face)
    chip_store.record_result(
        session,
        row,
        result=verdict.outcome.value,
        details={"reason": verdict.reason, **verdict.details},
        at=now,
        face_distance=None if distance is None else round(distance, 4),
        face_threshold=None if distance is None else settings.face_threshold,
    )
    return findings
