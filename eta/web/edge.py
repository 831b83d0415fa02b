"""The request's edge: text and numbers no part of eta can store are refused before any view.

PostgreSQL cannot store NUL in text, and neither database driver can encode a lone UTF-16
surrogate: either, reaching a query, was a 500. Ids past the database's INTEGER range overflow
the bound parameter. So every form field, query parameter, path and JSON string is checked here,
once, and every integer taken from a path or a query is bounded here.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from flask import Flask, abort, current_app, request
from werkzeug.routing import IntegerConverter

# Every id column is an INTEGER (PostgreSQL: 4 bytes, signed); SQLite stores up to 2**63 - 1.
MAX_ID = 2**31 - 1
# I-JSON (RFC 7493): integers a double holds exactly; beyond it clients disagree on the value.
MAX_JSON_INTEGER = 2**53 - 1
# NUL, and the surrogate halves that only come in pairs in UTF-16 and never in a Python str
# decoded from valid UTF-8 (they arrive through JSON's \ud800 escapes).
UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
UNSTORABLE_MESSAGE = "Must not contain NUL or unpaired surrogate characters."


class IdConverter(IntegerConverter):
    """``<int:...>`` in every route: 0 to :data:`MAX_ID`; a larger number is a 404, not a 500."""

    def __init__(self, map: Any, fixed_digits: int = 0, min: int = 0, max: int = MAX_ID) -> None:
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max)


def unstorable(text: str) -> bool:
    """Whether ``text`` holds a character no database of eta's can store (NUL, a surrogate)."""
    return UNSTORABLE.search(text) is not None


def query_int(name: str, maximum: int = MAX_ID) -> int | None:
    """The query parameter ``name`` as a whole number from 0 to ``maximum``, else None.

    Views read integers from the query only through this, so a number no column can hold is
    treated like any other value that is not a number: ignored.
    """
    text = request.args.get(name, "")
    if not text.isascii() or not text.isdigit() or len(text) > len(str(maximum)):
        return None
    value = int(text)
    return value if value <= maximum else None


def json_unstorable_paths(document: Any, path: str = "") -> Iterator[str]:
    """The field paths (``passport.number``, ``passengers.0.token``) of unstorable strings."""
    if isinstance(document, str):
        if unstorable(document):
            yield path
    elif isinstance(document, dict):
        for key, value in document.items():
            child = f"{path}.{key}" if path else str(key)
            if unstorable(key):  # named escaped: the answer must not carry it back
                yield child.encode("unicode_escape").decode("ascii")
            else:
                yield from json_unstorable_paths(value, child)
    elif isinstance(document, list):
        for index, value in enumerate(document):
            yield from json_unstorable_paths(value, f"{path}.{index}" if path else str(index))


def json_integer(text: str) -> int:
    """``parse_int`` for json.loads: an I-JSON integer, else ValueError (a 400)."""
    value = int(text)
    if abs(value) > MAX_JSON_INTEGER:
        raise ValueError(f"numbers must be between -{MAX_JSON_INTEGER} and {MAX_JSON_INTEGER}")
    return value


def json_float(text: str) -> float:
    """``parse_float`` for json.loads: a finite number (1e400 is not infinity), else ValueError."""
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise ValueError("numbers must be finite")
    return value


_FORM_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})


View = TypeVar("View", bound=Callable[..., Any])
BODY_LIMIT = "eta_body_limit"


def body_limit(limit: Callable[[], int]) -> Callable[[View], View]:
    """Mark a view whose requests may be larger than MAX_CONTENT_LENGTH: at most `limit()` bytes.

    Set here, before the form is first read (below), since werkzeug applies the limit then.
    """

    def mark(view: View) -> View:
        setattr(view, BODY_LIMIT, limit)
        return view

    return mark


def _apply_body_limit() -> None:
    view = current_app.view_functions.get(request.endpoint or "")
    limit = getattr(view, BODY_LIMIT, None)
    if limit is not None:
        request.max_content_length = limit()


def _values() -> Iterator[str]:
    yield request.path
    for key, value in request.args.items(multi=True):
        yield key
        yield value
    if request.method in ("POST", "PUT", "PATCH") and request.mimetype in _FORM_TYPES:
        for key, value in request.form.items(multi=True):
            yield key
            yield value
        for key in request.files:
            yield key


def refuse_unstorable_input() -> None:
    """Answer 400 to a request whose path, query or form holds NUL or a lone surrogate."""
    _apply_body_limit()
    if not request.query_string and request.mimetype not in _FORM_TYPES:
        # Most API calls (a JSON body, no query): only the path to look at, on every request.
        if unstorable(request.path):
            abort(
                400, description=f"A field of the request is not valid text. {UNSTORABLE_MESSAGE}"
            )
        return
    if any(unstorable(value) for value in _values()):
        abort(400, description=f"A field of the request is not valid text. {UNSTORABLE_MESSAGE}")


def init_app(app: Flask) -> None:
    """Bound ``<int:...>`` in every route and check every request's text; before blueprints."""
    app.url_map.converters["int"] = IdConverter
    app.before_request_funcs.setdefault(None, []).insert(0, refuse_unstorable_input)
