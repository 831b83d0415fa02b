"""`eta worker` and `eta outbox ...`: the plumbing between the database and the RQ queues.

The one place in `eta/` that imports `workers/`: the CLI composes the job bodies into a worker.
"""

from __future__ import annotations

import sys

import click
from flask.cli import with_appcontext

from eta.extensions import db, redis_client


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


COMMANDS = (worker_command, outbox_group)
