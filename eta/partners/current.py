"""What this instance holds of its partners: the trust list in use, feed keys, partners' keys.

The list in use is ``ETA_TRUST_LIST`` (put there by ``eta trust import``), checked against
the anchor's public JWKS pinned beside it (``trust-anchor.jwks``) whenever either file
changes. A stale list (its ``next_update`` passed) counts for nothing: no partner's token
verifies and no feed imports until a newer list is imported.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import threading
from datetime import datetime
from pathlib import Path

from flask import current_app

from eta.issuance.backends import cache_key, open_keyring
from eta.issuance.keys import KeyPurpose, Keyring, SigningKey
from eta.partners.feedkeys import FeedKeys
from eta.partners.recognition import NO_PARTNERS, PartnerTokens
from eta.partners.trustlist import TrustList, TrustListError, verified_trust_list

log = logging.getLogger(__name__)

ANCHOR_NAME = "trust-anchor.jwks"
_lock = threading.Lock()
_lists: dict[tuple[str, str], tuple[object, TrustList | None]] = {}
_tokens: dict[str, tuple[tuple[int, str, int], PartnerTokens]] = {}
_feed_keys: dict[str, FeedKeys] = {}
_feed_signers: dict[str, Keyring] = {}


def trust_list_path() -> Path:
    """Where the list in use is kept (ETA_TRUST_LIST)."""
    return Path(str(current_app.config["ETA_TRUST_LIST"]))


def anchor_path(trust_list: Path | None = None) -> Path:
    """The anchor's public JWKS, pinned beside the list at its first import."""
    return (trust_list or trust_list_path()).with_name(ANCHOR_NAME)


def own_partner_id() -> str:
    """Our id in the trust list (ETA_PARTNER_ID; empty when we have no partners)."""
    return str(current_app.config.get("ETA_PARTNER_ID") or "")


@functools.lru_cache(maxsize=8)
def _list_paths(configured: str) -> tuple[str, str]:
    """The list's and its anchor's paths as strings, for ETA_TRUST_LIST's value."""
    path = Path(configured)
    return str(path), str(anchor_path(path))


def _stamp(path: str | Path) -> tuple[int, int, int] | None:
    try:
        stat = os.stat(path)
    except FileNotFoundError:
        return None
    return (stat.st_ino, stat.st_mtime_ns, stat.st_size)


def stored_trust_list() -> TrustList | None:
    """The list in use, stale or not, checked again against the pinned anchor; None if none.

    A list that no longer verifies (the file was changed by hand) counts as none, and says so
    in the log.
    """
    # Every carrier request comes here: two stat calls on plain strings decide whether the
    # list changed (an import by `eta partners` in another process); paths are built only then.
    key = _list_paths(str(current_app.config["ETA_TRUST_LIST"]))
    stamp = (_stamp(key[0]), _stamp(key[1]))
    cached = _lists.get(key)
    if cached is not None and cached[0] == stamp:
        return cached[1]
    path, anchor = Path(key[0]), Path(key[1])
    trust_list: TrustList | None = None
    if stamp[0] is not None and stamp[1] is not None:
        try:
            trust_list = verified_trust_list(path.read_text(), json.loads(anchor.read_text()))
        except (TrustListError, ValueError) as error:
            log.error("the trust list in use (%s) is not usable: %s", path, error)
    _lists[key] = (stamp, trust_list)
    return trust_list


def trust_list_in_use(now: datetime) -> TrustList | None:
    """The list in use, unless it is stale or there is none."""
    trust_list = stored_trust_list()
    if trust_list is None or trust_list.stale(now):
        return None
    return trust_list


def partner_tokens(now: datetime) -> PartnerTokens:
    """The partners whose authorisations our carriers accept now (mutual recognition).

    On every carrier request: built once a minute per list in use (parsing keys costs more
    than a verification), and at once when a new list is imported. A key leaves within a
    minute of its not_after; a suspension or revocation comes with a new list, so at once.
    """
    trust_list = trust_list_in_use(now)
    if trust_list is None:
        return NO_PARTNERS
    own = own_partner_id()
    key = (id(trust_list), own, int(now.timestamp()) // 60)
    cached = _tokens.get(trust_list_path().as_posix())
    if cached is not None and cached[0] == key:
        return cached[1]
    tokens = PartnerTokens(
        {
            kid: found
            for kid, found in trust_list.token_issuers(now).items()
            if found[0].id != own  # ours verify with our own keyring, as always
        }
    )
    _tokens[trust_list_path().as_posix()] = (key, tokens)
    return tokens


def _keys_dir() -> Path:
    return Path(str(current_app.config["ETA_KEYS_DIR"])).resolve()


def feed_keys() -> FeedKeys:
    """The feeds' epoch keys (ETA_KEYS_DIR/sltd), one store per directory and process."""
    path = str(_keys_dir() / "sltd")
    with _lock:
        store = _feed_keys.get(path)
        if store is None:
            store = _feed_keys[path] = FeedKeys(Path(path))
        return store


def feed_keyring() -> Keyring:
    """Our feed signing keyring (ETA_KEYS_DIR/feeds), one instance per directory and process.

    Its keys are files there or in the PKCS#11 token, as ETA_KEYS_BACKEND says.
    """
    path = str(_keys_dir() / KeyPurpose.FEEDS.value)
    key = cache_key(current_app.config, path)
    with _lock:
        ring = _feed_signers.get(key)
        if ring is None:
            ring = _feed_signers[key] = open_keyring(
                current_app.config, Path(path), KeyPurpose.FEEDS
            )
        return ring


def feed_signer() -> SigningKey:
    """Our active feed signing key; outside production the first is made on first use.

    In production run `eta keys generate --purpose feeds` once, as for token keys.
    """
    ring = feed_keyring()
    if not ring.list() and current_app.config.get("ETA_ENV") != "production":
        ring.generate()
    return ring.active()
