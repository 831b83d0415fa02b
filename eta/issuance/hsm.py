"""Signing keys in a PKCS#11 token (an HSM, or SoftHSM2 in tests): made there, used there, kept.

:class:`Pkcs11KeyStore` is a :class:`~eta.issuance.keys.KeyStore`: each key pair is generated in
the token (CKA_SENSITIVE, not CKA_EXTRACTABLE, CKA_TOKEN), and found again by its CKA_ID, the
kid. What it hands the keyring are :class:`HsmEcPrivateKey` and :class:`HsmEd25519PrivateKey`:
cryptography's private-key interfaces whose ``sign`` is a C_Sign in the token and whose
``private_bytes`` refuses, so PyJWT (ES256) and the signed notes (Ed25519) sign with them as
with a key from a file, and nothing can read the secret out.

ES256 is signed with CKM_ECDSA on a SHA-256 digest made here: SoftHSM2 2.6 (Debian's) offers no
CKM_ECDSA_SHA256, and every HSM offers CKM_ECDSA. Its raw ``r || s`` is JWS's form already;
cryptography's interface wants DER, so it is wrapped for PyJWT, which unwraps it again.
Ed25519 is CKM_EDDSA (PKCS#11 3.0, CKK_EC_EDWARDS): the C2SP signed-note algorithm itself.

One logged-in session per module, token and process, shared by every keyring (PKCS#11 logs in
an application once; a second C_Login is refused). A process forked after opening it
re-initialises the library (PKCS#11 v2.40 §6.7.7), and a session the token lost (restart,
removal) is opened again once before an error reaches the caller.
"""

from __future__ import annotations

import hashlib
import os
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import pkcs11
from asn1crypto.core import OctetString
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import _serialization, hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from pkcs11 import Attribute, KeyType, Mechanism, ObjectClass
from pkcs11.exceptions import (
    DeviceRemoved,
    MultipleObjectsReturned,
    NoSuchKey,
    NoSuchToken,
    PKCS11Error,
    SessionClosed,
    SessionHandleInvalid,
    TokenNotPresent,
    UserAlreadyLoggedIn,
)
from pkcs11.util.ec import encode_named_curve_parameters

from eta.issuance.keys import KeyPurpose, KeyringError, PrivateKey, ed25519_key_id, key_id

DEFAULT_MODULE = "/usr/lib/softhsm/libsofthsm2.so"
P256_OID = "1.2.840.10045.3.1.7"  # secp256r1 / prime256v1
ED25519_OID = "1.3.101.112"  # id-Ed25519 (RFC 8410), as PKCS#11 3.0 names the curve
_COORDINATE_BYTES = 32
LABEL_PREFIX = "eta"
# Errors after which the session is gone, not the request wrong: open a new one and retry once.
_LOST = (SessionHandleInvalid, SessionClosed, DeviceRemoved, TokenNotPresent)

T = TypeVar("T")


class HsmError(KeyringError):
    """The token cannot be reached or refuses an operation (wrong PIN, no such token, ...)."""


class KeyNotExtractable(HsmError):
    """Someone asked a key in the token for its private half: it never leaves the token."""


@dataclass(frozen=True)
class Pkcs11Settings:
    """Which PKCS#11 module, which token in it, and the user PIN that logs in to it."""

    module: str
    token_label: str
    pin: str

    def __repr__(self) -> str:  # never the PIN, in a log line or a traceback
        return f"Pkcs11Settings(module={self.module!r}, token_label={self.token_label!r})"


# --- sessions ---------------------------------------------------------------------------------

_lock = threading.RLock()
_sessions: dict[tuple[str, str], Any] = {}
_pid = os.getpid()


def _session(settings: Pkcs11Settings) -> Any:
    """The logged-in read-write session of this process on the token."""
    global _pid
    with _lock:
        if os.getpid() != _pid:
            # A forked child: the parent's sessions are not its own, and the library must be
            # initialised again before the child may use it.
            for module in {module for module, _ in _sessions}:
                pkcs11.lib(module).reinitialize()
            _sessions.clear()
            _pid = os.getpid()
        key = (settings.module, settings.token_label)
        session = _sessions.get(key)
        if session is None:
            session = _sessions[key] = _open(settings)
        return session


