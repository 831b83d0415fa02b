"""`eta keys ...` (the signing keyring) and `eta verify` (an offline check of a token or QR)."""

from __future__ import annotations

import json
import sys
import urllib.request
from pathlib import Path
from typing import Any

import click
from flask import current_app
from flask.cli import with_appcontext

from eta.authorisations.pdf_cli import pdf_certificate_command
from eta.issuance.keys import PURPOSE_ALGORITHMS, KeyPurpose, Keyring, KeyringError, KeySet
from eta.issuance.qr import read_qr
from eta.issuance.revocations import RevocationListError, read_revocation_list
from eta.issuance.tokens import verify
from eta.timeutil import utcnow

JWKS_PATH = "/.well-known/jwks.json"
FETCH_TIMEOUT_SECONDS = 10
# With a 9-character passport number and a full 39-character MRZ name field, a token stays
# within a version-18 QR code up to an issuer of about 46 characters; 40 leaves a margin.
MAX_SAFE_ISSUER_CHARS = 40
_IMAGE_MAGIC = (b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"BM", b"RIFF")


@click.group("keys")
def keys_group() -> None:
    """Signing keys in ETA_KEYS_DIR: next → active → retired → removed.

    The private keys are files in ETA_KEYS_DIR, or with ETA_KEYS_BACKEND=pkcs11 in the
    PKCS#11 token ETA_PKCS11_TOKEN_LABEL, made there and never out of it. Three purposes:
    tokens (ES256, authorisations), audit (Ed25519, the audit log's checkpoints, in
    ETA_KEYS_DIR/audit) and feeds (ES256, the lost/stolen feed we publish to partners, in
    ETA_KEYS_DIR/feeds).
    """


_PURPOSE = click.option(
    "--purpose",
    type=click.Choice([purpose.value for purpose in KeyPurpose]),
    default=KeyPurpose.TOKENS.value,
    show_default=True,
    help="Which keyring: token signing keys, the audit log's checkpoint keys, or feed keys.",
)


def _ring(purpose: str) -> Keyring:
    from eta import authorisations
    from eta.audit.checkpoints import log_signer

    if purpose == KeyPurpose.AUDIT.value:
        return log_signer(current_app.config)[0]
    if purpose == KeyPurpose.FEEDS.value:
        from eta.partners.current import feed_keyring

        return feed_keyring()
    return authorisations.keyring()


def _when(value: Any) -> str:
    return "-" if value is None else value.strftime("%Y-%m-%d %H:%M UTC")


@keys_group.command("generate")
@_PURPOSE
@with_appcontext
def keys_generate(purpose: str) -> None:
    """Make sure there is an active key and a next key (idempotent)."""
    from eta import authorisations

    ring = _ring(purpose)
    active = ring.generate()
    click.echo(f"Active {purpose} key: {active.kid} (keys in {ring.location})")
    if purpose == KeyPurpose.TOKENS.value and len(authorisations.issuer()) > MAX_SAFE_ISSUER_CHARS:
        click.echo(
            f"Warning: ETA_ISSUER is longer than {MAX_SAFE_ISSUER_CHARS} characters; tokens for "
            "long names may not fit the QR code (see docs/issuance.md).",
            err=True,
        )


@keys_group.command("rotate")
@_PURPOSE
@with_appcontext
def keys_rotate(purpose: str) -> None:
    """The next key becomes active, the active one is retired, a new next key is made."""
    ring = _ring(purpose)
    before = {info.kid for info in ring.list() if info.state.value == "active"}
    active = ring.rotate()
    retired = ", ".join(sorted(before - {active.kid})) or "none"
    click.echo(f"Active key: {active.kid}; retired: {retired}.")
    if purpose == KeyPurpose.AUDIT.value:
        click.echo("Retired audit keys keep verifying the checkpoints they signed.")
    else:
        click.echo("Retired keys stay published until the last token they signed expires.")


@keys_group.command("list")
@with_appcontext
def keys_list() -> None:
    """Every key of every purpose with its state and dates (removed keys included)."""
    rings = {purpose: _ring(purpose.value) for purpose in KeyPurpose}
    rows = [(purpose, info) for purpose, ring in rings.items() for info in ring.list()]
    if not rows:
        click.echo("No keys yet: run `eta keys generate`.")
        return
    click.echo(
        f"{'purpose':<7}  {'algorithm':<9}  {'kid':<12}  {'state':<8}  {'created':<20}  "
        f"{'retired':<20}  removed"
    )
    for purpose, info in rows:
        click.echo(
            f"{purpose.value:<7}  {PURPOSE_ALGORITHMS[purpose]:<9}  {info.kid:<12}  "
            f"{info.state.value:<8}  {_when(info.created_at):<20}  "
            f"{_when(info.retired_at):<20}  {_when(info.removed_at)}"
        )
    for purpose, ring in rings.items():
        click.echo(f"Private keys ({purpose.value}): {ring.location}")


