"""Reading JSON request bodies safely: content type, size, syntax, and shape, as problems."""

from __future__ import annotations

import json
from typing import Any

from flask import current_app, request

from eta.web.edge import UNSTORABLE_MESSAGE, json_float, json_integer, json_unstorable_paths
from eta.web.problems import PROBLEM_BASE, Problem, validation_problem


def json_object(limit: int | None = None) -> dict[str, Any]:
    """Return the request's JSON object, or raise a Problem saying exactly what is wrong.

    415 for another content type, 413 past the size limit (MAX_CONTENT_LENGTH, or the route's
    own `limit`), 400 for malformed JSON or invalid UTF-8, 422 when the document is not a JSON
    object.
    """
    mimetype = request.mimetype
    if mimetype != "application/json" and not mimetype.endswith("+json"):
        raise Problem(
            415,
            "Unsupported Media Type",
            "Send the request body as JSON with Content-Type: application/json.",
            type_=PROBLEM_BASE + "unsupported-media-type",
        )
    if limit is None:
        limit = int(current_app.config["MAX_CONTENT_LENGTH"])
    else:
        request.max_content_length = limit  # werkzeug's own check on reading, chunked too
    if request.content_length is not None and request.content_length > limit:
        raise Problem(413, "Content Too Large", f"The body must be at most {limit} bytes.")
    raw = request.get_data(cache=True)  # werkzeug enforces the limit on chunked bodies too
    if not raw:
        raise Problem(
            400,
            "Bad Request",
            "The request body is empty: send a JSON object.",
            type_=PROBLEM_BASE + "malformed-json",
        )
    try:
        document = json.loads(
            raw.decode("utf-8"),
            parse_constant=_reject_constant,
            parse_int=json_integer,
            parse_float=json_float,
        )
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        raise Problem(
            400,
            "Bad Request",
            f"The request body is not valid JSON: {_short(error)}",
            type_=PROBLEM_BASE + "malformed-json",
        ) from None
    if not isinstance(document, dict):
        raise Problem(
            422,
            "Unprocessable Content",
            "The request body must be a JSON object.",
            type_=PROBLEM_BASE + "validation",
            errors={"": ["Send a JSON object, not a list or a single value."]},
        )
    # NUL and lone surrogates only get into a str through \u escapes (raw, they are invalid
    # JSON or invalid UTF-8): without one, the walk over every string is skipped.
    unstorable = sorted(set(json_unstorable_paths(document))) if b"\\u" in raw else []
    if unstorable:
        raise validation_problem({path: [UNSTORABLE_MESSAGE] for path in unstorable})
    return document


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not allowed in JSON")


def _short(error: Exception) -> str:
    text = str(error)
    return text if len(text) < 120 else text[:117] + "..."
