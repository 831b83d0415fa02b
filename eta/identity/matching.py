"""Face 1:N: the nearest earlier templates to a face, by exact search over the gallery."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from eta.identity.store import Gallery


@dataclass(frozen=True, slots=True)
class Candidate:
    """An earlier application whose face lies within the threshold of this one."""

    application_id: int
    distance: float


def nearest(
    probe: np.ndarray, gallery: Gallery, threshold: float, limit: int = 10
) -> list[Candidate]:
    """Up to `limit` gallery faces at Euclidean distance at most `threshold`, nearest first."""
    if not gallery.application_ids:
        return []
    distances = np.linalg.norm(gallery.templates - probe.astype(np.float32)[None, :], axis=1)
    order = np.argsort(distances, kind="stable")[:limit]
    return [
        Candidate(gallery.application_ids[i], float(distances[i]))
        for i in order
        if distances[i] <= threshold
    ]
