"""Signed checkpoints: the tree's size and root in the C2SP tlog-checkpoint format, as signed notes.

A checkpoint is the text
    <origin>\\n<tree size>\\n<base64 root hash>\\ntime <UTC time>\\n
(the last line a tlog-checkpoint extension line), followed by a blank line and one signature
line per signer, `— <key name> <base64(key hash || Ed25519 signature)>` (C2SP signed-note). The
key name is the origin; the audit key lives in the keyring beside the token keys
(eta.issuance.keys, purpose "audit"). Witnesses need only the verifier key (`verifier_key`).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from sqlalchemy import select

from eta.issuance.backends import cache_key, open_keyring
from eta.issuance.keys import KeyPurpose, Keyring
from eta.models import AuditCheckpoint, AuditLogState
from eta.models.base import SessionLike

# C2SP signed-note: the signature type byte of Ed25519, and what starts a signature line.
ED25519_TYPE = b"\x01"
SIGNATURE_PREFIX = "\u2014 "
TIME_PREFIX = "time "
MAX_NOTE_BYTES = 1_000_000


class NoteError(ValueError):
    """A signed note or checkpoint that is malformed or whose signature does not verify."""


@dataclass(frozen=True)
class Checkpoint:
    """What a checkpoint says: the log's origin, its tree's size and root, and when."""

    origin: str
    size: int
    root: bytes
    time: dt.datetime | None


def _raw(public_key: ed25519.Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def _check_name(name: str) -> None:
    if not name or any(ch.isspace() for ch in name) or "+" in name:
        raise NoteError("a key name is non-empty, without spaces or '+'")


def key_hash(name: str, public_key: ed25519.Ed25519PublicKey) -> bytes:
    """The 4-byte key ID of C2SP signed-note: SHA-256(name || 0x0A || 0x01 || key)[:4]."""
    return hashlib.sha256(name.encode() + b"\n" + ED25519_TYPE + _raw(public_key)).digest()[:4]


def verifier_key(name: str, public_key: ed25519.Ed25519PublicKey) -> str:
    """The verifier key a witness configures: `<name>+<hex key ID>+<base64(0x01 || key)>`."""
    _check_name(name)
    encoded = base64.b64encode(ED25519_TYPE + _raw(public_key)).decode()
    return f"{name}+{key_hash(name, public_key).hex()}+{encoded}"


@dataclass(frozen=True)
class Verifier:
    """A parsed verifier key: its name, key ID and Ed25519 public key."""

    name: str
    key_id: bytes
    public_key: ed25519.Ed25519PublicKey


def parse_verifier_key(text: str) -> Verifier:
    """Read a verifier key written by `verifier_key`; NoteError if it is not one."""
    parts = text.strip().split("+", 2)  # the base64 key may hold "+" itself
    if len(parts) != 3:
        raise NoteError("a verifier key is <name>+<hex key ID>+<base64 key>")
    name, hex_id, encoded = parts
    _check_name(name)
    try:
        raw = base64.b64decode(encoded, validate=True)
        key_id = bytes.fromhex(hex_id)
    except (binascii.Error, ValueError):
        raise NoteError("a verifier key's ID is hex and its key base64") from None
    if len(key_id) != 4 or len(raw) != 33 or raw[:1] != ED25519_TYPE:
        raise NoteError("only Ed25519 verifier keys are accepted")
    public_key = ed25519.Ed25519PublicKey.from_public_bytes(raw[1:])
    if key_hash(name, public_key) != key_id:
        raise NoteError("the verifier key's ID does not match its name and key")
    return Verifier(name, key_id, public_key)


def sign_note(text: str, name: str, private_key: ed25519.Ed25519PrivateKey) -> str:
    """`text` (lines ending in newlines) signed by `name`'s key, as a C2SP signed note."""
    _check_name(name)
    if not text.endswith("\n") or "\n\n" in text:
        raise NoteError("a note's text is non-empty lines, each ending in a newline")
    signature = private_key.sign(text.encode())
    encoded = base64.b64encode(key_hash(name, private_key.public_key()) + signature).decode()
    return f"{text}\n{SIGNATURE_PREFIX}{name} {encoded}\n"


def open_note(note: str, verifiers: list[Verifier]) -> tuple[str, list[Verifier]]:
    """The note's text and the known verifiers whose signatures on it hold.

    A signature by a known key (same name and key ID) that does not verify is an error; one by
    an unknown key is skipped (a witness's cosignature, say). No verified signature: an error.
    """
    if len(note.encode()) > MAX_NOTE_BYTES:
        raise NoteError("the note is too large")
    text, blank, signatures = note.partition("\n\n")
    if not blank or not signatures.endswith("\n"):
        raise NoteError("a signed note is text, a blank line, then signature lines")
    text += "\n"
    verified: list[Verifier] = []
    for line in signatures[:-1].split("\n"):
        if not line.startswith(SIGNATURE_PREFIX):
            raise NoteError("a signature line starts with an em dash and a space")
        name, _, encoded = line[len(SIGNATURE_PREFIX) :].partition(" ")
        try:
            signature = base64.b64decode(encoded, validate=True)
        except binascii.Error:
            raise NoteError("a signature is base64") from None
        if len(signature) < 5:
            raise NoteError("a signature is a key ID and the signature bytes")
        for verifier in verifiers:
            if verifier.name == name and verifier.key_id == signature[:4]:
                try:
                    verifier.public_key.verify(signature[4:], text.encode())
                except InvalidSignature:
                    raise NoteError(f"the signature by {name} does not verify") from None
                verified.append(verifier)
    if not verified:
        raise NoteError("no signature by a known key")
    return text, verified


