"""The audit endpoints checked by a witness written here from RFC 9162 and C2SP signed-note.

Nothing below calls eta's own tree or note code: the verifier parses the key and the notes,
checks the Ed25519 signatures and the RFC 9162 §2.1.4.2 consistency algorithm itself.
"""

from __future__ import annotations

import base64
import hashlib

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from flask import current_app

from eta import audit
from eta.audit import checkpoints, sequencer


def _node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _consistent(first: int, second: int, h1: bytes, h2: bytes, path: list[bytes]) -> bool:
    """RFC 9162 §2.1.4.2, step by step."""
    if not path:
        return False
    if first & (first - 1) == 0:
        path = [h1, *path]
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr, sr = _node(c, fr), _node(c, sr)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = _node(sr, c)
        fn, sn = fn >> 1, sn >> 1
    return fr == h1 and sr == h2 and sn == 0


def _witness_reads(note: str, vkey: str) -> tuple[int, bytes]:
    """C2SP signed-note + tlog-checkpoint: check the signature, return (size, root)."""
    name, key_id, key = vkey.strip().split("+", 2)
    raw = base64.b64decode(key)
    assert raw[0] == 1  # Ed25519
    assert hashlib.sha256(name.encode() + b"\n" + raw).digest()[:4].hex() == key_id
    text, signatures = note.split("\n\n", 1)
    text += "\n"
    line = signatures.splitlines()[0]
    assert line.startswith(f"\u2014 {name} ")
    signature = base64.b64decode(line.split(" ")[2])
    assert signature[:4].hex() == key_id
    Ed25519PublicKey.from_public_bytes(raw[1:]).verify(signature[4:], text.encode())
    origin, size, root = text.split("\n")[:3]
    assert origin == name
    return int(size), base64.b64decode(root)


def _grow(session, count: int) -> None:
    for index in range(count):
        audit.record(session, "test.event", actor="system", object_id=index)
    session.commit()
    keyring, origin = checkpoints.log_signer(current_app.config)
    sequencer.run(session, keyring, origin)


def test_a_witness_checks_two_checkpoints_and_catches_a_rewrite(client, session):
    assert client.get("/api/v1/audit/checkpoint").status_code == 404
    vkey = client.get("/api/v1/audit/key").get_data(as_text=True)
    _grow(session, 5)
    first = _witness_reads(client.get("/api/v1/audit/checkpoint").get_data(as_text=True), vkey)
    _grow(session, 6)
    second = _witness_reads(client.get("/api/v1/audit/checkpoint").get_data(as_text=True), vkey)
    assert (first[0], second[0]) == (5, 11)
    answer = client.get("/api/v1/audit/consistency?from=5&to=11").get_json()
    proof = [base64.b64decode(node) for node in answer["proof"]]
    assert _consistent(5, 11, first[1], second[1], proof)

    # History rewritten: an event of the first tree changed and the whole tree rebuilt, a new
    # checkpoint signed with the real key. The witness's old root no longer fits.
    from sqlalchemy import text

    session.execute(text("UPDATE audit_events SET body = body || ' ', position = NULL"))
    session.execute(text("UPDATE audit_events SET leaf_hash = :h"), {"h": b"\x00" * 32})
    session.execute(text("DELETE FROM audit_tree_nodes"))
    session.execute(text("DELETE FROM audit_checkpoints"))
    session.execute(text("UPDATE audit_log_state SET tree_size = 0, root_hash = NULL"))
    session.commit()
    keyring, origin = checkpoints.log_signer(current_app.config)
    sequencer.run(session, keyring, origin)  # the rewritten 11 events, signed again
    rewritten = _witness_reads(client.get("/api/v1/audit/checkpoint").get_data(as_text=True), vkey)
    _grow(session, 1)
    third = _witness_reads(client.get("/api/v1/audit/checkpoint").get_data(as_text=True), vkey)
    assert (rewritten[0], third[0]) == (11, 12)
    answer = client.get("/api/v1/audit/consistency?from=11&to=12").get_json()
    proof = [base64.b64decode(node) for node in answer["proof"]]
    # The log's proof holds for its own rewritten history...
    assert _consistent(11, 12, rewritten[1], third[1], proof)
    # ...but not for the root of 11 events that the witness kept: the rewrite is caught.
    assert not _consistent(11, 12, second[1], third[1], proof)
    # Nor can any proof from 5 reach the new tree from the witness's first root.
    answer = client.get("/api/v1/audit/consistency?from=5&to=12")
    assert answer.status_code == 404  # the rewritten log has no checkpoint of size 5


def test_bad_or_unknown_sizes_are_problems(client, session):
    _grow(session, 3)
    for query, status in [
        ("from=abc&to=3", 422),
        ("from=0&to=3", 422),
        ("from=3&to=1", 422),
        ("from=99999999999999999999999&to=3", 422),
        ("to=3", 422),
        ("from=2&to=3", 404),
    ]:
        answer = client.get(f"/api/v1/audit/consistency?{query}")
        assert answer.status_code == status, query
        assert answer.mimetype == "application/problem+json"


def test_the_audit_endpoints_are_in_the_openapi_document(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    assert {
        "/api/v1/audit/checkpoint",
        "/api/v1/audit/key",
        "/api/v1/audit/consistency",
    } <= set(paths)
