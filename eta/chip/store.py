"""An application's chip files in the database: stored sealed, read back, the result kept.

Every function takes the session and works in the caller's transaction.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, delete, select, update

from eta.identity import sealing
from eta.models import ApplicationChip
from eta.models.base import SessionLike

SOD, DG1, DG2 = "chip-sod", "chip-dg1", "chip-dg2"


@dataclass(frozen=True, slots=True)
class ChipFiles:
    """The three files a reader took from the chip."""

    sod: bytes
    dg1: bytes
    dg2: bytes


def save_chip(session: SessionLike, application_id: int, files: ChipFiles, key: bytes) -> None:
    """Insert the application's chip files, sealed under `key` (the photo key)."""
    session.add(
        ApplicationChip(
            application_id=application_id,
            sod_sealed=sealing.seal(key, SOD, application_id, files.sod),
            dg1_sealed=sealing.seal(key, DG1, application_id, files.dg1),
            dg2_sealed=sealing.seal(key, DG2, application_id, files.dg2),
            details={},
        )
    )


# What screening reads first: whether the application has a chip row at all (most have none), so
# the query costs one small row and joins the checks' read-ahead (eta.screening.service).
SCREENING_QUERY = select(ApplicationChip.id).where(
    ApplicationChip.application_id == bindparam("id")
)


def screening_query(application_id: int) -> tuple[Any, dict[str, Any]]:
    """The query of an application's chip row id for screening, with its parameters."""
    return SCREENING_QUERY, {"id": application_id}


def chip_row(session: SessionLike, application_id: int) -> ApplicationChip | None:
    """The application's chip row, or None when it has none (or it was erased)."""
    return session.scalar(
        select(ApplicationChip).where(ApplicationChip.application_id == application_id)
    )


def files_of(row: ApplicationChip, key: bytes) -> ChipFiles:
    """The row's files, unsealed (SealError when one does not open)."""
    return ChipFiles(
        sealing.unseal(key, SOD, row.application_id, row.sod_sealed),
        sealing.unseal(key, DG1, row.application_id, row.dg1_sealed),
        sealing.unseal(key, DG2, row.application_id, row.dg2_sealed),
    )


def record_result(
    session: SessionLike,
    row: ApplicationChip,
    *,
    result: str,
    details: dict[str, Any],
    at: dt.datetime,
    face_distance: float | None,
    face_threshold: float | None,
) -> None:
    """Keep what screening concluded on the chip row (in the run's transaction)."""
    session.execute(
        update(ApplicationChip)
        .where(ApplicationChip.id == row.id)
        .values(
            result=result,
            details=details,
            checked_at=at,
            face_distance=face_distance,
            face_threshold=face_threshold,
        )
        .execution_options(synchronize_session=False)
    )


def erase_chips(session: SessionLike, application_ids: Sequence[int]) -> int:
    """Delete the chip files and results of these applications; returns how many went."""
    if not application_ids:
        return 0
    result = session.execute(
        delete(ApplicationChip)
        .where(ApplicationChip.application_id.in_(list(application_ids)))
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
