"""Tests for the ES256 keyring: files, states, rotation and the published JWKS.

They run on the backend under test (`make pytest-hsm`: SoftHSM2); those about key files only
on the file backend (their PKCS#11 counterparts are in test_hsm_keys.py).
"""

from __future__ import annotations

import base64
import json
import stat
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from joserfc import jwk

from eta.issuance.keys import Keyring, KeyringError, KeyState, key_id
from tests.softhsm import BACKEND

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
FILES_ONLY = pytest.mark.skipif(BACKEND != "file", reason="about key files (file backend)")
OpenRing = Callable[..., Keyring]


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _states(ring: Keyring) -> dict[str, KeyState]:
    return {info.kid: info.state for info in ring.list()}


def test_generate_creates_one_active_and_one_next_key(keyring: Keyring) -> None:
    states = sorted(_states(keyring).values())
    assert states == sorted([KeyState.ACTIVE, KeyState.NEXT])


def test_generate_is_idempotent(keyring: Keyring) -> None:
    before = keyring.list()
    keyring.generate(now=NOW + timedelta(days=1))
    assert keyring.list() == before
    assert len(list(keyring.path.glob("*.pem"))) == (2 if BACKEND == "file" else 0)


@FILES_ONLY
def test_private_key_files_and_manifest_are_private(keyring: Keyring) -> None:
    pem_files = list(keyring.path.glob("*.pem"))
    assert len(pem_files) == 2
    for path in [*pem_files, keyring.path / "keyring.json"]:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    assert stat.S_IMODE(keyring.path.stat().st_mode) == 0o700
    assert b"PRIVATE KEY" in pem_files[0].read_bytes()


def test_kid_is_eight_bytes_of_the_rfc7638_thumbprint(keyring: Keyring) -> None:
    for published in keyring.public_jwks()["keys"]:
        imported = jwk.ECKey.import_key(
            {name: published[name] for name in ("kty", "crv", "x", "y")}
        )
        full = _b64decode(imported.thumbprint())  # joserfc: base64url of the SHA-256
        assert len(full) == 32
        assert _b64decode(published["kid"]) == full[:8]
        assert len(published["kid"]) == 11
        assert key_id(keyring.active().private_key.public_key()) == keyring.active().kid


def test_jwks_has_only_public_members(keyring: Keyring) -> None:
    jwks = keyring.public_jwks()
    assert {key["kid"] for key in jwks["keys"]} == set(_states(keyring))
    for key in jwks["keys"]:
        assert set(key) == {"kty", "crv", "x", "y", "kid", "use", "alg"}
        assert (key["kty"], key["crv"], key["use"], key["alg"]) == ("EC", "P-256", "sig", "ES256")
    json.dumps(jwks)  # publishable as is


def test_rotate_promotes_next_and_retires_active(keyring: Keyring) -> None:
    old = _states(keyring)
    old_active = next(kid for kid, state in old.items() if state is KeyState.ACTIVE)
    old_next = next(kid for kid, state in old.items() if state is KeyState.NEXT)
    later = NOW + timedelta(days=90)

    new_active = keyring.rotate(now=later)

    assert new_active.kid == old_next
    assert keyring.active().kid == old_next
    infos = {info.kid: info for info in keyring.list()}
    assert infos[old_active].state is KeyState.RETIRED
    assert infos[old_active].retired_at == later
    fresh = [info for info in infos.values() if info.state is KeyState.NEXT]
    assert len(fresh) == 1 and fresh[0].kid not in old
    published = {key["kid"] for key in keyring.public_jwks()["keys"]}
    assert published == {old_active, old_next, fresh[0].kid}


def test_another_process_sees_a_rotation(keyring: Keyring, open_ring: OpenRing) -> None:
    reader = open_ring(keyring.path)
    assert reader.active().kid == keyring.active().kid
    keyring.rotate(now=NOW + timedelta(days=1))
    assert reader.active().kid == keyring.active().kid
    assert not list(keyring.path.glob("*.tmp")) and not list(keyring.path.glob(".*.tmp"))


def test_rotate_on_an_empty_keyring_generates(tmp_path: Path, open_ring: OpenRing) -> None:
    ring = open_ring(tmp_path / "empty")
    with pytest.raises(KeyringError):
        ring.active()
    ring.rotate(now=NOW)
    assert sorted(_states(ring).values()) == sorted([KeyState.ACTIVE, KeyState.NEXT])


def test_retire_next_replaces_it_and_active_cannot_be_retired(keyring: Keyring) -> None:
    next_kid = next(i.kid for i in keyring.list() if i.state is KeyState.NEXT)
    retired = keyring.retire(next_kid, now=NOW)
    assert retired.state is KeyState.RETIRED and retired.retired_at == NOW
    assert sum(i.state is KeyState.NEXT for i in keyring.list()) == 1
    with pytest.raises(KeyringError, match="rotate"):
        keyring.retire(keyring.active().kid)
    with pytest.raises(KeyringError):
        keyring.retire("no-such-kid")


def test_remove_deletes_the_private_key_and_unpublishes_it(keyring: Keyring) -> None:
    old_active = keyring.active().kid
    with pytest.raises(KeyringError):
        keyring.remove(old_active)  # still active
    keyring.rotate(now=NOW)
    removed = keyring.remove(old_active, now=NOW + timedelta(days=800))
    assert removed.state is KeyState.REMOVED
    assert not (keyring.path / f"{old_active}.pem").exists()
    assert old_active not in {key["kid"] for key in keyring.public_jwks()["keys"]}
    assert old_active in _states(keyring)  # remembered, never reused


def test_remove_expired_waits_for_the_longest_token_lifetime(keyring: Keyring) -> None:
    old_active = keyring.active().kid
    keyring.rotate(now=NOW)
    lifetime = timedelta(days=730)
    assert keyring.remove_expired(NOW + lifetime - timedelta(seconds=1), lifetime) == []
    assert keyring.remove_expired(NOW + lifetime, lifetime) == [old_active]
    assert _states(keyring)[old_active] is KeyState.REMOVED


@FILES_ONLY
def test_a_tampered_key_file_is_refused(keyring: Keyring, tmp_path: Path) -> None:
    other = Keyring.load(tmp_path / "other")
    other.generate(now=NOW)
    kid = keyring.active().kid
    (keyring.path / f"{kid}.pem").write_bytes(
        (other.path / f"{other.active().kid}.pem").read_bytes()
    )
    with pytest.raises(KeyringError, match="does not hold"):
        Keyring.load(keyring.path).active()


def test_naive_times_are_refused(keyring: Keyring) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        keyring.rotate(now=NOW.replace(tzinfo=None))


def test_concurrent_generate_makes_one_pair_of_keys(tmp_path: Path, open_ring: OpenRing) -> None:
    # Web server, worker and CLI may all run `generate` at start-up on the same directory.
    directory = tmp_path / "shared"
    barrier = threading.Barrier(4)

    def start() -> None:
        ring = open_ring(directory)
        barrier.wait()
        ring.generate(now=NOW)

    threads = [threading.Thread(target=start) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    ring = open_ring(directory)
    assert sorted(_states(ring).values()) == sorted([KeyState.ACTIVE, KeyState.NEXT])
    assert len(list(directory.glob("*.pem"))) == (2 if BACKEND == "file" else 0)
