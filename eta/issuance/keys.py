"""The signing keyrings: key files, rotation states, the public JWKS and signature checks.

One keyring per purpose, each in its own directory: ES256 keys that sign authorisations
(tokens), Ed25519 keys that sign the audit log's checkpoints (C2SP signed notes), and ES256
keys that sign the lost/stolen feed we publish to partners.

The directory always holds the manifest (which kid is next, active, retired or removed); where
the private keys live is the keyring's :class:`KeyStore`: PEM files beside the manifest
(:class:`FileKeyStore`, the default) or a PKCS#11 token (eta.issuance.hsm), where they are
generated and which they never leave.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import hashlib
import json
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

ALGORITHM = "ES256"
# The last second a datetime can show (9999-12-31T23:59:59Z). A time claim past it, even in a
# JWS signed by a real key, could not be compared, printed or stored without overflowing: the
# verifiers refuse it (claim_out_of_range).
MAX_TIMESTAMP = 253_402_300_799
MANIFEST_NAME = "keyring.json"
_LOCK_NAME = ".keyring.lock"
_MANIFEST_FORMAT = 1
_COORDINATE_BYTES = 32  # P-256 coordinates are 256 bits


class KeyPurpose(StrEnum):
    """What a keyring's keys sign; each purpose has its own algorithm and directory."""

    TOKENS = "tokens"  # ES256: authorisations and revocation lists (ETA_KEYS_DIR)
    AUDIT = "audit"  # Ed25519: audit log checkpoints (ETA_KEYS_DIR/audit)
    FEEDS = "feeds"  # ES256: our lost/stolen feed's batches to partners (ETA_KEYS_DIR/feeds)


# The algorithm of each purpose's keys (for the audit log: one that C2SP signed notes define).
PURPOSE_ALGORITHMS = {
    KeyPurpose.TOKENS: ALGORITHM,
    KeyPurpose.AUDIT: "Ed25519",
    KeyPurpose.FEEDS: ALGORITHM,
}

PrivateKey = ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey


class KeyState(StrEnum):
    """Where a key is in its life: next → active → retired → removed."""

    NEXT = "next"  # published before use so verifiers already hold it when it becomes active
    ACTIVE = "active"  # signs new tokens; exactly one at a time
    RETIRED = "retired"  # no longer signs; still published while its tokens may be valid
    REMOVED = "removed"  # private key deleted, no longer published; kid kept so it is never reused


class KeyringError(Exception):
    """A keyring operation that cannot be done (no active key, unknown kid, wrong state)."""


class JWSError(Exception):
    """A compact JWS that failed verification; ``detail`` says which check failed."""

    def __init__(self, detail: str, message: str = "") -> None:
        super().__init__(message or detail)
        self.detail = detail


@dataclass(frozen=True)
class KeyInfo:
    """What the manifest records about one key (no secret material)."""

    kid: str
    state: KeyState
    created_at: datetime
    retired_at: datetime | None = None
    removed_at: datetime | None = None


@dataclass(frozen=True)
class SigningKey:
    """The active private key with its kid, ready to sign."""

    kid: str
    private_key: PrivateKey


def sign_jws(payload: bytes, key: SigningKey, typ: str) -> str:
    """``payload`` as a compact ES256 JWS with the header ``{alg, typ, kid}`` and nothing else.

    PyJWS, not jwt.encode: the payloads are final, and PyJWT would add its own typ "JWT".
    """
    return jwt.api_jws.PyJWS().encode(
        payload, key.private_key, algorithm=ALGORITHM, headers={"typ": typ, "kid": key.kid}
    )


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def public_jwk(public_key: ec.EllipticCurvePublicKey, kid: str | None = None) -> dict[str, str]:
    """The public JWK (RFC 7517) of a P-256 key, with ``use``/``alg`` set for ES256."""
    numbers = public_key.public_numbers()
    jwk = {
        "kty": "EC",
        "crv": "P-256",
        "x": _b64url(numbers.x.to_bytes(_COORDINATE_BYTES, "big")),
        "y": _b64url(numbers.y.to_bytes(_COORDINATE_BYTES, "big")),
    }
    return {**jwk, "kid": kid or key_id(public_key), "use": "sig", "alg": ALGORITHM}


