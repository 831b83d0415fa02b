"""The audit log's public endpoints (SPEC §6): latest checkpoint, its key, consistency proofs."""

from __future__ import annotations

import base64
from typing import Any

from flask import Response, current_app, jsonify, request

from eta.api.openapi import register_paths
from eta.api.views import blueprint
from eta.audit import checkpoints, proofs, tree
from eta.extensions import db
from eta.web.problems import PROBLEM_BASE, Problem, validation_problem

# Tree sizes are 64-bit in the database; anything larger is refused before a query.
MAX_TREE_SIZE = 2**63 - 1


def _text(body: str) -> Response:
    response = Response(body, mimetype="text/plain")
    response.headers["Cache-Control"] = "public, max-age=5"
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


@blueprint.get("/audit/checkpoint")
def audit_checkpoint() -> Response:
    """The latest signed checkpoint (a C2SP tlog-checkpoint signed note)."""
    latest = checkpoints.latest(db.session)
    if latest is None:
        raise Problem(
            404, "Not Found", "No checkpoint has been signed yet.", type_=PROBLEM_BASE + "not-found"
        )
    return _text(latest.note)


@blueprint.get("/audit/key")
def audit_key() -> Response:
    """The C2SP signed-note verifier key of the checkpoints' signatures."""
    keyring, origin = checkpoints.log_signer(current_app.config)
    return _text(checkpoints.active_verifier_key(keyring, origin) + "\n")


def _size(name: str, errors: dict[str, list[str]]) -> int:
    text = request.args.get(name, "")
    if not text.isdigit() or len(text) > 19 or not 1 <= int(text) <= MAX_TREE_SIZE:
        errors.setdefault(name, []).append("Must be a tree size: a whole number from 1.")
        return 0
    return int(text)


@blueprint.get("/audit/consistency")
def audit_consistency() -> Response:
    """An RFC 9162 consistency proof between the trees of two published checkpoints."""
    errors: dict[str, list[str]] = {}
    old_size, new_size = _size("from", errors), _size("to", errors)
    if not errors and old_size > new_size:
        errors["from"] = ["Must not be larger than `to`."]
    if errors:
        raise validation_problem(errors)
    try:
        proof = proofs.consistency(db.session, old_size, new_size)
    except proofs.UnknownSize as error:
        raise Problem(404, "Not Found", str(error), type_=PROBLEM_BASE + "not-found") from None
    except tree.ProofError as error:
        raise Problem(409, "Conflict", str(error)) from None
    document: dict[str, Any] = {
        "from": old_size,
        "to": new_size,
        "proof": [base64.b64encode(node).decode() for node in proof],
    }
    response = jsonify(document)
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


_SIZE = {"type": "integer", "minimum": 1, "maximum": MAX_TREE_SIZE}
_NOT_FOUND = {
    "description": "No published checkpoint of that size (problem)",
    "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}},
}
register_paths(
    {
        "/audit/checkpoint": {
            "get": {
                "operationId": "auditCheckpoint",
                "summary": "The latest signed checkpoint of the audit log",
                "description": "A C2SP tlog-checkpoint signed note: origin, tree size, base64 root "
                "hash, a `time` extension line, a blank line, then Ed25519 signature lines.",
                "responses": {
                    "200": {
                        "description": "The checkpoint",
                        "content": {
                            "text/plain": {
                                "schema": {"type": "string"},
                                "example": "eta.example/audit\n42\nqK3J...=\n"
                                "time 2026-12-03T18:00:05Z\n"
                                "\n\u2014 eta.example/audit AbCd...base64...\n",
                            }
                        },
                    },
                    "404": _NOT_FOUND,
                },
            }
        },
        "/audit/key": {
            "get": {
                "operationId": "auditKey",
                "summary": "The verifier key of the checkpoints' signatures",
                "responses": {
                    "200": {
                        "description": "A C2SP signed-note verifier key",
                        "content": {
                            "text/plain": {
                                "schema": {"type": "string"},
                                "example": "eta.example/audit+1a2b3c4d+AT...base64...\n",
                            }
                        },
                    }
                },
            }
        },
        "/audit/consistency": {
            "get": {
                "operationId": "auditConsistency",
                "summary": "An RFC 9162 consistency proof between two checkpoints' trees",
                "parameters": [
                    {
                        "name": "from",
                        "in": "query",
                        "required": True,
                        "schema": _SIZE,
                        "example": 10,
                    },
                    {"name": "to", "in": "query", "required": True, "schema": _SIZE, "example": 42},
                ],
                "responses": {
                    "200": {
                        "description": "The proof",
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/ConsistencyProof"},
                                "example": {"from": 10, "to": 42, "proof": ["3q2+7w...="]},
                            }
                        },
                    },
                    "404": _NOT_FOUND,
                    "422": {
                        "description": "`from` or `to` is not a tree size, or from > to",
                        "content": {
                            "application/problem+json": {
                                "schema": {"$ref": "#/components/schemas/Problem"}
                            }
                        },
                    },
                },
            }
        },
    },
    {
        "ConsistencyProof": {
            "type": "object",
            "required": ["from", "to", "proof"],
            "properties": {
                "from": _SIZE,
                "to": _SIZE,
                "proof": {
                    "type": "array",
                    "items": {"type": "string", "description": "base64 SHA-256"},
                },
            },
        }
    },
)