def _open(settings: Pkcs11Settings) -> Any:
    try:
        library = pkcs11.lib(settings.module)
    except (PKCS11Error, RuntimeError, OSError) as error:
        raise HsmError(f"cannot load the PKCS#11 module {settings.module}: {error}") from None
    try:
        token = library.get_token(token_label=settings.token_label)
    except NoSuchToken:
        raise HsmError(
            f"no PKCS#11 token labelled {settings.token_label!r} in {settings.module}"
        ) from None
    try:
        return token.open(user_pin=settings.pin, rw=True)
    except UserAlreadyLoggedIn:
        # Logged in by another session of this process (login is per application): a new
        # session shares that login.
        return token.open(rw=True)
    except PKCS11Error as error:
        raise HsmError(
            f"cannot log in to the token {settings.token_label!r}: {type(error).__name__}"
        ) from None


def _forget(settings: Pkcs11Settings, session: Any) -> None:
    with _lock:
        if _sessions.get((settings.module, settings.token_label)) is session:
            del _sessions[(settings.module, settings.token_label)]


def _with_session(settings: Pkcs11Settings, operation: Callable[[Any], T]) -> T:
    """Run ``operation(session)``; a session the token lost is opened again, once."""
    session = _session(settings)
    try:
        return operation(session)
    except _LOST:
        _forget(settings, session)
        return operation(_session(settings))


# --- keys -------------------------------------------------------------------------------------


def _ec_point(encoded: bytes) -> bytes:
    """The point in CKA_EC_POINT: a DER OCTET STRING, though some modules give it bare."""
    try:
        value = OctetString.load(encoded).native
    except ValueError:
        return encoded
    return value if isinstance(value, bytes) else encoded


class HsmEcPrivateKey(ec.EllipticCurvePrivateKey):
    """A P-256 key in the token, seen through cryptography's interface; it only signs."""

    def __init__(self, store: Pkcs11KeyStore, kid: str, public: ec.EllipticCurvePublicKey) -> None:
        self._store = store
        self._kid = kid
        self._public = public

    @property
    def curve(self) -> ec.EllipticCurve:
        """P-256."""
        return ec.SECP256R1()

    @property
    def key_size(self) -> int:
        """256 bits."""
        return 256

    def public_key(self) -> ec.EllipticCurvePublicKey:
        """The public half, read from the token when the key was found."""
        return self._public

    def sign(self, data: Any, signature_algorithm: ec.EllipticCurveSignatureAlgorithm) -> bytes:
        """ECDSA over SHA-256 of ``data``, in the token; DER, as cryptography's keys sign."""
        if not isinstance(signature_algorithm, ec.ECDSA) or not isinstance(
            signature_algorithm.algorithm, hashes.SHA256
        ):
            raise UnsupportedAlgorithm("a key in the token signs ECDSA with SHA-256 only")
        raw = self._store.sign(self._kid, hashlib.sha256(bytes(data)).digest(), Mechanism.ECDSA)
        if len(raw) != 2 * _COORDINATE_BYTES:
            raise HsmError(f"the token gave a {len(raw)}-byte P-256 signature")
        return encode_dss_signature(
            int.from_bytes(raw[:_COORDINATE_BYTES], "big"),
            int.from_bytes(raw[_COORDINATE_BYTES:], "big"),
        )

    def exchange(self, algorithm: ec.ECDH, peer_public_key: ec.EllipticCurvePublicKey) -> bytes:
        """Refused: these keys sign, they agree no keys."""
        raise UnsupportedAlgorithm("a signing key in the token does no key agreement")

    def private_numbers(self) -> ec.EllipticCurvePrivateNumbers:
        """Refused: the private key never leaves the token."""
        raise KeyNotExtractable(f"{self._kid} is in the token and cannot be read out")

    def private_bytes(
        self,
        encoding: _serialization.Encoding,
        format: _serialization.PrivateFormat,
        encryption_algorithm: _serialization.KeySerializationEncryption,
    ) -> bytes:
        """Refused: the private key never leaves the token."""
        raise KeyNotExtractable(f"{self._kid} is in the token and cannot be read out")

    def __copy__(self) -> HsmEcPrivateKey:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> HsmEcPrivateKey:
        return self


