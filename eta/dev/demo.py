"""Demo data for `make run`: accounts with known credentials, so a newcomer can try every room."""

from __future__ import annotations

import pyotp
from flask import current_app
from sqlalchemy import select

from eta import accounts
from eta.accounts.passwords import hash_password
from eta.models import Carrier, Officer, Role
from eta.models.base import SessionLike

DEMO_PASSWORD = "demo-password-123"  # noqa: S105  (a published demo credential, by design)
DEMO_OFFICERS = (
    ("officer@demo.eta", Role.OFFICER),
    ("supervisor@demo.eta", Role.SUPERVISOR),
    ("admin@demo.eta", Role.ADMIN),
)
DEMO_CARRIER = "Demo Airways"


class DemoRefused(RuntimeError):
    """Demo data was asked for in production, where its published passwords would be a door."""


def _officer(session: SessionLike, email: str, role: Role) -> Officer:
    officer = session.scalar(select(Officer).where(Officer.email == email))
    if officer is None:
        created = accounts.create_officer(
            session,
            email,
            DEMO_PASSWORD,
            role,
            issuer=current_app.config["ETA_SERVICE_NAME"],
            actor="demo",
        )
        return created.officer
    officer.password_hash = hash_password(DEMO_PASSWORD)
    session.commit()
    return officer


def _check_in_user(session: SessionLike, carrier: Carrier) -> str:
    """The demo carrier's check-in desk account (carrier room), for the /carrier/ page."""
    from eta.models import CarrierUser

    email = "checkin@demo.eta"
    user = session.scalar(select(CarrierUser).where(CarrierUser.email == email))
    if user is None:
        user = CarrierUser(carrier_id=carrier.id, email=email, password_hash="")
        session.add(user)
    user.password_hash = hash_password(DEMO_PASSWORD)
    user.failed_sign_ins, user.locked_until = 0, None
    session.commit()
    return f"  check-in   {email}  at /carrier/ (carrier {DEMO_CARRIER})"


def load_demo(session: SessionLike) -> list[str]:
    """Create (or refresh) the demo accounts; return lines describing how to sign in.

    Raises DemoRefused, changing nothing, when ETA_ENV is production: the demo resets an
    admin account to a password printed in the README.
    """
    if current_app.config["ETA_ENV"] == "production":
        raise DemoRefused(
            "eta demo refuses to run with ETA_ENV=production: its accounts have published passwords"
        )
    lines = ["Demo accounts (password for all: " + DEMO_PASSWORD + "):"]
    issuer = current_app.config["ETA_SERVICE_NAME"]
    for email, role in DEMO_OFFICERS:
        officer = _officer(session, email, role)
        uri = pyotp.TOTP(officer.totp_secret).provisioning_uri(name=email, issuer_name=issuer)
        lines.append(f"  {role.value:<10} {email}  TOTP secret {officer.totp_secret}  ({uri})")
    carrier = session.scalar(select(Carrier).where(Carrier.name == DEMO_CARRIER))
    if carrier is None:
        carrier, key = accounts.create_carrier(session, DEMO_CARRIER, actor="demo")
    else:
        # Keys are stored hashed, so a demo run cannot show the old one: replace it.
        accounts.revoke_api_keys(session, carrier, actor="demo")
        key = accounts.new_api_key(session, carrier, actor="demo")
    lines.append(f"  carrier    {DEMO_CARRIER}  API key {key}")
    lines.append(_check_in_user(session, carrier))
    from eta.screening.lists.store import load_demo_watchlists

    lines.extend(load_demo_watchlists(session))
    return lines
