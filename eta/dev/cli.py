"""`eta demo`: demo data for a development machine (refused in production)."""

from __future__ import annotations

import sys

import click
from flask.cli import with_appcontext

from eta.extensions import db


@click.command("demo")
@with_appcontext
def demo_command() -> None:
    """Load demo data (idempotent) and print the demo credentials."""
    from eta.dev.demo import DemoRefused, load_demo

    try:
        lines = load_demo(db.session)
    except DemoRefused as refused:
        click.echo(f"eta: {refused}", err=True)
        sys.exit(2)
    for line in lines:
        click.echo(line)


COMMANDS = (demo_command,)