class HsmEd25519PrivateKey(ed25519.Ed25519PrivateKey):
    """An Ed25519 key in the token, seen through cryptography's interface; it only signs."""

    def __init__(self, store: Pkcs11KeyStore, kid: str, public: ed25519.Ed25519PublicKey) -> None:
        self._store = store
        self._kid = kid
        self._public = public

    def public_key(self) -> ed25519.Ed25519PublicKey:
        """The public half, read from the token when the key was found."""
        return self._public

    def sign(self, data: Any) -> bytes:
        """Pure Ed25519 (RFC 8032) of ``data``, in the token."""
        signature = self._store.sign(self._kid, bytes(data), Mechanism.EDDSA)
        if len(signature) != 64:
            raise HsmError(f"the token gave a {len(signature)}-byte Ed25519 signature")
        return signature

    def private_bytes(
        self,
        encoding: _serialization.Encoding,
        format: _serialization.PrivateFormat,
        encryption_algorithm: _serialization.KeySerializationEncryption,
    ) -> bytes:
        """Refused: the private key never leaves the token."""
        raise KeyNotExtractable(f"{self._kid} is in the token and cannot be read out")

    def private_bytes_raw(self) -> bytes:
        """Refused: the private key never leaves the token."""
        raise KeyNotExtractable(f"{self._kid} is in the token and cannot be read out")

    def __copy__(self) -> HsmEd25519PrivateKey:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> HsmEd25519PrivateKey:
        return self


# What a key pair of each purpose is in PKCS#11: key type, curve, generation mechanism.
_KINDS = {
    KeyPurpose.AUDIT: (KeyType.EC_EDWARDS, ED25519_OID, Mechanism.EC_EDWARDS_KEY_PAIR_GEN),
    KeyPurpose.TOKENS: (KeyType.EC, P256_OID, Mechanism.EC_KEY_PAIR_GEN),
    KeyPurpose.FEEDS: (KeyType.EC, P256_OID, Mechanism.EC_KEY_PAIR_GEN),
}

# The private half: made in the token, kept in it (CKA_TOKEN), usable only after login
# (CKA_PRIVATE), never readable (CKA_SENSITIVE) nor wrappable out (CKA_EXTRACTABLE false),
# and good for signing only.
_PRIVATE_TEMPLATE = {
    Attribute.TOKEN: True,
    Attribute.PRIVATE: True,
    Attribute.SENSITIVE: True,
    Attribute.EXTRACTABLE: False,
    Attribute.SIGN: True,
    Attribute.DERIVE: False,
    Attribute.DECRYPT: False,
    Attribute.UNWRAP: False,
}
_PUBLIC_TEMPLATE = {
    Attribute.TOKEN: True,
    Attribute.PRIVATE: False,
    Attribute.VERIFY: True,
    Attribute.ENCRYPT: False,
    Attribute.WRAP: False,
}


