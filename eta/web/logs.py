"""Logs as JSON lines, each carrying the id of the request (or of the job) it belongs to.

The request id lives in a context variable: the web layer sets it for each request (from a
trusted proxy's `X-Request-Id`, else a new one), the outbox writes it on the rows a request
causes and the job's meta, and the worker sets it again around that job, so one id follows a
submission from the API to its screening and its email. Standard library only: the outbox and
the workers read it outside any Flask request.

Lines hold what the code logged and nothing of the request itself (no path, no query, no body):
eta's log messages name applications by reference and rows by id, never a person.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

REQUEST_ID: ContextVar[str | None] = ContextVar("eta_request_id", default=None)
REQUEST_ID_HEADER = "X-Request-Id"
# What a proxy's id may look like (a UUID, nginx's $request_id, a trace id): anything else is
# replaced by a new id rather than written into every log line of the request.
_ACCEPTED_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
# LogRecord attributes that are the record's machinery, not fields a caller added with extra=.
_STANDARD_ATTRIBUTES = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "taskName",
}
_HANDLER_NAME = "eta-log-handler"


def current_request_id() -> str | None:
    """The id of the request or job this code runs for (None outside both)."""
    return REQUEST_ID.get()


def new_request_id() -> str:
    """A fresh random request id (32 hex digits)."""
    return uuid.uuid4().hex


def accepted_request_id(value: str | None) -> str | None:
    """``value`` if it looks like a request id (see _ACCEPTED_ID), else None."""
    if value is not None and _ACCEPTED_ID.fullmatch(value):
        return value
    return None


@contextmanager
def bound_request_id(value: str | None) -> Iterator[None]:
    """Run the block with ``value`` as the current request id, restoring the previous after."""
    token = REQUEST_ID.set(value)
    try:
        yield
    finally:
        REQUEST_ID.reset(token)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC), level, logger, message, request id, extras."""

    def format(self, record: logging.LogRecord) -> str:
        """Render ``record`` as one line of JSON (a traceback goes in ``exception``)."""
        line: dict[str, Any] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = getattr(record, "request_id", None) or REQUEST_ID.get()
        if request_id is not None:
            line["request_id"] = request_id
        for key, value in vars(record).items():
            if key not in _STANDARD_ATTRIBUTES and key not in line and not key.startswith("_"):
                line[key] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return json.dumps(line, default=str, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """The plain format for a developer's terminal (ETA_LOG_FORMAT=text), with the request id."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        """Render ``record`` on one line, naming its request id (or '-')."""
        if not getattr(record, "request_id", None):
            record.request_id = REQUEST_ID.get() or "-"
        return super().format(record)


class _StderrHandler(logging.StreamHandler):
    """A stream handler that writes to whatever ``sys.stderr`` is at the time of each record.

    Test runners and daemonisers replace ``sys.stderr``; a handler holding the stream it was
    built with would write to a closed one.
    """

    @property
    def stream(self) -> Any:
        """The current standard error."""
        return sys.stderr

    @stream.setter
    def stream(self, _value: Any) -> None:
        pass  # always the current sys.stderr


def configure(log_format: str = "json", level: str = "INFO") -> None:
    """Send every log record to stderr as one JSON line (or text), once per process.

    Like logging.basicConfig, it leaves logging alone where something else configured it
    (pytest's capture, a host application); building a second app (tests, the worker) replaces
    the handler the first installed rather than adding another.
    """
    root = logging.getLogger()
    if any(existing.get_name() != _HANDLER_NAME for existing in root.handlers):
        return
    for existing in list(root.handlers):
        root.removeHandler(existing)
    handler = _StderrHandler()
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    root.addHandler(handler)
    root.setLevel(level.upper())
