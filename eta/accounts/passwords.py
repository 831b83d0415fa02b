"""Password hashing with argon2id (argon2-cffi's RFC 9106 low-memory profile)."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()  # argon2id, parameters from argon2-cffi's current recommendation

MIN_PASSWORD_LENGTH = 12


def hash_password(password: str) -> str:
    """Return the argon2id hash of `password`."""
    return _hasher.hash(password)


def check_password(stored_hash: str, password: str) -> bool:
    """True when `password` matches `stored_hash`; never raises for a wrong or odd password."""
    try:
        return _hasher.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    """True when the hash was made with weaker parameters than today's and should be redone."""
    return _hasher.check_needs_rehash(stored_hash)
