"""This deployment's signing keys: the keyring of ETA_KEYS_DIR, the published keys, the issuer.

The manifest is in ETA_KEYS_DIR; the private keys are files there or in a PKCS#11 token, as
ETA_KEYS_BACKEND says (eta.issuance.backends).
"""

from __future__ import annotations

import functools
import logging
import os
import threading
from pathlib import Path
from typing import Any

from flask import current_app

from eta.issuance.backends import cache_key, open_keyring
from eta.issuance.keys import KeyPurpose, Keyring, KeySet

log = logging.getLogger(__name__)

_lock = threading.Lock()
_keyrings: dict[str, Keyring] = {}
_key_sets: dict[str, tuple[tuple[int, int, int] | None, KeySet]] = {}


def issuer() -> str:
    """The `iss` of this deployment's tokens (ETA_ISSUER, without a trailing slash)."""
    return str(current_app.config["ETA_ISSUER"]).rstrip("/")


def _keys_dir() -> str:
    return _resolved(str(current_app.config["ETA_KEYS_DIR"]))


@functools.lru_cache(maxsize=16)
def _resolved(path: str) -> str:
    # Resolving walks the path with a system call per component: once per setting, not on
    # every carrier verification (key_set() is on that path).
    return str(Path(path).resolve())


def keyring() -> Keyring:
    """The app's signing keyring (ETA_KEYS_DIR), one instance per directory and process.

    Outside production an empty keyring gets its first keys on first use (as `make run`
    does); production never mints keys implicitly: run `eta keys generate` once.
    """
    path = _keys_dir()
    key = cache_key(current_app.config, path)
    with _lock:
        ring = _keyrings.get(key)
        if ring is None:
            ring = open_keyring(current_app.config, Path(path), KeyPurpose.TOKENS)
            if current_app.config.get("ETA_ENV") != "production" and not ring.list():
                ring.generate()
            _keyrings[key] = ring
        return ring


def _manifest_stamp(path: str) -> tuple[int, int, int] | None:
    try:
        stat = os.stat(os.path.join(path, "keyring.json"))
    except FileNotFoundError:
        return None
    return (stat.st_ino, stat.st_mtime_ns, stat.st_size)


def key_set() -> KeySet:
    """The published public keys, parsed once and re-read when the keyring manifest changes."""
    path = _keys_dir()
    key = cache_key(current_app.config, path)
    stamp = _manifest_stamp(path)
    cached = _key_sets.get(key)
    if cached is not None and cached[0] == stamp and stamp is not None:
        return cached[1]
    keys = keyring().key_set()
    _key_sets[key] = (stamp, keys)
    return keys


def public_jwks() -> dict[str, Any]:
    """The JWKS to publish: every key whose tokens may still be valid, plus the next key."""
    return keyring().public_jwks()
