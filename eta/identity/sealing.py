"""Photos and face templates encrypted at rest: AES-256-GCM under ETA_PHOTO_KEY.

Each value is sealed with a fresh 96-bit nonce and, as associated data, what it is and whose
it is (`photo` or `template`, and the application's id): a sealed value copied onto another
application's row, or a template put where a photo belongs, fails to open instead of being
shown as someone else's.
"""

from __future__ import annotations

import base64
import binascii
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

FORMAT = b"\x01"  # the layout below; a later key scheme (key ids, rotation) gets another byte
NONCE_BYTES = 12
KEY_BYTES = 32


class SealError(ValueError):
    """A sealed value did not open: wrong key, wrong row, or altered bytes."""


def parse_key(text: str) -> bytes:
    """The 32-byte key of ETA_PHOTO_KEY (base64 or base64url); ValueError when it is not one."""
    padded = text.strip() + "=" * (-len(text.strip()) % 4)
    try:
        key = base64.urlsafe_b64decode(padded.replace("+", "-").replace("/", "_"))
    except (binascii.Error, ValueError):
        raise ValueError("ETA_PHOTO_KEY must be 32 bytes in base64") from None
    if len(key) != KEY_BYTES:
        raise ValueError(f"ETA_PHOTO_KEY must be 32 bytes in base64, not {len(key)} bytes")
    return key


def new_key() -> str:
    """A fresh key as ETA_PHOTO_KEY holds it (base64url, no padding)."""
    return base64.urlsafe_b64encode(os.urandom(KEY_BYTES)).decode().rstrip("=")


def _context(kind: str, application_id: int) -> bytes:
    return f"eta-identity/{kind}/{application_id}".encode()


def seal(key: bytes, kind: str, application_id: int, plain: bytes) -> bytes:
    """`plain` encrypted and authenticated for `kind` of application `application_id`."""
    nonce = os.urandom(NONCE_BYTES)
    return FORMAT + nonce + AESGCM(key).encrypt(nonce, plain, _context(kind, application_id))


def unseal(key: bytes, kind: str, application_id: int, sealed: bytes) -> bytes:
    """The plain bytes of a value `seal()` made for the same kind and application."""
    if len(sealed) < 1 + NONCE_BYTES + 16 or sealed[:1] != FORMAT:
        raise SealError("not a sealed value")
    nonce, body = sealed[1 : 1 + NONCE_BYTES], sealed[1 + NONCE_BYTES :]
    try:
        return AESGCM(key).decrypt(nonce, body, _context(kind, application_id))
    except InvalidTag:
        raise SealError("the sealed value does not open with this key for this row") from None
