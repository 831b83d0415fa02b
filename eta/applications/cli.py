"""`eta retention ...`: the retention limit on personal data, run by hand."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from eta.extensions import db


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


COMMANDS = (retention_group,)