class Pkcs11KeyStore:
    """A keyring's private keys in a PKCS#11 token, found by CKA_ID = kid.

    Labels say what each key is for (``eta-<purpose>-<kid>``) to an operator listing the
    token; the keyring's manifest, not the token, says which keys are in use, so keys of
    several keyrings (or deployments) may share one token.
    """

    def __init__(self, settings: Pkcs11Settings, purpose: KeyPurpose) -> None:
        self.settings = settings
        self.purpose = purpose
        self._handles: dict[str, tuple[Any, Any]] = {}  # kid -> (session, private key object)

    @property
    def location(self) -> str:
        """The token and module, for messages."""
        return f"PKCS#11 token {self.settings.token_label!r} ({self.settings.module})"

    def _public_key(self, kid: str, public: Any) -> ec.EllipticCurvePublicKey | Any:
        point = _ec_point(bytes(public[Attribute.EC_POINT]))
        key_type, oid, _ = _KINDS[self.purpose]
        if public.key_type != key_type or bytes(
            public[Attribute.EC_PARAMS]
        ) != encode_named_curve_parameters(oid):
            raise KeyringError(f"{kid} in {self.location} is not a key for {self.purpose.value}")
        try:
            if self.purpose is KeyPurpose.AUDIT:
                return ed25519.Ed25519PublicKey.from_public_bytes(point)
            return ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
        except ValueError:
            raise KeyringError(f"{kid} in {self.location} has no valid public point") from None

    def _wrap(self, kid: str, public: Any) -> PrivateKey:
        public_key = self._public_key(kid, public)
        if isinstance(public_key, ed25519.Ed25519PublicKey):
            return HsmEd25519PrivateKey(self, kid, public_key)
        return HsmEcPrivateKey(self, kid, public_key)

    def create(self, purpose: KeyPurpose) -> PrivateKey:
        """A key pair generated in the token, then named (CKA_ID, CKA_LABEL) by its kid."""
        if purpose is not self.purpose:
            raise KeyringError(f"this store keeps {self.purpose.value} keys, not {purpose.value}")
        key_type, oid, mechanism = _KINDS[purpose]

        def generate(session: Any) -> PrivateKey:
            parameters = session.create_domain_parameters(
                key_type, {Attribute.EC_PARAMS: encode_named_curve_parameters(oid)}, local=True
            )
            # The kid comes from the public key, known only once made: a provisional id first.
            provisional = uuid.uuid4().bytes
            public, private = parameters.generate_keypair(
                id=provisional,
                label=f"{LABEL_PREFIX}-{purpose.value}-new",
                store=True,
                mechanism=mechanism,
                public_template=_PUBLIC_TEMPLATE,
                private_template=_PRIVATE_TEMPLATE,
            )
            public_key = self._public_key("new key", public)
            kid = (
                ed25519_key_id(public_key)
                if isinstance(public_key, ed25519.Ed25519PublicKey)
                else key_id(public_key)
            )
            for item in (public, private):
                item[Attribute.ID] = kid.encode("ascii")
                item[Attribute.LABEL] = f"{LABEL_PREFIX}-{purpose.value}-{kid}"
            self._handles[kid] = (session, private)
            return self._wrap(kid, public)

        try:
            return _with_session(self.settings, generate)
        except PKCS11Error as error:
            raise HsmError(f"the token could not make a key: {type(error).__name__}") from None

    def _find(self, session: Any, kid: str, object_class: ObjectClass) -> Any:
        try:
            return session.get_key(object_class=object_class, id=kid.encode("ascii"))
        except NoSuchKey:
            raise KeyringError(f"no key {kid} in {self.location}") from None
        except MultipleObjectsReturned:
            raise KeyringError(f"more than one key {kid} in {self.location}") from None

    def load(self, kid: str, purpose: KeyPurpose) -> PrivateKey:
        """The key pair kept under ``kid``, checked to be of the purpose's kind."""

        def find(session: Any) -> PrivateKey:
            private = self._find(session, kid, ObjectClass.PRIVATE_KEY)
            if private.key_type != _KINDS[purpose][0]:
                raise KeyringError(f"{kid} in {self.location} is not a {purpose.value} key")
            self._handles[kid] = (session, private)
            return self._wrap(kid, self._find(session, kid, ObjectClass.PUBLIC_KEY))

        return _with_session(self.settings, find)

    def sign(self, kid: str, data: bytes, mechanism: Mechanism) -> bytes:
        """C_Sign of ``data`` by the private key ``kid`` with ``mechanism``."""

        def run(session: Any) -> bytes:
            cached = self._handles.get(kid)
            if cached is None or cached[0] is not session:
                cached = (session, self._find(session, kid, ObjectClass.PRIVATE_KEY))
                self._handles[kid] = cached
            return bytes(cached[1].sign(data, mechanism=mechanism))

        try:
            return _with_session(self.settings, run)
        except _LOST:
            raise HsmError(f"lost the session to {self.location}") from None
        except PKCS11Error as error:
            raise HsmError(f"the token refused to sign: {type(error).__name__}") from None

    def delete(self, kid: str) -> None:
        """Destroy both halves of the key pair ``kid`` in the token."""

        def destroy(session: Any) -> None:
            for item in session.get_objects({Attribute.ID: kid.encode("ascii")}):
                item.destroy()

        _with_session(self.settings, destroy)
        self._handles.pop(kid, None)

    def attributes(self, kid: str) -> dict[str, bool]:
        """The private key's protection flags (what `eta keys list` and the tests show)."""

        def read(session: Any) -> dict[str, bool]:
            private = self._find(session, kid, ObjectClass.PRIVATE_KEY)
            return {
                name: bool(private[attribute])
                for name, attribute in (
                    ("sensitive", Attribute.SENSITIVE),
                    ("extractable", Attribute.EXTRACTABLE),
                    ("always_sensitive", Attribute.ALWAYS_SENSITIVE),
                    ("never_extractable", Attribute.NEVER_EXTRACTABLE),
                    ("local", Attribute.LOCAL),
                )
            }

        return _with_session(self.settings, read)
