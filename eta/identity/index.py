"""The 1:N face index: every current template in memory, searched in milliseconds at millions.

Exact search (faiss IndexFlatL2) while the gallery is small; past `ann_from` templates an
inverted-file index (faiss IndexIVFFlat: k-means cells, `nprobe` of them searched), whose
recall@1 against exact search is measured in tests/identity/test_index.py and bench/identity.py.

The database stays the truth. An index is built once per process from the stored templates and
then follows `face_template_changes`, the log written in the same transaction as each template
added or photo erased (eta.identity.store): each search first applies the rows past the last it
applied. It reads on a connection of its own, so it only sees committed rows; a row committed
late under a lower id (PostgreSQL hands ids out at insert, not at commit) is caught by re-reading
the gaps for `GAP_SECONDS`. The index is rebuilt when it has grown past `REBUILD_GROWTH` times
the size its cells were trained on, when the log went backwards (a restored database), and every
`rebuild_seconds`. The caller checks every candidate against the database (eta.screening.face),
so a late change can delay a finding, never invent one.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import faiss
import numpy as np
from sqlalchemy import func, or_, select

from eta.identity import faces, store
from eta.identity.settings import IndexSettings
from eta.models import FaceTemplateChange

GAP_SECONDS = 120.0  # longer than any submission transaction stays open
REBUILD_GROWTH = 4.0  # cells trained on n templates serve up to 4n
TRAINING_SAMPLE = 64  # k-means points per cell (faiss warns below 39; 256 gains little)


def cells_for(count: int) -> int:
    """The IVF cell count for `count` templates: about 4·√n (faiss's rule of thumb)."""
    return max(16, int(4 * math.sqrt(count)))


class FaceIndex:
    """Templates keyed by application id, with exact or approximate nearest-neighbour search."""

    def __init__(self, settings: IndexSettings, dimensions: int = faces.TEMPLATE_DIMENSIONS):
        self.settings = settings
        self.dimensions = dimensions
        self.trained_for = 0
        self._index: Any = faiss.IndexIDMap2(faiss.IndexFlatL2(dimensions))

    @property
    def approximate(self) -> bool:
        """Whether searches go through the IVF cells (else: exact)."""
        return self.trained_for > 0

    def __len__(self) -> int:
        return int(self._index.ntotal)

    def build(self, ids: Sequence[int], vectors: np.ndarray) -> None:
        """Replace the contents by these templates, exact or IVF by their number."""
        matrix = np.ascontiguousarray(vectors, dtype=np.float32).reshape(-1, self.dimensions)
        keys = np.asarray(ids, dtype=np.int64)
        if len(keys) < self.settings.ann_from:
            self._index = faiss.IndexIDMap2(faiss.IndexFlatL2(self.dimensions))
            self.trained_for = 0
        else:
            cells = cells_for(len(keys))
            quantizer = faiss.IndexFlatL2(self.dimensions)
            index = faiss.IndexIVFFlat(quantizer, self.dimensions, cells, faiss.METRIC_L2)
            sample = min(len(keys), cells * TRAINING_SAMPLE)
            # A fixed seed: the same gallery gives the same cells (and the same answers).
            rows = np.random.default_rng(0).choice(len(keys), size=sample, replace=False)
            index.train(matrix[np.sort(rows)])
            index.nprobe = min(self.settings.nprobe, cells)
            self._quantizer = quantizer  # kept alive as long as the index that uses it
            self._index = index
            self.trained_for = len(keys)
        if len(keys):
            self._index.add_with_ids(matrix, keys)

    def set_nprobe(self, nprobe: int) -> None:
        """Search this many IVF cells from now on (no effect on exact search)."""
        if self.approximate:
            self._index.nprobe = max(1, nprobe)

    def needs_rebuild(self) -> bool:
        """Whether the size left the range the current structure was built for."""
        if self.approximate:
            return len(self) > REBUILD_GROWTH * self.trained_for
        return len(self) >= self.settings.ann_from

    def upsert(self, ids: Sequence[int], vectors: np.ndarray) -> None:
        """Add these templates, replacing any held under the same ids."""
        if not len(ids):
            return
        self.remove(ids)
        matrix = np.ascontiguousarray(vectors, dtype=np.float32).reshape(-1, self.dimensions)
        self._index.add_with_ids(matrix, np.asarray(ids, dtype=np.int64))

    def remove(self, ids: Iterable[int]) -> None:
        """Drop the templates of these ids (absent ones are ignored)."""
        keys = np.asarray(sorted(set(ids)), dtype=np.int64)
        if len(keys):
            self._index.remove_ids(faiss.IDSelectorBatch(keys))

    def search(
        self, probe: np.ndarray, limit: int, *, excluding: int | None = None
    ) -> list[tuple[int, float]]:
        """Up to `limit` (application id, Euclidean distance) pairs, nearest first."""
        if not len(self):
            return []
        wanted = min(len(self), limit + (excluding is not None))
        query = np.ascontiguousarray(probe, dtype=np.float32).reshape(1, self.dimensions)
        squared, keys = self._index.search(query, wanted)
        found = [
            (int(key), math.sqrt(max(0.0, float(d))))
            for key, d in zip(keys[0], squared[0], strict=True)
            if key != -1 and key != excluding
        ]
        return found[:limit]


class SyncedIndex:
    """A FaceIndex that follows the database's template changes (one per process and database)."""

    def __init__(self, settings: IndexSettings, clock: Callable[[], float] = time.monotonic):
        self.index = FaceIndex(settings)
        self.settings = settings
        self._clock = clock
        self._lock = threading.Lock()
        self._applied = 0  # the highest change id applied
        self._gaps: dict[int, float] = {}  # ids below it not seen yet, and since when
        self._built_at: float | None = None

    def nearest(
        self, engine: Any, key: bytes, probe: np.ndarray, limit: int, *, excluding: int
    ) -> list[tuple[int, float]]:
        """The nearest templates to `probe` of committed, unerased applications but `excluding`."""
        with self._lock:
            with engine.connect() as connection:
                self._catch_up(connection, key)
            return self.index.search(probe, limit, excluding=excluding)

    def _catch_up(self, connection: Any, key: bytes) -> None:
        stale = self._built_at is None or (
            self._clock() - self._built_at > self.settings.rebuild_seconds
        )
        if not stale:
            latest = connection.scalar(select(func.max(FaceTemplateChange.id))) or 0
            stale = latest < self._applied  # the log went backwards: another database
        if stale:
            self._rebuild(connection, key)
            return
        self._apply(connection, key)
        if self.index.needs_rebuild():
            self._rebuild(connection, key)

    def _rebuild(self, connection: Any, key: bytes) -> None:
        # The log's end first: a change committed while the templates load is applied again
        # at the next search, which is harmless (upserts and removals are idempotent).
        self._applied = connection.scalar(select(func.max(FaceTemplateChange.id))) or 0
        self._gaps = {}
        loaded = store.templates_of(connection, key, None)
        self.index.build(loaded.application_ids, loaded.templates)
        self._built_at = self._clock()

    def _apply(self, connection: Any, key: bytes) -> None:
        now = self._clock()
        self._gaps = {i: t for i, t in self._gaps.items() if now - t <= GAP_SECONDS}
        condition = FaceTemplateChange.id > self._applied
        if self._gaps:
            condition = or_(condition, FaceTemplateChange.id.in_(sorted(self._gaps)))
        rows = connection.execute(
            select(
                FaceTemplateChange.id, FaceTemplateChange.application_id, FaceTemplateChange.added
            )
            .where(condition)
            .order_by(FaceTemplateChange.id)
        ).all()
        if not rows:
            return
        seen = {row.id for row in rows}
        for missing in range(self._applied + 1, max(seen)):
            if missing not in seen:
                self._gaps.setdefault(missing, now)
        for found in seen:
            self._gaps.pop(found, None)
        self._applied = max(self._applied, max(seen))
        # The last change of each application wins; an "added" is read back from the store
        # (the template may have been erased since, or replaced).
        last: dict[int, bool] = {}
        for row in rows:
            last[row.application_id] = row.added
        self.index.remove([i for i, added in last.items() if not added])
        wanted = [i for i, added in last.items() if added]
        if wanted:
            loaded = store.templates_of(connection, key, wanted)
            self.index.remove(set(wanted) - set(loaded.application_ids))
            self.index.upsert(loaded.application_ids, loaded.templates)


_INDEXES: dict[tuple[str, IndexSettings], SyncedIndex] = {}
_INDEXES_LOCK = threading.Lock()


def for_database(engine: Any, settings: IndexSettings) -> SyncedIndex:
    """This process's index of the database behind `engine` (built at its first search)."""
    name = (engine.url.render_as_string(hide_password=True), settings)
    with _INDEXES_LOCK:
        found = _INDEXES.get(name)
        if found is None:
            found = _INDEXES[name] = SyncedIndex(settings)
        return found


def forget_cached_indexes() -> None:
    """Drop every process-wide index (tests empty the tables between tests)."""
    with _INDEXES_LOCK:
        _INDEXES.clear()
