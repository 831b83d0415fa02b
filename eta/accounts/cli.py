"""`eta officer ...`: officer accounts (carrier accounts are under `eta carrier`)."""

from __future__ import annotations

import sys

import click
from flask import current_app
from flask.cli import with_appcontext

from eta.extensions import db


@click.group("officer")
def officer_group() -> None:
    """Officer accounts."""


@officer_group.command("create")
@click.argument("email")
@click.option("--role", type=click.Choice(["officer", "supervisor", "admin"]), default="officer")
@with_appcontext
def officer_create(email: str, role: str) -> None:
    """Create an officer; the password is read from standard input."""
    from eta.accounts import AccountError, create_officer

    password = sys.stdin.readline().rstrip("\r\n")
    try:
        created = create_officer(
            db.session, email, password, role, issuer=current_app.config["ETA_SERVICE_NAME"]
        )
    except AccountError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"Officer {created.officer.email} created with role {role}.")
    click.echo(f"TOTP secret: {created.totp_secret}")
    click.echo(f"otpauth URI: {created.otpauth_uri}")


COMMANDS = (officer_group,)