def checkpoint_text(origin: str, size: int, root: bytes, at: dt.datetime) -> str:
    """The body of a tlog-checkpoint: origin, size, base64 root, then the time as an extension."""
    when = at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return f"{origin}\n{size}\n{base64.b64encode(root).decode()}\n{TIME_PREFIX}{when}\n"


def parse_checkpoint(text: str) -> Checkpoint:
    """Read a checkpoint's text (a note's text, signatures removed); NoteError if malformed."""
    lines = text.split("\n")
    if len(lines) < 4 or lines[-1] != "":
        raise NoteError("a checkpoint has an origin, a size and a root hash line")
    origin, size_line, root_line = lines[0], lines[1], lines[2]
    if not origin or not size_line.isdigit() or (size_line != "0" and size_line[0] == "0"):
        raise NoteError("a checkpoint's size is a decimal number")
    try:
        root = base64.b64decode(root_line, validate=True)
    except binascii.Error:
        raise NoteError("a checkpoint's root hash is base64") from None
    if len(root) != 32:
        raise NoteError("a checkpoint's root hash is 32 bytes")
    when = None
    for extension in lines[3:-1]:
        if extension.startswith(TIME_PREFIX):
            try:
                when = dt.datetime.strptime(
                    extension[len(TIME_PREFIX) :], "%Y-%m-%dT%H:%M:%SZ"
                ).replace(tzinfo=dt.UTC)
            except ValueError:
                raise NoteError("a checkpoint's time is YYYY-MM-DDTHH:MM:SSZ") from None
    return Checkpoint(origin, int(size_line), root, when)


_keyrings: dict[str, Keyring] = {}
_lock = threading.Lock()


def audit_keyring(config: Mapping[str, Any], *, create: bool) -> Keyring:
    """The audit keyring (ETA_KEYS_DIR/audit), one instance per directory and process.

    Its keys are files there or in the PKCS#11 token, as ETA_KEYS_BACKEND says. With `create`
    (outside production) an empty keyring gets its first keys on first use; production never
    mints them implicitly: `eta keys generate --purpose audit`.
    """
    path = str((Path(str(config["ETA_KEYS_DIR"])) / KeyPurpose.AUDIT.value).resolve())
    key = cache_key(config, path)
    with _lock:
        ring = _keyrings.get(key)
        if ring is None:
            ring = open_keyring(config, Path(path), KeyPurpose.AUDIT)
            if create and not ring.list():
                ring.generate()
            _keyrings[key] = ring
        return ring


def log_signer(config: Mapping[str, Any]) -> tuple[Keyring, str]:
    """The audit keyring and the log's origin from the app's configuration."""
    keyring = audit_keyring(config, create=config.get("ETA_ENV") != "production")
    return keyring, str(config["ETA_AUDIT_ORIGIN"])


def verifiers(keyring: Keyring, origin: str) -> list[Verifier]:
    """Every audit key not removed, as verifiers of notes signed under `origin`."""
    return [
        Verifier(origin, key_hash(origin, public_key), public_key)
        for public_key in keyring.audit_keys().values()
    ]


def active_verifier_key(keyring: Keyring, origin: str) -> str:
    """The verifier key of the key that signs new checkpoints (what GET /audit/key answers)."""
    key = keyring.active().private_key
    if not isinstance(key, ed25519.Ed25519PrivateKey):
        raise NoteError("the audit keyring's active key is not Ed25519")
    return verifier_key(origin, key.public_key())


def latest(session: SessionLike) -> AuditCheckpoint | None:
    """The most recent checkpoint (the largest tree), if any was signed."""
    return session.scalars(
        select(AuditCheckpoint).order_by(AuditCheckpoint.tree_size.desc()).limit(1)
    ).first()


def sign_due(
    session: SessionLike, state: AuditLogState, keyring: Keyring, origin: str, now: dt.datetime
) -> AuditCheckpoint | None:
    """Sign a checkpoint of the tree as `state` has it, if it grew since the last one.

    Called by the sequencer while it holds the lease (`state` is locked), so two checkpoints
    never race; the caller commits.
    """
    last = latest(session)
    if state.tree_size == 0 or state.root_hash is None:
        return None
    if last is not None and last.tree_size >= state.tree_size:
        return None
    signing = keyring.active()
    if not isinstance(signing.private_key, ed25519.Ed25519PrivateKey):
        raise NoteError("the audit keyring's active key is not Ed25519")
    text = checkpoint_text(origin, state.tree_size, state.root_hash, now)
    checkpoint = AuditCheckpoint(
        tree_size=state.tree_size,
        root_hash=state.root_hash,
        signed_at=now,
        key_id=signing.kid,
        note=sign_note(text, origin, signing.private_key),
    )
    session.add(checkpoint)
    return checkpoint
