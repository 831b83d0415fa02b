"""The hashed lost/stolen feed: digests, signed batches, applying them, screening's look-up."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import event, select

from eta.issuance.keys import SigningKey, key_id, public_jwk
from eta.models import PartnerFeed, PartnerFeedEntry
from eta.partners.feed import (
    FeedError,
    document_digest,
    key_check,
    read_feed_batch,
    sign_feed_batch,
)
from eta.partners.feedkeys import FeedKeyError, FeedKeys, decode_key, encode_key
from eta.partners.feeds import apply_batch, feed_hits
from eta.partners.trustlist import read_trust_list, sign_trust_list

NOW = dt.datetime(2026, 12, 3, 12, tzinfo=dt.UTC)
KEY = bytes(range(32))


def _key() -> SigningKey:
    private_key = ec.generate_private_key(ec.SECP256R1())
    return SigningKey(kid=key_id(private_key.public_key()), private_key=private_key)


def _entry(partner_id: str, feed_key: SigningKey, **changes: Any) -> dict[str, Any]:
    entry = {
        "id": partner_id,
        "country": "NOR",
        "roles": ["sltd_publisher"],
        "keys": [
            {
                "jwk": public_jwk(feed_key.private_key.public_key(), feed_key.kid),
                "purpose": "feed_signing",
                "not_before": int((NOW - dt.timedelta(days=1)).timestamp()),
                "not_after": int((NOW + dt.timedelta(days=30)).timestamp()),
            }
        ],
    }
    entry.update(changes)
    return entry


def _trust(*entries: dict[str, Any]) -> Any:
    anchor = _key()
    token = sign_trust_list(
        list(entries),
        issuer="https://anchor.example",
        sequence=1,
        next_update=NOW + dt.timedelta(days=7),
        anchor=anchor,
        now=NOW,
    )
    jwks = {"keys": [public_jwk(anchor.private_key.public_key(), anchor.kid)]}
    return read_trust_list(token, jwks, now=NOW, last_sequence=None)


def _batch(signer: SigningKey, **changes: Any) -> str:
    arguments: dict[str, Any] = {
        "issuer": "nordland",
        "sequence": 1,
        "epoch": 1,
        "epoch_key": KEY,
        "kind": "snapshot",
        "entries": [document_digest(KEY, "NOR", "P", "NB4711234")],
        "now": NOW,
        "expires_at": NOW + dt.timedelta(days=7),
        "signer": signer,
    }
    arguments.update(changes)
    return sign_feed_batch(**arguments)


def test_a_digest_is_keyed_normalised_and_128_bits():
    digest = document_digest(KEY, "NOR", "P", "NB4711234")
    assert len(digest) == 16
    # Typed with spaces, dashes, in lower case, as "PP": the same document, the same digest.
    assert document_digest(KEY, "nor", "PP", "nb 4711-234") == digest
    # Another key, country, type or number: another digest.
    assert document_digest(bytes(32), "NOR", "P", "NB4711234") != digest
    assert document_digest(KEY, "SWE", "P", "NB4711234") != digest
    assert document_digest(KEY, "NOR", "I", "NB4711234") != digest
    assert document_digest(KEY, "NOR", "P", "NB4711235") != digest
    # Not a plain hash of the document, which anyone could compute for every number.
    assert digest != hashlib.sha256(b"NOR|P|NB4711234").digest()[:16]
    assert key_check(KEY) != key_check(bytes(32)) and len(key_check(KEY)) == 11


def test_a_batch_verifies_with_its_publishers_feed_key_and_says_what_it_holds():
    signer = _key()
    batch = read_feed_batch(_batch(signer), _trust(_entry("nordland", signer)), now=NOW)
    assert (batch.issuer, batch.sequence, batch.epoch, batch.kind) == ("nordland", 1, 1, "snapshot")
    assert batch.entries == {document_digest(KEY, "NOR", "P", "NB4711234")}
    assert batch.key_check == key_check(KEY)


def _forge(token: str) -> str:
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["entries"] = []
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return ".".join([header, forged, signature])


@pytest.mark.parametrize(
    ("case", "detail"),
    [
        ("tampered", "bad_signature"),
        ("unknown key", "unknown_kid"),
        ("suspended partner", "unknown_kid"),
        ("revoked key", "unknown_kid"),
        ("not a publisher", "unknown_kid"),
        ("token key", "unknown_kid"),
        ("in another's name", "wrong_issuer"),
        ("stale", "stale"),
        ("not a JWS", "malformed"),
    ],
)
def test_a_batch_the_trust_list_does_not_vouch_for_is_refused(case: str, detail: str):
    signer, other = _key(), _key()
    entries = [_entry("nordland", signer), _entry("sudland", other)]
    token, now = _batch(signer), NOW
    if case == "tampered":
        token = _forge(token)
    elif case == "unknown key":
        token = _batch(_key())
    elif case == "suspended partner":
        entries[0] = _entry("nordland", signer, status="suspended")
    elif case == "revoked key":
        entries[0]["keys"][0]["status"] = "revoked"
    elif case == "not a publisher":
        entries[0] = _entry("nordland", signer, roles=["audit_witness"])
    elif case == "token key":
        entries[0]["keys"][0]["purpose"] = "token_signing"
        entries[0]["issuer"] = "https://eta.nordland.example"
        entries[0]["roles"] = ["authorisation_issuer", "sltd_publisher"]
    elif case == "in another's name":
        token = _batch(other)  # sudland's key, claiming to be nordland's batch
    elif case == "stale":
        now = NOW + dt.timedelta(days=8)
    elif case == "not a JWS":
        token = "not a batch"
    with pytest.raises(FeedError) as refused:
        read_feed_batch(token, _trust(*entries), now=now)
    assert refused.value.detail == detail


def test_feed_keys_are_kept_apart_from_the_database_and_never_replaced(tmp_path: Path):
    store = FeedKeys(tmp_path / "sltd")
    first = store.rotate(NOW)
    second = store.rotate(NOW)
    assert (first.epoch, second.epoch) == (1, 2) and store.current() == second
    assert (tmp_path / "sltd" / "own.json").stat().st_mode & 0o077 == 0
    epoch, key = decode_key(encode_key(first.epoch, first.key))
    assert (epoch, key) == (1, first.key)
    store.add_partner_key("nordland", 3, KEY)
    store.add_partner_key("nordland", 3, KEY)  # the same again: nothing changes
    with pytest.raises(FeedKeyError, match="already hold another key"):
        store.add_partner_key("nordland", 3, bytes(32))
    with pytest.raises(FeedKeyError):
        decode_key("eta-sltd-key:1:c2hvcnQ")
    store.add_partner_key("nordland", 4, bytes(32))
    assert store.forget_before("nordland", 4) == [3]
    assert [(k.partner_id, k.epoch) for k in store.partner_keys()] == [("nordland", 4)]


def _apply(session: Any, signer: SigningKey, keys: FeedKeys, token: str) -> Any:
    batch = read_feed_batch(token, _trust(_entry("nordland", signer)), now=NOW)
    return apply_batch(session, batch, keys=keys, own_id="utopia", actor="test", now=NOW)


def test_batches_apply_in_order_and_a_gap_or_a_wrong_key_is_refused(session, tmp_path: Path):
    signer, keys = _key(), FeedKeys(tmp_path / "sltd")
    first = document_digest(KEY, "NOR", "P", "NB4711234")
    second = document_digest(KEY, "NOR", "P", "NB4711235")
    snapshot = _batch(signer, entries=[first])
    with pytest.raises(FeedError) as refused:
        _apply(session, signer, keys, snapshot)
    assert refused.value.detail == "no_key"
    keys.add_partner_key("nordland", 2, bytes(32))
    with pytest.raises(FeedError) as refused:
        _apply(session, signer, keys, _batch(signer, epoch=2))
    assert refused.value.detail == "wrong_key"  # the batch names KEY's check, not ours

    keys.add_partner_key("nordland", 1, KEY)
    delta_first = _batch(signer, sequence=2, kind="delta", previous=1, entries=[second])
    with pytest.raises(FeedError) as refused:
        _apply(session, signer, keys, delta_first)
    assert refused.value.detail == "gap"  # no snapshot yet
    assert _apply(session, signer, keys, snapshot).added == 1
    skipped = _batch(signer, sequence=3, kind="delta", previous=2, entries=[second])
    with pytest.raises(FeedError) as refused:
        _apply(session, signer, keys, skipped)
    assert refused.value.detail == "gap" and "batch 1 is the last applied" in str(refused.value)
    delta = _batch(signer, sequence=2, kind="delta", previous=1, entries=[second],
                   deletions=[first])  # fmt: skip
    applied = _apply(session, signer, keys, delta)
    assert (applied.added, applied.deleted, applied.total) == (1, 1, 1)
    assert session.scalars(select(PartnerFeedEntry.digest)).all() == [second]

    # The partner rotates: a snapshot under epoch 2 replaces every entry, and key 1 goes.
    new_key = bytes(range(1, 33))
    keys.add_partner_key("nordland", 3, new_key)
    rotated = _batch(signer, sequence=4, epoch=3, epoch_key=new_key,
                     entries=[document_digest(new_key, "NOR", "P", "NB4711235")])  # fmt: skip
    applied = _apply(session, signer, keys, rotated)
    assert applied.forgotten_epochs == (1, 2)
    assert [k.epoch for k in keys.partner_keys()] == [3]
    state = session.get(PartnerFeed, "nordland")
    assert (state.epoch, state.sequence, state.entry_count) == (3, 4, 1)


def test_our_own_feed_is_never_imported_here(session, tmp_path: Path):
    signer, keys = _key(), FeedKeys(tmp_path / "sltd")
    keys.add_partner_key("nordland", 1, KEY)
    batch = read_feed_batch(_batch(signer), _trust(_entry("nordland", signer)), now=NOW)
    with pytest.raises(FeedError) as refused:
        apply_batch(session, batch, keys=keys, own_id="nordland", actor="test", now=NOW)
    assert refused.value.detail == "ours"


def test_screening_looks_every_partners_digest_up_in_one_indexed_query(session, tmp_path: Path):
    signer, keys = _key(), FeedKeys(tmp_path / "sltd")
    keys.add_partner_key("nordland", 1, KEY)
    keys.add_partner_key("sudland", 7, bytes(32))
    _apply(session, signer, keys, _batch(signer))
    # Another partner lists a digest that, under *nordland's* key, is this passport: a row of
    # sudland's counts only under sudland's key.
    session.add(PartnerFeed(partner_id="sudland", epoch=7, sequence=1, key_check="x",
                            batch_sha256="x", entry_count=1, expires_at=NOW))  # fmt: skip
    session.flush()
    session.add(
        PartnerFeedEntry(
            partner_id="sudland", epoch=7, digest=document_digest(KEY, "NOR", "P", "NB4711234")
        )
    )
    session.commit()
    statements: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(statement)

    engine = session.get_bind()
    event.listen(engine, "before_cursor_execute", seen)
    try:
        hits = feed_hits(session, "NOR", "nb 471 1234", keys.partner_keys())
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert [(hit.partner_id, hit.sequence) for hit in hits] == [("nordland", 1)]
    assert len(statements) == 1
    assert feed_hits(session, "NOR", "NB4711299", keys.partner_keys()) == []
    if engine.dialect.name == "postgresql":
        # With many entries (every feed in one table), the look-up probes the digest index.
        import os

        from sqlalchemy import insert, text

        session.execute(
            insert(PartnerFeedEntry),
            [
                {"partner_id": "sudland", "epoch": 7, "digest": os.urandom(16)}
                for _ in range(20_000)
            ],
        )
        session.commit()
        session.execute(text("ANALYZE partner_feed_entries"))  # EXPLAIN has no Core construct
        plan = session.execute(
            text("EXPLAIN SELECT partner_id FROM partner_feed_entries WHERE digest IN (:a, :b)"),
            {"a": b"\x00" * 16, "b": b"\x01" * 16},
        ).scalars()
        assert "pk_partner_feed_entries" in "\n".join(plan)