@keys_group.command("retire")
@click.argument("kid")
@_PURPOSE
@with_appcontext
def keys_retire(kid: str, purpose: str) -> None:
    """Retire a next key (a fresh next key replaces it); rotate to retire the active key."""
    try:
        info = _ring(purpose).retire(kid)
    except KeyringError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"Key {info.kid} is {info.state.value}.")


@keys_group.command("remove")
@click.argument("kid")
@click.confirmation_option(
    prompt="Tokens signed with this key will stop verifying. Remove it?",
    help="Do not ask for confirmation.",
)
@with_appcontext
def keys_remove(kid: str) -> None:
    """Delete a retired key's private half and stop publishing it."""
    from eta import authorisations

    try:
        info = authorisations.keyring().remove(kid)
    except KeyringError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"Key {info.kid} is {info.state.value}.")


# --- eta verify ---------------------------------------------------------------------------


def _is_url(source: str) -> bool:
    return source.startswith(("http://", "https://"))


def _read_source(source: str) -> bytes:
    """The bytes of a file, or of a URL (http/https only: never file: or other schemes)."""
    if _is_url(source):
        with urllib.request.urlopen(source, timeout=FETCH_TIMEOUT_SECONDS) as answer:  # noqa: S310
            return bytes(answer.read())
    return Path(source).read_bytes()


def _is_file(argument: str) -> bool:
    try:
        return Path(argument).is_file()
    except OSError:  # a token is longer than any file name may be
        return False


def _token_from(argument: str) -> str:
    """The token itself, a file holding it, or a picture of its QR code ("-": stdin)."""
    if argument == "-":
        data = sys.stdin.buffer.read()
    elif _is_file(argument):
        data = Path(argument).read_bytes()
    else:
        return argument.strip()
    if data.startswith(_IMAGE_MAGIC):
        return read_qr(data)
    return "".join(data.decode("ascii").split())


def _issuer_for(jwks_source: str | None) -> str:
    if jwks_source and _is_url(jwks_source) and jwks_source.endswith(JWKS_PATH):
        return jwks_source.removesuffix(JWKS_PATH)
    return str(current_app.config["ETA_ISSUER"]).rstrip("/")


@click.command("verify")
@click.argument("token_or_png")
@click.option("--jwks", "jwks_source", help="JWKS file or URL (default: this server's keys).")
@click.option(
    "--revocations",
    "revocations_source",
    help="Signed revocation list file or URL (default: this server's database).",
)
@click.option("--issuer", help="Expected iss (default: from the JWKS URL, else ETA_ISSUER).")
@click.option("--passport-number", help="Also check the token names this passport number.")
@click.option("--country", help="Also check the passport's issuing country (alpha-3).")
@with_appcontext
def verify_command(
    token_or_png: str,
    jwks_source: str | None,
    revocations_source: str | None,
    issuer: str | None,
    passport_number: str | None,
    country: str | None,
) -> None:
    """Verify a token (text, file, or PNG of its QR code); exit 0 only when it is OK."""
    try:
        token = _token_from(token_or_png)
    except (ValueError, UnicodeDecodeError) as error:
        click.echo(f"NOT_OK invalid_signature (unreadable: {error})")
        sys.exit(1)
    expected_issuer = (issuer or _issuer_for(jwks_source)).rstrip("/")
    try:
        if jwks_source:
            keys = KeySet.from_jwks(json.loads(_read_source(jwks_source)))
        else:
            from eta import authorisations

            keys = authorisations.key_set()
        if revocations_source:
            revocation_list = read_revocation_list(
                _read_source(revocations_source).decode("ascii").strip(), keys, expected_issuer
            )
            revoked: frozenset[str] | set[str] = revocation_list.revoked
            click.echo(f"Revocation list version {revocation_list.version}.", err=True)
        elif jwks_source:
            revoked = set()
            click.echo("Warning: no --revocations given; revocation not checked.", err=True)
        else:
            from eta import authorisations
            from eta.extensions import db

            revoked = authorisations.revoked_hashes(db.session)
    except RevocationListError as error:
        message = f"the revocation list does not verify ({error.detail})"
        raise click.ClickException(message) from None
    except (OSError, ValueError) as error:
        raise click.ClickException(f"cannot read the keys or revocation list: {error}") from None
    result = verify(
        token,
        keys,
        revoked,
        utcnow(),
        expected_issuer,
        expected_passport_number=passport_number,
        expected_country=country,
    )
    click.echo(f"{'OK' if result.ok else 'NOT_OK'} {result.reason} ({result.detail})")
    if result.claims is not None:
        claims = result.claims
        click.echo(f"  reference   {claims.get('sub')}")
        click.echo(f"  valid until {_when(_from_timestamp(claims.get('exp')))}")
    sys.exit(0 if result.ok else 1)


def _from_timestamp(value: object) -> Any:
    import datetime as dt

    if isinstance(value, int) and not isinstance(value, bool):
        return dt.datetime.fromtimestamp(value, tz=dt.UTC)
    return None


keys_group.add_command(pdf_certificate_command)  # the PDF's signing chain (eta/issuance/pdfsign.py)

COMMANDS = (keys_group, verify_command)
