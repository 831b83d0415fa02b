"""Chip commands: `eta chip import-csca FILE`, `eta chip list-csca`."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from eta.extensions import db


@click.group("chip")
def chip_group() -> None:
    """The passport chip: the CSCA certificates passive authentication trusts."""


@chip_group.command("import-csca")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@with_appcontext
def import_csca(file: Path) -> None:
    """Import FILE's CSCA certificates: a PEM bundle, a DER certificate or an ICAO master list."""
    from eta.chip.csca import CscaFileError, import_certificates, read_file

    try:
        read = read_file(file.read_bytes())
        imported = import_certificates(db.session, read, file.name)
    except CscaFileError as error:
        db.session.rollback()
        raise click.ClickException(f"{file.name}: {error}") from None
    db.session.commit()
    signed = f", signed by {read.signer}" if read.signer else ""
    click.echo(
        f"{file.name} ({read.kind}{signed}): {imported.added} CSCA certificate(s) added, "
        f"{imported.already_held} already held."
    )


@chip_group.command("list-csca")
@with_appcontext
def list_csca() -> None:
    """List the imported CSCA certificates: country, validity, subject, fingerprint."""
    from eta.models import CscaCertificate

    rows = db.session.scalars(
        select(CscaCertificate).order_by(CscaCertificate.country, CscaCertificate.not_before)
    )
    for row in rows:
        click.echo(
            f"{row.country}\t{row.not_before.date()}\t{row.not_after.date()}\t{row.subject}\t"
            f"{row.fingerprint[:16]}"
        )


COMMANDS = (chip_group,)
