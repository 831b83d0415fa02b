"""The feeds' epoch keys: ours (we hash our feed under them) and partners' (we hash applicants).

Secret HMAC keys, kept as files beside the signing keys (``ETA_KEYS_DIR/sltd/``, mode 0600),
never in the database: someone who takes a copy of the database gets keyed hashes they cannot
reverse. ``own.json`` holds our epochs; ``partners.json`` the epochs partners handed us. A
change takes a lock, re-reads and atomically replaces the file; readers pick a new file up on
their next call (the stat stamp changes). Flask-free.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import os
import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from eta.partners.feed import KEY_BYTES, key_check

_FORMAT = 1
_OWN, _PARTNERS, _LOCK = "own.json", "partners.json", ".sltd.lock"
_PARTNER_ID = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}$")


class FeedKeyError(Exception):
    """A feed key that cannot be made, handed over or taken in."""


@dataclass(frozen=True)
class EpochKey:
    """One epoch's key of one feed."""

    partner_id: str  # whose feed ("" for ours)
    epoch: int
    key: bytes

    @property
    def check(self) -> str:
        """The key's check value (see :func:`eta.partners.feed.key_check`)."""
        return key_check(self.key)


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def encode_key(epoch: int, key: bytes) -> str:
    """The hand-over form of an epoch key: ``eta-sltd-key:<epoch>:<base64url key>``."""
    return f"eta-sltd-key:{epoch}:{_b64url(key)}"


def decode_key(text: str) -> tuple[int, bytes]:
    """(epoch, key) from :func:`encode_key`'s form; :class:`FeedKeyError` when it is not that."""
    parts = text.strip().split(":")
    try:
        if len(parts) != 3 or parts[0] != "eta-sltd-key":
            raise ValueError
        epoch, key = int(parts[1]), _b64url_decode(parts[2])
    except ValueError:
        raise FeedKeyError("not a feed key (eta-sltd-key:<epoch>:<key>)") from None
    if epoch < 1 or len(key) != KEY_BYTES:
        raise FeedKeyError(f"a feed key is a positive epoch and {KEY_BYTES} bytes")
    return epoch, key


class FeedKeys:
    """The epoch keys in one directory (``ETA_KEYS_DIR/sltd``)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._cache: dict[str, tuple[tuple[int, int, int] | None, dict[str, Any]]] = {}

    # --- files ----------------------------------------------------------------------------

    def _read(self, name: str) -> dict[str, Any]:
        file = self.path / name
        try:
            stat = file.stat()
        except FileNotFoundError:
            return {"format": _FORMAT, "keys": {}}
        stamp = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
        cached = self._cache.get(name)
        if cached is not None and cached[0] == stamp:
            return cached[1]
        document = json.loads(file.read_text(encoding="utf-8"))
        if document.get("format") != _FORMAT:
            raise FeedKeyError(f"unknown feed key file format in {file}")
        self._cache[name] = (stamp, document)
        return document

    def _write(self, name: str, document: dict[str, Any]) -> None:
        temporary = self.path / f".{name}.{os.getpid()}.tmp"
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            json.dump(document, handle, indent=2, sort_keys=True)
            handle.write("\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, self.path / name)

    @contextlib.contextmanager
    def _changing(self, name: str) -> Iterator[dict[str, Any]]:
        """Hold the lock, yield the file's document to change, write it back."""
        self.path.mkdir(mode=0o700, parents=True, exist_ok=True)
        descriptor = os.open(self.path / _LOCK, os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX)
            self._cache.pop(name, None)
            document = json.loads(json.dumps(self._read(name)))  # a copy to change
            yield document
            self._write(name, document)
        finally:
            fcntl.flock(descriptor, fcntl.LOCK_UN)
            os.close(descriptor)

    # --- ours -----------------------------------------------------------------------------

    def own(self) -> list[EpochKey]:
        """Our epoch keys, oldest first."""
        keys = self._read(_OWN)["keys"]
        return sorted(
            (
                EpochKey("", int(epoch), _b64url_decode(entry["key"]))
                for epoch, entry in keys.items()
            ),
            key=lambda key: key.epoch,
        )

    def current(self) -> EpochKey | None:
        """The epoch our feed is hashed under now (the newest), or None before the first."""
        own = self.own()
        return own[-1] if own else None

    def rotate(self, now: datetime | None = None) -> EpochKey:
        """Make the next epoch's key (the first is epoch 1); it hashes our next snapshot."""
        with self._changing(_OWN) as document:
            epoch = max((int(number) for number in document["keys"]), default=0) + 1
            key = secrets.token_bytes(KEY_BYTES)
            document["keys"][str(epoch)] = {
                "key": _b64url(key),
                "created_at": (now or datetime.now(UTC)).isoformat(),
            }
        return EpochKey("", epoch, key)

    def own_epoch(self, epoch: int) -> EpochKey:
        """Our key of ``epoch`` (to hand to a partner)."""
        for key in self.own():
            if key.epoch == epoch:
                return key
        raise FeedKeyError(
            f"we have no feed key of epoch {epoch} (see `eta partner feed key list`)"
        )

    # --- partners' ------------------------------------------------------------------------

    def partner_keys(self) -> list[EpochKey]:
        """Every epoch key partners handed us, by partner then epoch."""
        found = []
        for partner_id, epochs in sorted(self._read(_PARTNERS)["keys"].items()):
            for epoch, entry in sorted(epochs.items(), key=lambda item: int(item[0])):
                found.append(EpochKey(partner_id, int(epoch), _b64url_decode(entry["key"])))
        return found

    def partner_key(self, partner_id: str, epoch: int) -> EpochKey | None:
        """The key ``partner_id`` uses for ``epoch``, if it handed it to us."""
        for key in self.partner_keys():
            if key.partner_id == partner_id and key.epoch == epoch:
                return key
        return None

    def add_partner_key(self, partner_id: str, epoch: int, key: bytes) -> EpochKey:
        """Keep a partner's epoch key; the same key again changes nothing, another is refused."""
        if not _PARTNER_ID.match(partner_id):
            raise FeedKeyError("a partner id is lower-case letters, digits and -")
        with self._changing(_PARTNERS) as document:
            epochs = document["keys"].setdefault(partner_id, {})
            held = epochs.get(str(epoch))
            if held is not None and _b64url_decode(held["key"]) != key:
                raise FeedKeyError(
                    f"we already hold another key for {partner_id}'s epoch {epoch}: "
                    "a partner never reuses an epoch; ask it which key is right"
                )
            epochs[str(epoch)] = {"key": _b64url(key)}
        return EpochKey(partner_id, epoch, key)

    def forget_before(self, partner_id: str, epoch: int) -> list[int]:
        """Drop a partner's keys older than ``epoch`` (its feed moved on); return their epochs."""
        if not any(
            key.partner_id == partner_id and key.epoch < epoch for key in self.partner_keys()
        ):
            return []
        with self._changing(_PARTNERS) as document:
            epochs = document["keys"].get(partner_id, {})
            dropped = sorted(int(number) for number in epochs if int(number) < epoch)
            for number in dropped:
                del epochs[str(number)]
        return dropped