def ed25519_key_id(public_key: ed25519.Ed25519PublicKey) -> str:
    """An Ed25519 key's kid: base64url of the first 8 bytes of SHA-256 of its raw public key."""
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return _b64url(hashlib.sha256(raw).digest()[:8])


def key_id(public_key: ec.EllipticCurvePublicKey) -> str:
    """The kid: base64url of the first 8 bytes of the RFC 7638 SHA-256 thumbprint.

    Short on purpose: a full thumbprint costs a QR version (see NOTES.md).
    """
    numbers = public_key.public_numbers()
    # RFC 7638: required members only, lexicographic order, no whitespace.
    canonical = json.dumps(
        {
            "crv": "P-256",
            "kty": "EC",
            "x": _b64url(numbers.x.to_bytes(_COORDINATE_BYTES, "big")),
            "y": _b64url(numbers.y.to_bytes(_COORDINATE_BYTES, "big")),
        },
        separators=(",", ":"),
        sort_keys=True,
    ).encode("ascii")
    return _b64url(hashlib.sha256(canonical).digest()[:8])


class KeySet:
    """Public keys by kid, built from a JWKS; verifies compact ES256 JWS.

    Only EC P-256 keys meant for ES256 signatures are taken; anything else in the JWKS is
    ignored, so a key published for another purpose can never verify a token.
    """

    def __init__(self, keys: Mapping[str, ec.EllipticCurvePublicKey]) -> None:
        self._keys = dict(keys)

    @classmethod
    def from_jwks(cls, jwks: Mapping[str, Any]) -> KeySet:
        """Build from a JWKS document (``{"keys": [...]}``)."""
        keys: dict[str, ec.EllipticCurvePublicKey] = {}
        entries = jwks.get("keys") if isinstance(jwks, Mapping) else None
        for entry in entries if isinstance(entries, list) else []:
            if not isinstance(entry, Mapping):
                continue
            if entry.get("kty") != "EC" or entry.get("crv") != "P-256":
                continue
            if entry.get("alg", ALGORITHM) != ALGORITHM or entry.get("use", "sig") != "sig":
                continue
            kid, x, y = entry.get("kid"), entry.get("x"), entry.get("y")
            if not (isinstance(kid, str) and isinstance(x, str) and isinstance(y, str)):
                continue
            try:
                numbers = ec.EllipticCurvePublicNumbers(
                    int.from_bytes(_b64url_decode(x), "big"),
                    int.from_bytes(_b64url_decode(y), "big"),
                    ec.SECP256R1(),
                )
                keys[kid] = numbers.public_key()
            except ValueError:  # not a point on the curve, or bad base64
                continue
        return cls(keys)

    def __contains__(self, kid: object) -> bool:
        return kid in self._keys

    def __len__(self) -> int:
        return len(self._keys)

    def kids(self) -> list[str]:
        """The kids in this set."""
        return list(self._keys)

    def verify_jws(self, token: str, expected_typ: str) -> tuple[dict[str, Any], dict[str, Any]]:
        """Check a compact JWS in RFC 8725 order and return (header, claims).

        Order: well-formed, typ, kid known, alg allowed, signature. Raises :class:`JWSError`
        whose ``detail`` is one of malformed, wrong_typ, unknown_kid, alg_not_allowed,
        bad_signature. The kid is only a lookup hint: the signature decides.
        """
        if not isinstance(token, str):
            raise JWSError("malformed", "token is not text")
        segments = token.split(".")
        if len(segments) != 3 or not all(segments[:2]):
            raise JWSError("malformed", "not a compact JWS")
        try:
            header = json.loads(_b64url_decode(segments[0]))
        except (ValueError, UnicodeDecodeError) as error:
            raise JWSError("malformed", "header is not base64url JSON") from error
        if not isinstance(header, dict):
            raise JWSError("malformed", "header is not a JSON object")
        if "crit" in header or "b64" in header:
            # We understand no critical extensions, and never use detached/unencoded payloads.
            raise JWSError("malformed", "unsupported header parameters")
        if header.get("typ") != expected_typ:
            raise JWSError("wrong_typ", f"typ is not {expected_typ}")
        kid = header.get("kid")
        if not isinstance(kid, str) or kid not in self._keys:
            raise JWSError("unknown_kid", "kid is not a known key")
        if header.get("alg") != ALGORITHM:
            raise JWSError("alg_not_allowed", f"only {ALGORITHM} is allowed")
        try:
            payload = jwt.api_jws.PyJWS().decode(token, key=self._keys[kid], algorithms=[ALGORITHM])
        except jwt.InvalidSignatureError as error:
            raise JWSError("bad_signature", "signature does not verify") from error
        except jwt.InvalidAlgorithmError as error:
            raise JWSError("alg_not_allowed", f"only {ALGORITHM} is allowed") from error
        except jwt.PyJWTError as error:
            raise JWSError("malformed", str(error)) from error
        try:
            claims = json.loads(payload)
        except (ValueError, UnicodeDecodeError) as error:
            raise JWSError("malformed", "payload is not JSON") from error
        if not isinstance(claims, dict):
            raise JWSError("malformed", "payload is not a JSON object")
        return header, claims


