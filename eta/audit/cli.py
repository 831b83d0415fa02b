"""`eta audit ...`: check the whole log, prove an event's inclusion, check such a proof offline."""

from __future__ import annotations

import base64
import binascii
import json
import sys
from typing import Any

import click
from flask import current_app
from flask.cli import with_appcontext

from eta.audit import checkpoints, proofs, tree
from eta.audit.verify import verify_configured
from eta.extensions import db


@click.group("audit")
def audit_group() -> None:
    """The audit log: a Merkle tree log with signed checkpoints."""


@audit_group.command("verify")
@with_appcontext
def audit_verify() -> None:
    """Recompute every leaf, rebuild the tree, check every checkpoint; exit 1 naming a problem."""
    report = verify_configured(db.session, current_app.config)
    if report.finding is not None:
        click.echo(f"Audit log broken at {report.finding}.", err=True)
        sys.exit(1)
    waiting = report.events - report.sequenced
    click.echo(
        f"Audit log intact: {report.events} events ({report.sequenced} in the tree, "
        f"{waiting} waiting for the sequencer), {report.checkpoints} checkpoints verified."
    )


@audit_group.command("prove")
@click.argument("event_id", type=click.IntRange(min=1, max=2**63 - 1))
@with_appcontext
def audit_prove(event_id: int) -> None:
    """Print, as JSON, an inclusion proof of EVENT_ID against the latest signed checkpoint."""
    try:
        found = proofs.inclusion(db.session, event_id)
    except (LookupError, tree.ProofError) as error:
        raise click.ClickException(str(error)) from None
    document = {
        "event_id": found.event_id,
        "body": found.body,
        "leaf_index": found.index,
        "tree_size": found.tree_size,
        "inclusion_proof": [base64.b64encode(node).decode() for node in found.proof],
        "checkpoint": found.checkpoint,
    }
    click.echo(json.dumps(document, indent=2))


def _field(document: dict[str, Any], name: str, kind: type) -> Any:
    value = document.get(name)
    if not isinstance(value, kind) or isinstance(value, bool):
        raise click.ClickException(f"the proof's {name!r} is missing or not a {kind.__name__}")
    return value


@audit_group.command("verify-proof")
@click.argument("proof_file", type=click.File("r"))
@click.option(
    "--key",
    "key_text",
    required=True,
    help="The log's verifier key (as GET /api/v1/audit/key gives it), or @FILE to read it.",
)
def audit_verify_proof(proof_file: Any, key_text: str) -> None:
    """Check a proof from `eta audit prove` offline, with only the log's public key; exit 1 if not.

    PROOF_FILE is the JSON document (`-` for standard input).
    """
    if key_text.startswith("@"):
        with open(key_text[1:], encoding="utf-8") as handle:
            key_text = handle.read()
    try:
        verifier = checkpoints.parse_verifier_key(key_text)
        document = json.load(proof_file)
        if not isinstance(document, dict):
            raise click.ClickException("the proof is not a JSON object")
        note = _field(document, "checkpoint", str)
        text, _ = checkpoints.open_note(note, [verifier])
        signed = checkpoints.parse_checkpoint(text)
        body = _field(document, "body", str)
        index = _field(document, "leaf_index", int)
        path = [base64.b64decode(node, validate=True) for node in document["inclusion_proof"]]
    except (checkpoints.NoteError, ValueError, KeyError, TypeError, binascii.Error) as error:
        click.echo(f"Proof not valid: {error}", err=True)
        sys.exit(1)
    if _field(document, "tree_size", int) != signed.size:
        click.echo("Proof not valid: its tree size is not the checkpoint's.", err=True)
        sys.exit(1)
    leaf = tree.leaf_hash(body.encode())
    if not tree.verify_inclusion(leaf, index, signed.size, path, signed.root):
        click.echo("Proof not valid: the event is not in the signed tree.", err=True)
        sys.exit(1)
    click.echo(
        f"Proof valid: the event is leaf {index} of the tree of {signed.size} events "
        f"signed by {verifier.name}."
    )


COMMANDS = (audit_group,)
