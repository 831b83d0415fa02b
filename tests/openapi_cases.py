"""What the schemathesis tests share: the PAXLST serializer, and the text the edge refuses.

An OpenAPI schema cannot say "any string but one holding NUL or a lone surrogate", which eta
refuses in every string at its edge (eta.web.edge) with a 4xx naming the field. A generated
case that carries one is valid to the schema, so "valid data is accepted" cannot hold for it;
every other check (no 5xx, documented status, content type and schema) still does.
"""

from __future__ import annotations

from typing import Any

import schemathesis

from eta.carrier.paxlst import MIMETYPE as EDIFACT
from eta.web.edge import MAX_JSON_INTEGER, unstorable

# PAXLST bodies are text: schemathesis sends the generated strings as they are.
schemathesis.serializer.alias(EDIFACT, "text/plain")


def strings(value: Any) -> list[str]:
    """Every string in a JSON value (keys included)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in (*strings(k), *strings(v))]
    if isinstance(value, list | tuple):
        return [s for item in value for s in strings(item)]
    return []


def integers(value: Any) -> list[int]:
    """Every integer in a JSON value."""
    if isinstance(value, bool):
        return []
    if isinstance(value, int):
        return [value]
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, list | tuple):
        return [n for item in value for n in integers(item)]
    return []


def refused_at_edge(case: Any) -> bool:
    """Whether a generated case carries what the edge refuses: text no database stores (body,
    query or path), or a JSON integer beyond I-JSON's range (RFC 7493), anywhere in the body."""
    sent = (case.body, case.query or {}, case.path_parameters or {})
    if any(unstorable(text) for part in sent for text in strings(part)):
        return True
    return any(abs(n) > MAX_JSON_INTEGER for n in integers(case.body))
