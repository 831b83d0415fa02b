"""The face check (1:N): the applicant's face against earlier applicants' faces.

The same face under another identity (another name, date of birth or passport) refers the
application with `identity_conflict`, explained with the distance and the threshold. It only
informs an officer (a face match in migration is high-risk under the EU AI Act, Annex III
point 7): it never refuses, and the same person applying again under the same identity is no
finding at all. An application without a photo has nothing to check.

The template is computed at submission; when that failed, this check computes it from the
stored photo and keeps it (in the run's transaction). A check that cannot run (no key, a model
error, a sealed value that does not open) raises, and screening records `check_failed`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from eta.identity import index, matching, store
from eta.identity.settings import PhotoSettings
from eta.models import Application, ApplicationPhoto
from eta.models.base import SessionLike

IDENTITY_CONFLICT = "identity_conflict"
# Findings one application gets at most: beyond a few, the officer has the pattern.
MAX_FINDINGS = 5
# Nearest templates looked at: the same face under more identities than this is already a case.
MAX_CANDIDATES = 10


class FaceCheckUnavailable(RuntimeError):
    """The face check cannot run here (no photo key configured)."""


@dataclass(frozen=True, slots=True)
class FaceFinding:
    """One earlier application with the same face under another identity."""

    explanation: str
    distance: float
    related_application_id: int
    details: dict[str, Any]


_OTHERS = select(
    Application.id,
    Application.reference,
    Application.erased_at,
    Application.surname_mrz,
    Application.given_names_mrz,
    Application.date_of_birth,
    Application.passport_issuing_country,
    Application.passport_number_normalised,
)


def _differences(other: Any, application: Application) -> list[str]:
    """What differs between two identities: name, date_of_birth, passport."""
    differs = []
    if (other.surname_mrz, other.given_names_mrz) != (
        application.surname_mrz,
        application.given_names_mrz,
    ):
        differs.append("name")
    if other.date_of_birth != application.date_of_birth:
        differs.append("date_of_birth")
    if (other.passport_issuing_country, other.passport_number_normalised) != (
        application.passport_issuing_country,
        application.passport_number_normalised,
    ):
        differs.append("passport")
    return differs


_IN_WORDS = {"name": "name", "date_of_birth": "date of birth", "passport": "passport"}


def check_face(
    session: SessionLike,
    application: Application,
    settings: PhotoSettings | None,
    *,
    photo: Sequence[Any] | None = None,
) -> list[FaceFinding]:
    """Earlier applications whose face matches this one's under another identity.

    `photo` are the rows of `eta.identity.store.screening_query()` when the caller read them.
    """
    if photo is None:
        statement, params = store.screening_query(application.id)
        photo = session.execute(statement, params).all()
    if not photo:
        return []
    row = photo[0]
    if settings is None or settings.key is None:
        raise FaceCheckUnavailable("no photo key is configured (ETA_PHOTO_KEY)")
    key = settings.key
    probe = store.template_of(row, key)
    if probe is None:
        probe = store.compute_template(session, row, key)
        store.store_template(session, row, key, probe)
    threshold = settings.match_threshold
    engine = session.get_bind()
    nearest = index.for_database(engine, settings.index).nearest(
        engine, key, probe, MAX_CANDIDATES, excluding=application.id
    )
    candidates = [matching.Candidate(i, d) for i, d in nearest if d <= threshold]
    if not candidates:
        return []
    # Checked against the database, not the index: a template erased since the index last
    # caught up is no finding.
    others = {
        other.id: other
        for other in session.execute(
            _OTHERS.join(ApplicationPhoto, ApplicationPhoto.application_id == Application.id)
            .where(Application.id.in_([c.application_id for c in candidates]))
            .where(ApplicationPhoto.template_sealed.is_not(None))
        )
    }
    findings: list[FaceFinding] = []
    for candidate in candidates:
        other = others.get(candidate.application_id)
        if other is None or other.erased_at is not None:
            continue
        differs = _differences(other, application)
        if not differs:
            continue  # the same person, applying again as themselves
        what = ", ".join(_IN_WORDS[d] for d in differs)
        findings.append(
            FaceFinding(
                f"The face in the photo matches the photo of application {other.reference} "
                f"(distance {candidate.distance:.3f}; at or below {threshold:.2f} two photos "
                f"are taken as the same face) under another {what}: compare the two photos "
                "and establish whether one person holds two identities. A face match alone is "
                "no reason to refuse.",
                candidate.distance,
                other.id,
                {
                    "distance": round(candidate.distance, 4),
                    "threshold": threshold,
                    "differs": differs,
                    "template_version": row.template_version or "",
                },
            )
        )
        if len(findings) == MAX_FINDINGS:
            break
    return findings
