"""`eta carrier ...`: carrier accounts, key rotation and revocation, staff, usage; `eta vectors`."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask.cli import with_appcontext
from sqlalchemy import func, select

from eta.accounts.passwords import MIN_PASSWORD_LENGTH, hash_password
from eta.extensions import db
from eta.models import Carrier, CarrierApiKey, CarrierQuery, CarrierUser


@click.group("carrier")
def carrier_group() -> None:
    """Carrier accounts and API keys."""


@carrier_group.command("create")
@click.argument("name")
@with_appcontext
def carrier_create(name: str) -> None:
    """Create a carrier and print its API key once, on the last line."""
    from eta.accounts import AccountError, create_carrier

    try:
        carrier, key = create_carrier(db.session, name)
    except AccountError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"Carrier {carrier.name} created. Its API key is shown once; store it safely:")
    click.echo(key)


def _carrier(name: str) -> Carrier:
    carrier = db.session.scalar(select(Carrier).where(Carrier.name == name.strip()))
    if carrier is None:
        raise click.ClickException(f"no carrier named {name}")
    return carrier


@carrier_group.command("rotate-key")
@click.argument("name")
@with_appcontext
def rotate_key(name: str) -> None:
    """Add a new API key (shown once, on the last line); the old keys stay valid until revoked.

    Rotate without downtime: deploy the new key, then `eta carrier revoke-keys NAME --keep-newest`.
    """
    from eta.accounts import new_api_key

    carrier = _carrier(name)
    key = new_api_key(db.session, carrier)
    click.echo(
        f"New API key for {carrier.name}. Its old keys stay valid until you run "
        f"`eta carrier revoke-keys {carrier.name!r} --keep-newest`. Shown once; store it safely:"
    )
    click.echo(key)


@carrier_group.command("revoke-keys")
@click.argument("name")
@click.option("--keep-newest", is_flag=True, help="Keep the newest key (ends a rotation).")
@with_appcontext
def revoke_keys(name: str, keep_newest: bool) -> None:
    """Revoke a carrier's API keys at once (all of them, or all but the newest)."""
    from eta import audit
    from eta.accounts import revoke_api_keys
    from eta.timeutil import utcnow

    carrier = _carrier(name)
    if not keep_newest:
        count = revoke_api_keys(db.session, carrier)
    else:
        keys = db.session.scalars(
            select(CarrierApiKey)
            .where(CarrierApiKey.carrier_id == carrier.id, CarrierApiKey.revoked_at.is_(None))
            .order_by(CarrierApiKey.created_at.desc(), CarrierApiKey.id.desc())
        ).all()
        for key in keys[1:]:
            key.revoked_at = utcnow()
        count = len(keys[1:])
        audit.record(
            db.session,
            "carrier.keys_revoked",
            actor="operator",
            object_type="carrier",
            object_id=carrier.id,
            details={"kept_newest": True},
        )
        db.session.commit()
    click.echo(f"Revoked {count} API key(s) of {carrier.name}.")


@carrier_group.command("add-user")
@click.argument("name")
@click.argument("email")
@with_appcontext
def add_user(name: str, email: str) -> None:
    """Give a carrier's check-in staff member a sign-in; the password is read from stdin."""
    from eta import audit

    carrier = _carrier(name)
    email = email.strip().lower()
    password = sys.stdin.readline().rstrip("\r\n")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise click.ClickException(
            f"the password must be at least {MIN_PASSWORD_LENGTH} characters"
        )
    if db.session.scalar(select(CarrierUser.id).where(CarrierUser.email == email)) is not None:
        raise click.ClickException(f"a check-in user with the email {email} already exists")
    user = CarrierUser(carrier_id=carrier.id, email=email, password_hash=hash_password(password))
    db.session.add(user)
    db.session.flush()
    audit.record(
        db.session,
        "carrier.user_created",
        actor="operator",
        object_type="carrier",
        object_id=carrier.id,
        details={"user_id": user.id},
    )
    db.session.commit()
    click.echo(f"Check-in user {email} created for {carrier.name}.")


@carrier_group.command("usage")
@click.argument("name")
@with_appcontext
def usage(name: str) -> None:
    """How many checks a carrier has made, by result (passengers, not requests)."""
    carrier = _carrier(name)
    rows = db.session.execute(
        select(CarrierQuery.kind, CarrierQuery.result, func.sum(CarrierQuery.passengers))
        .where(CarrierQuery.carrier_id == carrier.id)
        .group_by(CarrierQuery.kind, CarrierQuery.result)
        .order_by(CarrierQuery.kind, CarrierQuery.result)
    ).all()
    click.echo(f"{carrier.name}: {sum(int(row[2]) for row in rows)} passengers checked")
    for kind, result, passengers in rows:
        click.echo(f"  {kind:<8} {result:<15} {int(passengers)}")


@click.group("vectors")
def vectors_group() -> None:
    """Test vectors for carriers who build their own verifier (SPEC §6)."""


@vectors_group.command("generate")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("--issuer", default=None, help="The iss of the tokens (default: a test issuer).")
def generate_vectors(directory: Path, issuer: str | None) -> None:
    """Write jwks.json, revocations.jws and one folder per case into DIRECTORY.

    The repository's copy is docs/test-vectors/ (`eta vectors generate docs/test-vectors`).
    """
    from eta.carrier.vectors import ISSUER, generate
    from eta.timeutil import utcnow

    cases = generate(directory, issuer=issuer or ISSUER, now=utcnow())
    for case in cases:
        click.echo(f"{case.name:<18} {case.result:<7} {case.reason}")
    click.echo(f"{len(cases)} cases written to {directory}")


COMMANDS = (carrier_group, vectors_group)
