"""`eta keys pdf-certificate`: a self-signed development chain that signs the authorisation PDF."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from eta.issuance.pdfsign import (
    PdfSigningError,
    development_paths,
    load_identity,
    make_development_chain,
)


@click.command("pdf-certificate")
@click.option("--force", is_flag=True, help="Replace a chain that is still usable.")
@click.option(
    "--days",
    type=click.IntRange(1, 3650),
    default=730,
    show_default=True,
    help="How long the signing certificate is valid.",
)
@with_appcontext
def pdf_certificate_command(force: bool, days: int) -> None:
    """Make a development root CA and a PDF signing certificate in ETA_KEYS_DIR/pdf.

    Idempotent: a chain that is still valid is kept (--force replaces it). Refused in
    production, where the agency's own certificate signs (ETA_PDF_SIGNING_CERT).
    """
    config = current_app.config
    if config["ETA_ENV"] == "production":
        click.echo(
            "eta: refused with ETA_ENV=production: set ETA_PDF_SIGNING_CERT, "
            "ETA_PDF_SIGNING_KEY and ETA_PDF_SIGNING_CHAIN to the agency's certificate",
            err=True,
        )
        sys.exit(2)
    directory = Path(str(config["ETA_PDF_DEVELOPMENT_DIR"]))
    organisation = str(config["ETA_PDF_SIGNING_ORGANISATION"] or config["ETA_SERVICE_NAME"])
    paths = development_paths(directory)
    if not force and paths.certificate.is_file():
        try:
            identity = load_identity(paths.certificate, paths.key, paths.chain)
        except PdfSigningError as error:
            click.echo(f"Replacing the development chain: {error}.")
        else:
            if identity.organisation == organisation:
                click.echo(
                    f"PDF signing certificate for {organisation} kept (valid until "
                    f"{identity.not_valid_after:%Y-%m-%d}); root CA: {paths.root}"
                )
                return
    paths = make_development_chain(directory, organisation, days=days)
    click.echo(f"PDF signing certificate for {organisation} made in {directory}.")
    click.echo(
        f"Trust this development root CA in a PDF reader to see signatures as valid: {paths.root}"
    )
    if Path(str(config["ETA_PDF_SIGNING_CERT"])) != paths.certificate:
        click.echo(
            "ETA_PDF_SIGNING_CERT points elsewhere; to sign with this chain set "
            f"ETA_PDF_SIGNING_CERT={paths.certificate} ETA_PDF_SIGNING_KEY={paths.key} "
            f"ETA_PDF_SIGNING_CHAIN={paths.chain}"
        )
