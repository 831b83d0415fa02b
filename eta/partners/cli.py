"""`eta trust ...`: make the anchor key, sign a trust list where the anchor is, import one here."""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

import click
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from flask import current_app
from flask.cli import with_appcontext

from eta.issuance.keys import SigningKey, key_id, public_jwk
from eta.partners.trustlist import (
    TrustList,
    TrustListError,
    read_trust_list,
    sequence_of,
    sign_trust_list,
)
from eta.timeutil import utcnow

FETCH_TIMEOUT_SECONDS = 10
MAX_LIST_BYTES = 8 * 1024 * 1024  # about 300,000 revoked tokens


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
@click.option("--anchor", type=click.Path(exists=True, path_type=Path), default=None,
              help="The anchor's public JWKS (from `eta trust anchor-key`); pinned beside the "
                   "list at the first import, and checked against the pin after.")  # fmt: skip
@click.option("--store", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Where the list in use is kept (default: ETA_TRUST_LIST).")  # fmt: skip
@with_appcontext
def import_list(trust_list: Path, anchor: Path | None, store: Path | None) -> None:
    """Check TRUST_LIST against the anchor and, when it is newer and not stale, put it in use."""
    from eta.partners.current import anchor_path, trust_list_path

    store = store or trust_list_path()
    pinned = anchor_path(store)
    if anchor is None and not pinned.exists():
        raise click.ClickException("no anchor pinned yet: give the anchor's JWKS with --anchor")
    anchor_text = (anchor or pinned).read_text()
    if anchor is not None and pinned.exists() and _jwks(pinned.read_text()) != _jwks(anchor_text):
        raise click.ClickException(
            f"trust list refused (anchor): {anchor} is not the anchor pinned in {pinned}; "
            "if the anchor really changed, remove that file by hand and import again"
        )
    keys = _jwks(anchor_text)
    token = trust_list.read_text().strip()
    try:
        last = sequence_of(store.read_text(), keys) if store.exists() else None
        checked = read_trust_list(token, keys, now=utcnow(), last_sequence=last)
    except TrustListError as error:
        raise click.ClickException(f"trust list refused ({error.detail}): {error}") from None
    store.parent.mkdir(parents=True, exist_ok=True)
    if not pinned.exists():
        _replace(pinned, json.dumps(keys, indent=2) + "\n")
    _replace(store, token + "\n")  # atomic: a reader sees the old list or the new, never half
    names = ", ".join(f"{p.id} ({p.country})" for p in checked.partners) or "no partners"
    click.echo(
        f"trust list {checked.sequence} from {checked.issuer} in use: {names}; "
        f"next update due {checked.next_update.isoformat()}"
    )


def _jwks(text: str) -> dict[str, Any]:
    try:
        document = json.loads(text)
    except ValueError:
        raise click.ClickException("the anchor is not a JWKS (JSON)") from None
    if not isinstance(document, dict):
        raise click.ClickException("the anchor is not a JWKS (JSON object)")
    return document


def _replace(path: Path, text: str) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(text)
    temporary.replace(path)


@trust_group.command("entry")
@click.option("--country", required=True, help="Our ISO 3166-1 alpha-3 country code.")
@click.option("--valid-days", default=365, show_default=True, type=click.IntRange(1, 3650))
@with_appcontext
def entry(country: str, valid_days: int) -> None:
    """Print our own partner entry (JSON) for the anchor's holder to put in the trust list.

    Our id (ETA_PARTNER_ID), our issuer, our endpoints (JWKS, revocations, the audit log's
    signed checkpoints and key) and our public keys: token signing (so our authorisations
    verify at partners' carriers) and feed signing (so our lost/stolen feed imports there).
    """
    from eta import authorisations
    from eta.partners.current import feed_keyring, feed_signer, own_partner_id

    partner_id = own_partner_id()
    if not partner_id:
        raise click.ClickException("set ETA_PARTNER_ID (our id in the trust list) first")
    feed_signer()  # outside production, the first feed key is made here
    now = utcnow()
    window = {
        "not_before": int(now.timestamp()),
        "not_after": int((now + timedelta(days=valid_days)).timestamp()),
    }
    keys = [
        {"jwk": jwk, "purpose": "token_signing", **window}
        for jwk in authorisations.public_jwks()["keys"]
    ] + [
        {"jwk": jwk, "purpose": "feed_signing", **window}
        for jwk in feed_keyring().public_jwks()["keys"]
    ]
    base = str(current_app.config["ETA_PUBLIC_URL"]).rstrip("/")
    document = {
        "id": partner_id,
        "country": country.strip().upper(),
        "status": "active",
        "roles": ["authorisation_issuer", "sltd_publisher", "audit_witness"],
        "issuer": authorisations.issuer(),
        "endpoints": {
            "jwks": f"{base}/.well-known/jwks.json",
            "revocations": f"{base}/api/v1/revocations",
            "audit_checkpoint": f"{base}/api/v1/audit/checkpoint",
            "audit_key": f"{base}/api/v1/audit/key",
            "audit_consistency": f"{base}/api/v1/audit/consistency",
        },
        "keys": keys,
    }
    click.echo(json.dumps(document, indent=2))


def _trust_list_in_use(what: str, now: datetime) -> TrustList:
    """The trust list a partner's `what` is checked against; a clear error if none or stale."""
    from eta.partners.current import stored_trust_list

    trust_list = stored_trust_list()
    if trust_list is None:
        raise click.ClickException("no trust list in use: run `eta trust import` first")
    if trust_list.stale(now):
        raise click.ClickException(
            f"{what} refused (stale trust list): the list in use was due to be replaced at "
            f"{trust_list.next_update.isoformat()}; import a newer one first"
        )
    return trust_list


@click.group("partner")
def partner_group() -> None:
    """Partner agencies: the lost/stolen feed we share and the ones we import."""


@partner_group.group("feed")
def feed_group() -> None:
    """Hashed lost/stolen feeds (eta-sltd-batch+jwt): keys, export, import."""


@feed_group.group("key")
def feed_key_group() -> None:
    """The feeds' epoch keys: ours (rotate, hand over) and partners' (take in)."""


@feed_key_group.command("rotate")
@with_appcontext
def feed_key_rotate() -> None:
    """Make our next epoch key; the next export is a snapshot under it.

    Hand it to every partner (`eta partner feed key export`) before that export.
    """
    from eta.partners.current import feed_keys

    key = feed_keys().rotate(utcnow())
    click.echo(
        f"Epoch {key.epoch} (key check {key.check}) is our feed's key now. Hand it to each "
        f"partner: eta partner feed key export {key.epoch} --out FILE"
    )


@feed_key_group.command("list")
@with_appcontext
def feed_key_list() -> None:
    """Our epochs and the partners' we hold (check values only, never the keys)."""
    from eta.partners.current import feed_keys

    store = feed_keys()
    click.echo(f"{'feed':<24}  {'epoch':>5}  key check")
    current = store.current()
    for key in store.own():
        mark = "  (current)" if current is not None and key.epoch == current.epoch else ""
        click.echo(f"{'ours':<24}  {key.epoch:>5}  {key.check}{mark}")
    for key in store.partner_keys():
        click.echo(f"{key.partner_id:<24}  {key.epoch:>5}  {key.check}")


@feed_key_group.command("export")
@click.argument("epoch", type=click.IntRange(min=1))
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The file to write (mode 0600; never overwritten).")  # fmt: skip
@with_appcontext
def feed_key_export(epoch: int, out: Path) -> None:
    """Write our key of EPOCH for a partner, to hand over by a channel as safe as the anchor's."""
    from eta.partners.current import feed_keys
    from eta.partners.feedkeys import FeedKeyError, encode_key

    try:
        key = feed_keys().own_epoch(epoch)
    except FeedKeyError as error:
        raise click.ClickException(str(error)) from None
    try:
        descriptor = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise click.ClickException(f"{out} exists: a key file is never overwritten") from None
    with os.fdopen(descriptor, "w") as handle:
        handle.write(encode_key(key.epoch, key.key) + "\n")
    click.echo(f"Wrote epoch {key.epoch} (key check {key.check}) to {out}.")


@feed_key_group.command("import")
@click.argument("partner_id")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@with_appcontext
def feed_key_import(partner_id: str, file: Path) -> None:
    """Keep PARTNER_ID's epoch key from FILE (what its `eta partner feed key export` wrote)."""
    from eta.partners.current import feed_keys
    from eta.partners.feedkeys import FeedKeyError, decode_key

    try:
        epoch, key = decode_key(file.read_text())
        held = feed_keys().add_partner_key(partner_id, epoch, key)
    except FeedKeyError as error:
        raise click.ClickException(str(error)) from None
    click.echo(
        f"Holding {partner_id}'s epoch {held.epoch} (key check {held.check}); "
        "compare the check with the partner's by phone or another channel."
    )


def _progress(label: str) -> Any:
    def show(done: int, total: int) -> None:
        click.echo(f"\r{label}: {done:,} of {total:,}", nl=False, err=True)
        if done >= total:
            click.echo("", err=True)

    return show


@feed_group.command("export")
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Where to write the batch (a compact JWS).")  # fmt: skip
@click.option("--snapshot", is_flag=True, help="Everything we list, not only what changed.")
@click.option("--valid-days", default=7, show_default=True, type=click.IntRange(1, 90),
              help="How long the batch may be imported.")  # fmt: skip
@with_appcontext
def feed_export(out: Path, snapshot: bool, valid_days: int) -> None:
    """Sign the next batch of our lost/stolen feed (a delta, or --snapshot) into OUT."""
    from eta.extensions import db
    from eta.partners.current import feed_keys, feed_signer, own_partner_id
    from eta.partners.feed import FeedError
    from eta.partners.feeds import export_batch

    own = own_partner_id()
    if not own:
        raise click.ClickException("set ETA_PARTNER_ID (our id in the trust list) first")
    now = utcnow()

    def write(token: str) -> None:
        _replace(out, token + "\n")

    try:
        published = export_batch(
            db.session,
            own_id=own,
            keys=feed_keys(),
            signer=feed_signer(),
            now=now,
            expires_at=now + timedelta(days=valid_days),
            snapshot=snapshot,
            write=write,
            actor="operator",
            progress=_progress("Hashing lost/stolen documents"),
        )
    except FeedError as error:
        raise click.ClickException(f"not exported ({error.detail}): {error}") from None
    click.echo(
        f"Batch {published.sequence} of {own} ({published.kind}, epoch {published.epoch}): "
        f"{published.added:,} added, {published.deleted:,} deleted, {published.total:,} "
        f"listed; written to {out}"
    )


@feed_group.command("import")
@click.argument("batches", nargs=-1, required=True,
                type=click.Path(exists=True, dir_okay=False, path_type=Path))  # fmt: skip
@with_appcontext
def feed_import(batches: tuple[Path, ...]) -> None:
    """Check each batch against the trust list in use and apply it, in the order given.

    Idempotent: the batch applied last, given again, changes nothing. A tampered, replayed or
    stale batch is refused, saying why, and the ones after it are not applied.
    """
    from eta.extensions import db
    from eta.partners.current import feed_keys, own_partner_id
    from eta.partners.feed import FeedError, read_feed_batch
    from eta.partners.feeds import apply_batch

    now = utcnow()
    trust_list = _trust_list_in_use("feed", now)
    changed = False
    for path in batches:
        try:
            batch = read_feed_batch(path.read_text(), trust_list, now=now)
            applied = apply_batch(
                db.session,
                batch,
                keys=feed_keys(),
                own_id=own_partner_id(),
                actor="operator",
                now=now,
                progress=_progress(f"Applying {path.name}"),
            )
        except FeedError as error:
            raise click.ClickException(
                f"{path.name}: feed refused ({error.detail}): {error}"
            ) from None
        if applied.already:
            click.echo(
                f"{path.name}: batch {applied.sequence} of {applied.partner_id} is already "
                f"applied; nothing changed ({applied.total:,} listed)"
            )
            continue
        changed = True
        forgotten = (
            f"; keys of epochs {', '.join(map(str, applied.forgotten_epochs))} dropped"
            if applied.forgotten_epochs
            else ""
        )
        click.echo(
            f"{path.name}: batch {applied.sequence} of {applied.partner_id} applied "
            f"({applied.kind}): {applied.added:,} added, {applied.deleted:,} deleted, "
            f"{applied.total:,} listed{forgotten}"
        )
    if changed:
        click.echo("Run `eta rescreen` to check valid authorisations against the new entries.")


@partner_group.group("revocations")
def revocations_group() -> None:
    """Partners' signed revocation lists: their revoked tokens refused at our carriers."""


def _is_url(source: str) -> bool:
    return source.startswith(("http://", "https://"))


def _fetch(url: str) -> str:
    """The text at an http(s) URL (never file: or another scheme), within a size limit."""
    if not _is_url(url):
        raise click.ClickException(f"{url}: not an http(s) URL")
    # http(s) only, checked above: never file: or another scheme.
    request = urllib.request.Request(url, headers={"Accept": "application/jwt"})  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=FETCH_TIMEOUT_SECONDS) as answer:  # noqa: S310
            data = answer.read(MAX_LIST_BYTES + 1)
    except (urllib.error.URLError, OSError) as error:
        raise click.ClickException(f"{url}: cannot fetch the list ({error})") from None
    if len(data) > MAX_LIST_BYTES:
        raise click.ClickException(f"{url}: more than {MAX_LIST_BYTES:,} bytes, not a list")
    try:
        return str(data.decode("ascii"))
    except UnicodeDecodeError:
        raise click.ClickException(f"{url}: not a compact JWS (ASCII)") from None


