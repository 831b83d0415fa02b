"""The carrier query log, written in batches off the request path.

Every verification is logged (SPEC §4), but an INSERT per request would be a third of the
database round trips of the hottest path in the system. A request instead hands its row to
this process's :class:`QueryLog`, and a background thread writes what has gathered as one
multi-row INSERT every FLUSH_SECONDS (sooner once MAX_PENDING rows wait). Rows reach the
table within about half a second; at a clean exit (gunicorn's SIGTERM, Ctrl-C) the rest is
written; a process killed outright loses at most the rows of that last half second. A failed
write keeps its rows for the next attempt, up to MAX_KEPT, so a database restart loses none.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import weakref
from typing import Any

from sqlalchemy import Engine, insert
from sqlalchemy.exc import SQLAlchemyError

from eta.models import CarrierQuery

log = logging.getLogger(__name__)

FLUSH_SECONDS = 0.5
MAX_PENDING = 500  # rows that wake the writer before its time
MAX_KEPT = 100_000  # rows kept through a database outage before the oldest are dropped


class QueryLog:
    """Rows waiting to be written to ``carrier_queries``, and the thread that writes them."""

    def __init__(self, engine: Engine, flush_seconds: float = FLUSH_SECONDS) -> None:
        """Write through ``engine``: in one transaction per batch, outside any app context."""
        self._engine = engine
        self._flush_seconds = flush_seconds
        self._rows: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._wake = threading.Event()
        self._writer_pid: int | None = None
        _open_logs.add(self)

    def add(self, row: dict[str, Any]) -> None:
        """Queue one row (the columns of CarrierQuery); it is written within FLUSH_SECONDS."""
        with self._lock:
            if self._writer_pid != os.getpid():
                # First row in this process (or in a child forked with a parent's rows, which
                # the parent writes itself): start this process's writer.
                self._rows = []
                self._writer_pid = os.getpid()
                threading.Thread(target=self._run, name="carrier-query-log", daemon=True).start()
            self._rows.append(row)
            if len(self._rows) >= MAX_PENDING:
                self._wake.set()

    def flush(self) -> int:
        """Write every waiting row now; returns how many were written (0 if the write failed)."""
        with self._write_lock:
            with self._lock:
                if self._writer_pid != os.getpid():
                    return 0  # rows inherited through a fork are the parent's to write
                rows, self._rows = self._rows, []
            if not rows:
                return 0
            try:
                with self._engine.begin() as connection:
                    connection.execute(insert(CarrierQuery), rows)
            except SQLAlchemyError:
                log.warning("carrier query log: %d rows not written yet, retrying", len(rows))
                with self._lock:
                    self._rows[:0] = rows
                    if len(self._rows) > MAX_KEPT:
                        dropped = len(self._rows) - MAX_KEPT
                        del self._rows[:dropped]
                        log.error("carrier query log: %d oldest rows dropped", dropped)
                return 0
            return len(rows)

    def close(self) -> None:
        """Stop the writer after a last write; rows that still cannot be written are dropped."""
        self.flush()
        with self._lock:
            if self._rows:
                log.error("carrier query log: %d rows lost at close", len(self._rows))
            self._rows = []
            self._writer_pid = None  # the writer thread sees this and ends
        self._wake.set()
        _open_logs.discard(self)

    @property
    def pending(self) -> int:
        """How many rows wait to be written."""
        with self._lock:
            return len(self._rows)

    def _run(self) -> None:
        me = os.getpid()
        while self._writer_pid == me:
            self._wake.wait(self._flush_seconds)
            self._wake.clear()
            try:
                self.flush()
            except Exception:  # the writer must outlive anything one write throws
                log.exception("carrier query log: write failed")


# Every log of this process, so the rows still waiting are written at exit.
_open_logs: weakref.WeakSet[QueryLog] = weakref.WeakSet()


@atexit.register
def _flush_at_exit() -> None:
    for query_log in list(_open_logs):
        try:
            query_log.flush()
        except Exception:  # exiting anyway: say so, and try the others
            log.exception("carrier query log: rows lost at exit")
