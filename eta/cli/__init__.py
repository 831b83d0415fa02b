"""The `eta` command line: a Flask CLI group bound to create_app (SPEC §3)."""

from __future__ import annotations

import importlib
import sys

import click
from flask import Flask
from flask.cli import FlaskGroup, ScriptInfo

# ScriptInfo.data key: the name of the command being run, known before the app is built.
_COMMAND_KEY = "eta.command"


def _create_app() -> Flask:
    from eta import create_app

    context = click.get_current_context(silent=True)
    info = context.find_object(ScriptInfo) if context is not None else None
    if info is not None and info.data.get(_COMMAND_KEY) == "worker":
        # A worker holds its pooled connections for its whole life and uses one per job: no
        # ping before each (a round trip a job). A connection the server dropped fails that
        # job, which RQ retries, and SQLAlchemy discards the pool's other connections with it.
        return create_app({"ETA_DATABASE_PRE_PING": False})
    return create_app()


class _EtaGroup(FlaskGroup):
    """FlaskGroup that notes which command runs before the app is built for it."""

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        """Look up a command, noting its name for `_create_app` first."""
        ctx.ensure_object(ScriptInfo).data.setdefault(_COMMAND_KEY, name)
        return super().get_command(ctx, name)


@click.group(cls=_EtaGroup, create_app=_create_app, add_default_commands=True)
def main() -> None:
    """eta: Electronic Travel Authorisation."""


# Each domain package lists its own commands in the COMMANDS of its `cli` module.
COMMAND_MODULES = (
    "eta.accounts.cli",
    "eta.applications.cli",
    "eta.audit.cli",
    "eta.authorisations.cli",
    "eta.carrier.cli",
    "eta.chip.cli",
    "eta.cli.queues",
    "eta.dev.cli",
    "eta.partners.cli",
    "eta.screening.cli",
)


def init_app(app: Flask) -> None:
    """Attach every package's commands to the app's CLI."""
    for name in COMMAND_MODULES:
        for command in importlib.import_module(name).COMMANDS:
            app.cli.add_command(command)


def run() -> None:
    """Console entry point: run the CLI, reporting a configuration error in one line."""
    from config import ConfigurationError

    try:
        main(standalone_mode=True)
    except ConfigurationError as error:
        click.echo(f"eta: configuration error: {error}", err=True)
        sys.exit(2)
