"""`eta trust ...`: make the anchor key, sign a trust list where the anchor is, import one here."""

from __future__ import annotations

import json
import os
from datetime import timedelta
from pathlib import Path
from typing import TextIO

import click
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from flask import current_app
from flask.cli import with_appcontext

from eta.issuance.keys import SigningKey, key_id, public_jwk
from eta.partners.trustlist import TrustListError, read_trust_list, sequence_of, sign_trust_list
from eta.timeutil import utcnow


@click.group("trust")
def trust_group() -> None:
    """The partner trust list, signed by an offline anchor key."""


@trust_group.command("anchor-key")
@click.argument("pem", type=click.Path(dir_okay=False, path_type=Path))
def anchor_key(pem: Path) -> None:
    """Make an anchor key in PEM (kept offline, mode 0600); print its public JWKS."""
    if pem.exists():
        raise click.ClickException(f"{pem} exists: an anchor key is never overwritten")
    private_key = ec.generate_private_key(ec.SECP256R1())
    data = private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    descriptor = os.open(pem, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data)
    click.echo(json.dumps({"keys": [public_jwk(private_key.public_key())]}, indent=2))


def _anchor(pem: Path) -> SigningKey:
    private_key = serialization.load_pem_private_key(pem.read_bytes(), password=None)
    if not isinstance(private_key, ec.EllipticCurvePrivateKey):
        raise click.ClickException("the anchor key must be an EC P-256 key")
    return SigningKey(kid=key_id(private_key.public_key()), private_key=private_key)


@trust_group.command("sign")
@click.argument("partners", type=click.File("r"))
@click.option("--anchor-key", "pem", required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--issuer", required=True, help="Who vouches for the list (the anchor's holder).")
@click.option("--sequence", required=True, type=click.IntRange(min=0), help="Above the last.")
@click.option("--valid-days", default=7, show_default=True, type=click.IntRange(1, 90))
def sign(partners: TextIO, pem: Path, issuer: str, sequence: int, valid_days: int) -> None:
    """Sign PARTNERS (JSON: {"partners": [...]}) and print the trust list (a compact JWS)."""
    document = json.load(partners)
    now = utcnow()
    try:
        token = sign_trust_list(
            document.get("partners", []) if isinstance(document, dict) else [],
            issuer=issuer,
            sequence=sequence,
            next_update=now + timedelta(days=valid_days),
            anchor=_anchor(pem),
            now=now,
        )
    except TrustListError as error:
        raise click.ClickException(f"not signed: {error}") from None
    click.echo(token)


@trust_group.command("import")
@click.argument("trust_list", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--anchor", required=True, type=click.Path(exists=True, path_type=Path),
              help="The anchor's public JWKS (from `eta trust anchor-key`).")  # fmt: skip
@click.option("--store", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Where the list in use is kept (default: the instance folder).")  # fmt: skip
@with_appcontext
def import_list(trust_list: Path, anchor: Path, store: Path | None) -> None:
    """Check TRUST_LIST against the anchor and, when it is newer and not stale, put it in use."""
    keys = json.loads(anchor.read_text())
    store = store or Path(current_app.instance_path) / "trust-list.jws"
    token = trust_list.read_text().strip()
    try:
        last = sequence_of(store.read_text(), keys) if store.exists() else None
        checked = read_trust_list(token, keys, now=utcnow(), last_sequence=last)
    except TrustListError as error:
        raise click.ClickException(f"trust list refused ({error.detail}): {error}") from None
    store.parent.mkdir(parents=True, exist_ok=True)
    temporary = store.with_suffix(".tmp")
    temporary.write_text(token + "\n")
    temporary.replace(store)  # atomic: a reader sees the old list or the new, never half
    names = ", ".join(f"{p.id} ({p.country})" for p in checked.partners) or "no partners"
    click.echo(
        f"trust list {checked.sequence} from {checked.issuer} in use: {names}; "
        f"next update due {checked.next_update.isoformat()}"
    )


COMMANDS = (trust_group,)
