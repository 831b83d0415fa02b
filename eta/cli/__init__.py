"""The `eta` command line: a Flask CLI group bound to create_app (SPEC §3)."""

from __future__ import annotations

import sys

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, ScriptInfo, with_appcontext

from eta.extensions import db, redis_client

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


@click.command("worker")
@click.option("--burst", is_flag=True, help="Stop when the queues are empty.")
@click.option(
    "--queues", "queues", multiple=True, help="Queues to work (repeatable); default: all of them."
)
@with_appcontext
def worker_command(burst: bool, queues: tuple[str, ...]) -> None:
    """Run an RQ worker (with the scheduler) on eta's queues."""
    from eta.tasks import ALL_QUEUES
    from workers.runner import run_worker

    names: list[str] = []
    for item in queues:
        names.extend(part for part in item.replace(",", " ").split() if part)
    unknown = [name for name in names if name not in ALL_QUEUES]
    if unknown:
        raise click.BadParameter(f"unknown queue(s): {', '.join(unknown)}", param_hint="--queues")
    run_worker(redis_client.client, names or ALL_QUEUES, burst=burst)


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


@click.group("outbox")
def outbox_group() -> None:
    """The outbox: jobs and emails waiting to reach the queues."""


@outbox_group.command("status")
@with_appcontext
def outbox_status() -> None:
    """Print rows not done, not yet sent, failing, and the age of the oldest (exit 1 if failing)."""
    from eta import outbox

    figures = outbox.status(db.session)
    for name, value in figures.items():
        click.echo(f"{name}: {value}")
    sys.exit(1 if figures["failing"] else 0)


@outbox_group.command("relay")
@with_appcontext
def outbox_relay() -> None:
    """Push every due row to the queues now (the workers do this every few seconds)."""
    from eta import outbox

    click.echo(f"pushed: {outbox.relay(db.session, redis_client.client)}")


@click.group("retention")
def retention_group() -> None:
    """The retention limit on personal data (ETA_RETENTION_DAYS)."""


@retention_group.command("run")
@click.option("--dry-run", is_flag=True, help="Count what is due; erase nothing.")
@with_appcontext
def retention_run(dry_run: bool) -> None:
    """Erase the personal data of applications past their retention limit, now.

    What the daily maintenance job does, without its time limit; prints the counts.
    """
    from eta.applications.retention import count_due, erase_due

    if dry_run:
        due = count_due(db.session)
        click.echo(
            f"Would erase {due.applications} application(s) and delete "
            f"{due.carrier_queries} carrier query log row(s)."
        )
        return
    done = erase_due(db.session, actor="operator")
    click.echo(
        f"Erased {done.applications} application(s) and deleted "
        f"{done.carrier_queries} carrier query log row(s)."
    )


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


def init_app(app: Flask) -> None:
    """Attach eta's commands to the app's CLI."""
    from eta.audit.cli import audit_group
    from eta.carrier.cli import register as register_carrier_commands
    from eta.carrier.cli import vectors_group
    from eta.partners.cli import partner_group, trust_group

    register_carrier_commands(carrier_group)
    for command in (
        vectors_group,
        trust_group,
        partner_group,
        worker_command,
        officer_group,
        carrier_group,
        audit_group,
        outbox_group,
        retention_group,
        demo_command,
    ):
        app.cli.add_command(command)

    from eta.authorisations.cli import COMMANDS as issuance_commands

    for command in issuance_commands:
        app.cli.add_command(command)

    from eta.screening.cli import COMMANDS as screening_commands

    for command in screening_commands:
        app.cli.add_command(command)


def run() -> None:
    """Console entry point: run the CLI, reporting a configuration error in one line."""
    from config import ConfigurationError

    try:
        main(standalone_mode=True)
    except ConfigurationError as error:
        click.echo(f"eta: configuration error: {error}", err=True)
        sys.exit(2)
