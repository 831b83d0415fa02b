"""Several read-only queries in one round trip to PostgreSQL (psycopg's pipeline mode).

The screening job runs four small queries per application, one for each check that reads the
database, each waiting for the server's answer before the next is sent. Their parameters are
all known once the application is loaded, so on PostgreSQL they can go together: psycopg sends
them in one batch and reads the four answers after one wait. Elsewhere (SQLite, in-process)
there is no round trip to save, and `fetch_together` answers None: the caller runs its queries
one by one, as it would anyway.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import psycopg
from psycopg.rows import namedtuple_row
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.sql import ClauseElement

from eta.models.base import SessionLike

log = logging.getLogger(__name__)

# Compiled once per statement (the statements are module constants): compiling costs more
# than running them. Keyed by id, holding the statement so that the id is never reused.
_COMPILED: dict[int, tuple[ClauseElement, Any]] = {}


def _compiled(statement: ClauseElement, dialect: Any) -> Any:
    cached = _COMPILED.get(id(statement))
    if cached is None:
        cached = _COMPILED[id(statement)] = (statement, statement.compile(dialect=dialect))
    return cached[1]


def fetch_together(
    session: SessionLike, queries: Sequence[tuple[ClauseElement, Mapping[str, Any]]]
) -> list[list[Any]] | None:
    """Run read-only SELECTs in the session's transaction and return each one's rows, in order.

    On PostgreSQL the statements go to the server in one round trip; rows are named tuples
    (attribute access by column name, as SQLAlchemy's rows) of the values psycopg reads, so the
    statements must select columns whose types need no SQLAlchemy conversion (numbers, text,
    dates, JSON). Returns None on any other database, and None when the database or a statement
    failed, having rolled the session back (what a failed check does): the caller then runs
    the queries one by one, each failing or succeeding on its own, so a failure here never
    hides a finding. Anything else (a job's timeout above all) propagates.
    """
    connection = session.connection()
    if connection.dialect.name != "postgresql" or not queries:
        return None
    raw = connection.connection.dbapi_connection
    if raw is None:
        return None
    try:
        cursors = []
        with raw.pipeline():
            for statement, params in queries:
                compiled = _compiled(statement, connection.dialect)
                cursor = raw.cursor(row_factory=namedtuple_row)
                cursor.execute(compiled.string, compiled.construct_params(params))
                cursors.append(cursor)
        return [list(cursor.fetchall()) for cursor in cursors]
    except (psycopg.Error, SQLAlchemyError) as error:  # run again one by one, each on its own
        log.warning("pipelined reads failed (%s); running them one by one", type(error).__name__)
        if raw.closed or getattr(raw, "broken", False):
            connection.invalidate()  # as SQLAlchemy does on a disconnect: not back to the pool
        session.rollback()
        return None
    except BaseException:
        # Interrupted mid-pipeline (a job's timeout): the connection may still await answers,
        # and rolling it back would raise "cannot exit pipeline mode while busy". It is
        # discarded instead, so the caller's rollback has nothing left to send.
        connection.invalidate()
        raise