def _import_lists(sources: list[tuple[str, str]]) -> None:
    """Check each (label, JWS text) against the trust list in use and import it, in order."""
    from eta.extensions import db
    from eta.partners.current import own_partner_id
    from eta.partners.revocations import PartnerRevocationError, import_list, read_partner_list

    now = utcnow()
    trust_list = _trust_list_in_use("revocation list", now)
    max_age = timedelta(seconds=int(current_app.config["ETA_PARTNER_REVOCATIONS_MAX_AGE_SECONDS"]))
    for label, text in sources:
        try:
            checked = read_partner_list(
                text, trust_list, now=now, max_age=max_age, own_id=own_partner_id()
            )
            imported = import_list(db.session, checked, actor="operator", now=now)
        except PartnerRevocationError as error:
            raise click.ClickException(
                f"{label}: revocation list refused ({error.detail}): {error}"
            ) from None
        if imported.already:
            click.echo(
                f"{label}: version {imported.version} of {imported.partner_id}'s revocation "
                f"list is already imported; entries unchanged ({imported.listed:,} revoked), "
                "signature time refreshed"
            )
            continue
        click.echo(
            f"{label}: version {imported.version} of {imported.partner_id}'s revocation list "
            f"imported: {imported.listed:,} revoked ({imported.added:,} added, "
            f"{imported.removed:,} removed); our carriers refuse those tokens now"
        )