def _parse_time(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def _format_time(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).isoformat()


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _require_aware(value: datetime, name: str) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware")


def kid_of(key: PrivateKey) -> str:
    """The kid of a private key's public half, by the rule of its algorithm."""
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return ed25519_key_id(key.public_key())
    return key_id(key.public_key())


class KeyStore(Protocol):
    """Where a keyring's private keys are made, kept and destroyed (the manifest is not here)."""

    @property
    def location(self) -> str:
        """Where the keys are, for messages (a directory, or a PKCS#11 token)."""
        ...

    def create(self, purpose: KeyPurpose) -> PrivateKey:
        """Make a new key for ``purpose`` and keep it under its kid (see :func:`kid_of`)."""
        ...

    def load(self, kid: str, purpose: KeyPurpose) -> PrivateKey:
        """The key kept under ``kid`` (a KeyringError if there is none)."""
        ...

    def delete(self, kid: str) -> None:
        """Destroy the key kept under ``kid``, if there is one."""
        ...


class FileKeyStore:
    """Private keys as ``<kid>.pem`` files (PKCS#8, mode 0600) in the keyring's directory."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    @property
    def location(self) -> str:
        """The directory."""
        return str(self.path)

    def _key_path(self, kid: str) -> Path:
        return self.path / f"{kid}.pem"

    def create(self, purpose: KeyPurpose) -> PrivateKey:
        """A fresh key in a new file named by its kid."""
        private_key: PrivateKey
        if purpose is KeyPurpose.AUDIT:
            private_key = ed25519.Ed25519PrivateKey.generate()
        else:
            private_key = ec.generate_private_key(ec.SECP256R1())
        pem = private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        # O_EXCL: never overwrite a key file, even on a (vanishingly unlikely) kid collision.
        fd = os.open(
            self._key_path(kid_of(private_key)), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600
        )
        with os.fdopen(fd, "wb") as handle:
            handle.write(pem)
            handle.flush()
            os.fsync(handle.fileno())
        return private_key

    def load(self, kid: str, purpose: KeyPurpose) -> PrivateKey:
        """The key in ``<kid>.pem``, checked to be of the purpose's algorithm."""
        loaded = serialization.load_pem_private_key(self._key_path(kid).read_bytes(), None)
        if purpose is KeyPurpose.AUDIT:
            if not isinstance(loaded, ed25519.Ed25519PrivateKey):
                raise KeyringError(f"{kid}.pem is not an Ed25519 private key")
        elif not isinstance(loaded, ec.EllipticCurvePrivateKey) or not isinstance(
            loaded.curve, ec.SECP256R1
        ):
            raise KeyringError(f"{kid}.pem is not a P-256 private key")
        return loaded

    def delete(self, kid: str) -> None:
        """Remove ``<kid>.pem``."""
        self._key_path(kid).unlink(missing_ok=True)


class Keyring:
    """One purpose's keys: a JSON manifest in one directory, the private keys in a KeyStore.

    Several processes (web, workers, CLI) share the directory: changes take an exclusive lock,
    re-read the manifest, and replace it atomically; readers pick up a new manifest on their
    next call. Without a store the keys are ``<kid>.pem`` files (mode 0600) beside it.
    """

    def __init__(
        self,
        path: Path,
        purpose: KeyPurpose = KeyPurpose.TOKENS,
        store: KeyStore | None = None,
    ) -> None:
        self.path = Path(path)
        self.purpose = purpose
        self.store: KeyStore = store if store is not None else FileKeyStore(self.path)
        self._infos: list[KeyInfo] = []
        self._stamp: tuple[int, int, int] | None = None
        self._private_keys: dict[str, PrivateKey] = {}

    @property
    def algorithm(self) -> str:
        """The algorithm this keyring's keys sign with."""
        return PURPOSE_ALGORITHMS[self.purpose]

    @property
    def location(self) -> str:
        """Where the private keys are (the directory, or the PKCS#11 token)."""
        return self.store.location

    @classmethod
    def load(
        cls, path: Path, purpose: KeyPurpose = KeyPurpose.TOKENS, store: KeyStore | None = None
    ) -> Keyring:
        """Open the keyring in ``path``, creating the directory (mode 0700) if missing."""
        keyring = cls(path, purpose, store)
        keyring.path.mkdir(mode=0o700, parents=True, exist_ok=True)
        keyring._refresh()
        return keyring

    # --- manifest -------------------------------------------------------------------------

    @property
    def _manifest_path(self) -> Path:
        return self.path / MANIFEST_NAME

    def _refresh(self) -> None:
        """Re-read the manifest when another process has replaced it."""
        try:
            stat = self._manifest_path.stat()
        except FileNotFoundError:
            self._infos, self._stamp = [], None
            return
        stamp = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
        if stamp == self._stamp:
            return
        document = json.loads(self._manifest_path.read_text(encoding="utf-8"))
        if document.get("format") != _MANIFEST_FORMAT:
            raise KeyringError(f"unknown keyring manifest format in {self._manifest_path}")
        self._infos = [
            KeyInfo(
                kid=entry["kid"],
                state=KeyState(entry["state"]),
                created_at=datetime.fromisoformat(entry["created_at"]),
                retired_at=_parse_time(entry.get("retired_at")),
                removed_at=_parse_time(entry.get("removed_at")),
            )
            for entry in document["keys"]
        ]
        self._stamp = stamp

    def _write_manifest(self, infos: list[KeyInfo]) -> None:
        document = {
            "format": _MANIFEST_FORMAT,
            "keys": [
                {
                    "kid": info.kid,
                    "state": info.state.value,
                    "created_at": _format_time(info.created_at),
                    "retired_at": _format_time(info.retired_at),
                    "removed_at": _format_time(info.removed_at),
                }
                for info in infos
            ],
        }
        tmp = self.path / f".{MANIFEST_NAME}.{os.getpid()}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(document, handle, indent=2)
            handle.write("\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, self._manifest_path)
        self._stamp = None
        self._refresh()

    @contextlib.contextmanager
    def _locked(self) -> Iterator[list[KeyInfo]]:
        """Hold the keyring lock and yield a fresh copy of the key list to change."""
        fd = os.open(self.path / _LOCK_NAME, os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            self._stamp = None
            self._refresh()
            yield list(self._infos)
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def _new_key(self, state: KeyState, now: datetime) -> KeyInfo:
        private_key = self.store.create(self.purpose)
        kid = kid_of(private_key)
        self._private_keys[kid] = private_key
        return KeyInfo(kid=kid, state=state, created_at=now)

    @staticmethod
    def _find(infos: list[KeyInfo], kid: str) -> int:
        for index, info in enumerate(infos):
            if info.kid == kid:
                return index
        raise KeyringError(f"no key with kid {kid!r}")

    def _complete(self, infos: list[KeyInfo], now: datetime) -> bool:
        """Give ``infos`` an active and a next key if missing; say whether anything changed."""
        changed = False
        if not any(info.state is KeyState.ACTIVE for info in infos):
            nexts = [i for i, info in enumerate(infos) if info.state is KeyState.NEXT]
            if nexts:  # promote the published next key rather than minting an unseen one
                infos[nexts[0]] = _replace_state(infos[nexts[0]], KeyState.ACTIVE)
            else:
                infos.append(self._new_key(KeyState.ACTIVE, now))
            changed = True
        if not any(info.state is KeyState.NEXT for info in infos):
            infos.append(self._new_key(KeyState.NEXT, now))
            changed = True
        return changed

    # --- operations -----------------------------------------------------------------------

    def generate(self, now: datetime | None = None) -> KeyInfo:
        """Make sure there is an active key and a next key; return the active one.

        Idempotent: on a keyring that already has both, nothing changes.
        """
        now = now or _utcnow()
        _require_aware(now, "now")
        with self._locked() as infos:
            if self._complete(infos, now):
                self._write_manifest(infos)
        return self._info_in(KeyState.ACTIVE)

    def rotate(self, now: datetime | None = None) -> KeyInfo:
        """Next becomes active, the old active is retired, a new next key is made.

        Returns the new active key. On an empty keyring this is :meth:`generate`.
        """
        now = now or _utcnow()
        _require_aware(now, "now")
        with self._locked() as infos:
            for index, info in enumerate(infos):
                if info.state is KeyState.ACTIVE:
                    infos[index] = _replace_state(info, KeyState.RETIRED, retired_at=now)
            self._complete(infos, now)
            self._write_manifest(infos)
        return self._info_in(KeyState.ACTIVE)

    def retire(self, kid: str, now: datetime | None = None) -> KeyInfo:
        """Stop publishing ``kid`` as a signer for new tokens.

        A next key is retired and replaced by a fresh next key (e.g. it leaked before use).
        The active key cannot be retired directly: rotate, so there is always an active key.
        Retiring a retired key changes nothing.
        """
        now = now or _utcnow()
        _require_aware(now, "now")
        with self._locked() as infos:
            index = self._find(infos, kid)
            info = infos[index]
            if info.state is KeyState.ACTIVE:
                raise KeyringError(f"{kid} is the active key: rotate instead of retiring it")
            if info.state is KeyState.REMOVED:
                raise KeyringError(f"{kid} is already removed")
            if info.state is KeyState.NEXT:
                infos[index] = _replace_state(info, KeyState.RETIRED, retired_at=now)
                infos.append(self._new_key(KeyState.NEXT, now))
                self._write_manifest(infos)
            return self._info_of(kid)

    def remove(self, kid: str, now: datetime | None = None) -> KeyInfo:
        """Delete a retired key's private file and stop publishing it.

        Tokens signed with it stop verifying, so only do this once they have all expired.
        """
        now = now or _utcnow()
        _require_aware(now, "now")
        if self.purpose is KeyPurpose.AUDIT:
            # A checkpoint signed by a removed key could no longer be checked by `eta audit
            # verify`: the log's history would lose its proof.
            raise KeyringError("audit keys verify the log's history: retire them, never remove")
        with self._locked() as infos:
            index = self._find(infos, kid)
            info = infos[index]
            if info.state is KeyState.REMOVED:
                return info
            if info.state is not KeyState.RETIRED:
                raise KeyringError(f"{kid} is {info.state.value}: only retired keys are removed")
            infos[index] = _replace_state(info, KeyState.REMOVED, removed_at=now)
            self._write_manifest(infos)
            self.store.delete(kid)
            self._private_keys.pop(kid, None)
            return self._info_of(kid)

    def remove_expired(self, now: datetime, max_token_lifetime: timedelta) -> list[str]:
        """Remove every key retired at least ``max_token_lifetime`` ago; return their kids."""
        _require_aware(now, "now")
        self._refresh()
        due = [
            info.kid
            for info in self._infos
            if info.state is KeyState.RETIRED
            and info.retired_at is not None
            and info.retired_at + max_token_lifetime <= now
        ]
        for kid in due:
            self.remove(kid, now)
        return due

    # --- reading --------------------------------------------------------------------------

    def list(self) -> list[KeyInfo]:
        """Every key the manifest knows, oldest first, removed ones included."""
        self._refresh()
        return list(self._infos)

    def _info_of(self, kid: str) -> KeyInfo:
        self._refresh()
        return self._infos[self._find(self._infos, kid)]

    def _info_in(self, state: KeyState) -> KeyInfo:
        self._refresh()
        for info in self._infos:
            if info.state is state:
                return info
        raise KeyringError(f"no {state.value} key in {self.path} (run `eta keys generate`)")

    def _private_key(self, kid: str) -> PrivateKey:
        cached = self._private_keys.get(kid)
        if cached is not None:
            return cached
        loaded = self.store.load(kid, self.purpose)
        if kid_of(loaded) != kid:
            raise KeyringError(f"{kid} in {self.location} does not hold the key named {kid}")
        self._private_keys[kid] = loaded
        return loaded

    def _token_key(self, kid: str) -> ec.EllipticCurvePrivateKey:
        key = self._private_key(kid)
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise KeyringError(f"{kid} is not a token signing key")
        return key

    def audit_keys(self) -> dict[str, ed25519.Ed25519PublicKey]:
        """Every audit key not removed, by kid: what checks the log's checkpoints."""
        self._refresh()
        keys: dict[str, ed25519.Ed25519PublicKey] = {}
        for info in self._infos:
            if info.state is KeyState.REMOVED:
                continue
            key = self._private_key(info.kid)
            if not isinstance(key, ed25519.Ed25519PrivateKey):
                raise KeyringError(f"{info.kid} is not an audit key")
            keys[info.kid] = key.public_key()
        return keys

    def active(self) -> SigningKey:
        """The key to sign new tokens with."""
        info = self._info_in(KeyState.ACTIVE)
        return SigningKey(kid=info.kid, private_key=self._private_key(info.kid))

    def public_jwks(self) -> dict[str, Any]:
        """The JWKS to publish: next, active and retired keys (every key not removed)."""
        self._refresh()
        return {
            "keys": [
                public_jwk(self._token_key(info.kid).public_key(), info.kid)
                for info in self._infos
                if info.state is not KeyState.REMOVED
            ]
        }

    def key_set(self) -> KeySet:
        """The published keys as a :class:`KeySet`, for verifying locally."""
        return KeySet.from_jwks(self.public_jwks())


def _replace_state(
    info: KeyInfo,
    state: KeyState,
    retired_at: datetime | None = None,
    removed_at: datetime | None = None,
) -> KeyInfo:
    return KeyInfo(
        kid=info.kid,
        state=state,
        created_at=info.created_at,
        retired_at=retired_at or info.retired_at,
        removed_at=removed_at or info.removed_at,
    )
