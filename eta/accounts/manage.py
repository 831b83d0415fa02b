"""Creating staff accounts: officers (password + TOTP) and carriers (API keys shown once)."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

import pyotp
from sqlalchemy import select

from eta import audit
from eta.accounts.passwords import MIN_PASSWORD_LENGTH, hash_password
from eta.models import Carrier, CarrierApiKey, Officer, Role
from eta.models.base import SessionLike
from eta.timeutil import utcnow

API_KEY_PREFIX_LENGTH = 12


class AccountError(ValueError):
    """An account cannot be created as asked (duplicate, weak password, unknown role)."""


@dataclass(frozen=True)
class NewOfficer:
    """A freshly created officer and the TOTP secret to enrol in an authenticator app."""

    officer: Officer
    totp_secret: str
    otpauth_uri: str


def create_officer(
    session: SessionLike,
    email: str,
    password: str,
    role: str,
    *,
    issuer: str,
    actor: str = "operator",
) -> NewOfficer:
    """Create an officer with an argon2id password hash and a new TOTP secret."""
    email = email.strip().lower()
    if role not in {r.value for r in Role}:
        raise AccountError(f"role must be one of {', '.join(r.value for r in Role)}")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"the password must be at least {MIN_PASSWORD_LENGTH} characters")
    if session.scalar(select(Officer.id).where(Officer.email == email)) is not None:
        raise AccountError(f"an officer with the email {email} already exists")
    secret = pyotp.random_base32()
    officer = Officer(
        email=email, password_hash=hash_password(password), totp_secret=secret, role=role
    )
    session.add(officer)
    session.flush()
    audit.record(
        session,
        "officer.created",
        actor=actor,
        object_type="officer",
        object_id=officer.id,
        details={"role": role},
    )
    session.commit()
    uri = pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=issuer)
    return NewOfficer(officer, secret, uri)


def hash_api_key(key: str) -> str:
    """The stored form of an API key (SHA-256 is enough for 256 random bits)."""
    return hashlib.sha256(key.encode()).hexdigest()


def new_api_key(session: SessionLike, carrier: Carrier, *, actor: str = "operator") -> str:
    """Create and return a new API key for `carrier`; only its hash is kept."""
    key = "eta_" + secrets.token_urlsafe(32)  # 32 random bytes = 256 bits
    session.add(
        CarrierApiKey(
            carrier_id=carrier.id, prefix=key[:API_KEY_PREFIX_LENGTH], key_hash=hash_api_key(key)
        )
    )
    audit.record(
        session, "carrier.key_created", actor=actor, object_type="carrier", object_id=carrier.id
    )
    session.commit()
    return key


def create_carrier(
    session: SessionLike, name: str, *, actor: str = "operator"
) -> tuple[Carrier, str]:
    """Create a carrier with its first API key; returns the carrier and the key (shown once)."""
    name = name.strip()
    if not name:
        raise AccountError("the carrier needs a name")
    if session.scalar(select(Carrier.id).where(Carrier.name == name)) is not None:
        raise AccountError(f"a carrier named {name} already exists")
    carrier = Carrier(name=name)
    session.add(carrier)
    session.flush()
    audit.record(
        session, "carrier.created", actor=actor, object_type="carrier", object_id=carrier.id
    )
    return carrier, new_api_key(session, carrier, actor=actor)


def revoke_api_keys(session: SessionLike, carrier: Carrier, *, actor: str = "operator") -> int:
    """Revoke every active key of `carrier`; returns how many were revoked."""
    keys = session.scalars(
        select(CarrierApiKey).where(
            CarrierApiKey.carrier_id == carrier.id, CarrierApiKey.revoked_at.is_(None)
        )
    ).all()
    for key in keys:
        key.revoked_at = utcnow()
    audit.record(
        session, "carrier.keys_revoked", actor=actor, object_type="carrier", object_id=carrier.id
    )
    session.commit()
    return len(keys)