@revocations_group.command("import")
@click.argument("sources", nargs=-1, required=True)
@with_appcontext
def revocations_import(sources: tuple[str, ...]) -> None:
    """Check each partner's list (FILE or http(s) URL) against the trust list and import it.

    The partner is the one whose token signing key signed the list. A tampered, replayed,
    stale or conflicting list is refused, saying why, and the ones after it are not imported.
    """
    texts: list[tuple[str, str]] = []
    for source in sources:
        if _is_url(source):
            texts.append((source, _fetch(source)))
            continue
        path = Path(source)
        if not path.is_file():
            raise click.ClickException(f"{source}: no such file (or give an http(s) URL)")
        try:
            texts.append((path.name, path.read_text("ascii")))
        except UnicodeDecodeError:
            raise click.ClickException(f"{source}: not a compact JWS (ASCII)") from None
    _import_lists(texts)


@revocations_group.command("fetch")
@click.argument("partner_ids", nargs=-1)
@with_appcontext
def revocations_fetch(partner_ids: tuple[str, ...]) -> None:
    """Fetch and import each partner's list from the endpoint the trust list names for it.

    Without PARTNER_IDS, every active partner that issues authorisations. Run it from cron
    (every few minutes): a partner's revocation counts here once its list is imported.
    """
    from eta.partners.current import own_partner_id, stored_trust_list

    trust_list = stored_trust_list()
    if trust_list is None:
        raise click.ClickException("no trust list in use: run `eta trust import` first")
    own = own_partner_id()
    wanted = [
        partner
        for partner in trust_list.partners
        if partner.id != own
        and (partner.id in partner_ids if partner_ids else (
            partner.status == "active" and "authorisation_issuer" in partner.roles
        ))
    ]  # fmt: skip
    unknown = sorted(set(partner_ids) - {partner.id for partner in wanted})
    if unknown:
        raise click.ClickException(f"not a partner in the trust list: {', '.join(unknown)}")
    texts: list[tuple[str, str]] = []
    for partner in wanted:
        url = partner.endpoints.get("revocations")
        if not url:
            raise click.ClickException(
                f"the trust list names no revocations endpoint for {partner.id}"
            )
        texts.append((partner.id, _fetch(url)))
    if not texts:
        click.echo("No partner issues authorisations in the trust list: nothing to fetch.")
        return
    _import_lists(texts)


@revocations_group.command("list")
@with_appcontext
def revocations_list() -> None:
    """The partners' lists held here: version, when signed, how many revoked; stale ones marked."""
    from eta.extensions import db
    from eta.partners.revocations import held_lists

    now = utcnow()
    max_age = timedelta(seconds=int(current_app.config["ETA_PARTNER_REVOCATIONS_MAX_AGE_SECONDS"]))
    click.echo(f"{'partner':<24}  {'version':>7}  {'signed at':<25}  {'revoked':>8}")
    for held in held_lists(db.session):
        mark = "  (stale: fetch a new one)" if now - held.issued_at > max_age else ""
        click.echo(
            f"{held.partner_id:<24}  {held.version:>7}  {held.issued_at.isoformat():<25}  "
            f"{held.entry_count:>8,}{mark}"
        )


COMMANDS = (trust_group, partner_group)
