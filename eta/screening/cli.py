"""Screening commands: `eta watchlist import|screen`, `eta lost-stolen import`, `eta rescreen`."""

from __future__ import annotations

import csv
import sys
from collections.abc import Callable
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from eta.extensions import db
from eta.screening.types import Subject

OUTPUT_COLUMNS = ("id", "hit", "score", "entry_id", "source", "explanation", "error")


def _progress(label: str) -> Callable[[int], None]:
    def show(count: int) -> None:
        click.echo(f"\r{label}: {count:,} entries", nl=False, err=True)

    return show


@click.group("watchlist")
def watchlist_group() -> None:
    """Watchlists: import lists, bulk-screen people."""


@watchlist_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["un-xml", "ofac-csv", "csv"]), required=True)
@click.option("--source", required=True, help="The list's name, e.g. UN, OFAC, NATIONAL.")
@with_appcontext
def watchlist_import(file: Path, fmt: str, source: str) -> None:
    """Import FILE as a new version of a source, replacing the old one atomically."""
    from eta.screening.lists.importers import ImportFormatError
    from eta.screening.lists.store import WatchlistError, import_watchlist

    try:
        version = import_watchlist(
            db.session,
            source=source,
            fmt=fmt,
            path=file,
            actor="operator",
            progress=_progress(f"Importing {source}"),
        )
    except (ImportFormatError, WatchlistError) as error:
        click.echo("", err=True)
        raise click.ClickException(f"{file.name}: {error}") from None
    click.echo("", err=True)
    click.echo(
        f"Imported {version.entry_count:,} entries from {file.name} as {source} version "
        f"{version.number} (now active)."
    )


class BadRow(ValueError):
    """A person's row that cannot be screened; the message says why, in the output's words."""


def _subject_from_row(row: dict[str, str]) -> Subject:
    from eta.countries import to_alpha3
    from eta.screening.lists.importers import parse_date_of_birth

    name = (row.get("full_name") or "").strip()
    if not name:
        raise BadRow("full_name is empty")
    subject = Subject(full_name=name)
    if dob := (row.get("date_of_birth") or "").strip():
        try:
            subject.birth_date = parse_date_of_birth(dob)
        except ValueError as error:
            raise BadRow(str(error)) from None
    if nationality := (row.get("nationality") or "").strip():
        code = to_alpha3(nationality)
        if code is None:
            raise BadRow(f"unknown nationality {nationality!r}")
        subject.nationality = code
    if sex := (row.get("sex") or "").strip().upper():
        subject.sex = sex
    return subject


@watchlist_group.command("screen")
@click.argument("input_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("output_file", type=click.Path(dir_okay=False, writable=True, path_type=Path))
@click.option("--threshold", type=float, default=None, help="Default: ETA_MATCH_THRESHOLD.")
@with_appcontext
def watchlist_screen(input_file: Path, output_file: Path, threshold: float | None) -> None:
    """Screen every person of INPUT_FILE against the active lists; write OUTPUT_FILE.

    Input columns: id,full_name,date_of_birth,nationality,sex (all but id and full_name
    optional). Output: one row per person, id,hit,score,entry_id,source,explanation,error, with
    the best match (entry_id is the list's own identifier of the entry). A row that cannot be
    screened (an impossible date, say) gets its line and reason in `error`, and the rest go on;
    the exit status is 1 only when no row could be screened.
    """
    from eta.screening.lists.store import active_watchlists
    from eta.screening.service import watchlist_findings

    limit = threshold if threshold is not None else current_app.config["ETA_MATCH_THRESHOLD"]
    loaded = active_watchlists(db.session)
    screened = hits = failed = 0
    with (
        open(input_file, encoding="utf-8-sig", newline="") as source,
        open(output_file, "w", encoding="utf-8", newline="") as target,
    ):
        reader = csv.DictReader(source)
        header = [h.strip() for h in reader.fieldnames or []]
        missing = [c for c in ("id", "full_name") if c not in header]
        if missing:
            raise click.ClickException(f"{input_file.name}: header lacks {', '.join(missing)}")
        reader.fieldnames = header
        writer = csv.writer(target)
        writer.writerow(OUTPUT_COLUMNS)
        for row in reader:
            try:
                subject = _subject_from_row(row)
            except BadRow as error:
                failed += 1
                writer.writerow((row["id"], "", "", "", "", "", f"line {reader.line_num}: {error}"))
                continue
            findings = watchlist_findings(subject, loaded, limit)
            screened += 1
            if findings:
                hits += 1
                best = findings[0]
                writer.writerow(
                    (
                        row["id"],
                        "true",
                        f"{best.score:.4f}",
                        best.details["key"],
                        best.details["source"],
                        best.explanation,
                        "",
                    )
                )
            else:
                writer.writerow((row["id"], "false", "", "", "", "", ""))
            if screened % 1000 == 0:
                click.echo(f"\rScreened {screened:,}", nl=False, err=True)
    versions = ", ".join(f"{name} v{number}" for name, number in sorted(loaded.versions.items()))
    click.echo(f"Screened {screened:,} people against {versions or 'no lists'}: {hits:,} hits.")
    if failed:
        click.echo(f"{failed:,} row(s) could not be screened: see the error column.", err=True)
    if failed and not screened:
        sys.exit(1)


@click.group("lost-stolen")
def lost_stolen_group() -> None:
    """Lost and stolen travel documents."""


@lost_stolen_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--source", default="NATIONAL", show_default=True, help="Who reported them.")
@with_appcontext
def lost_stolen_import(file: Path, source: str) -> None:
    """Add the documents of FILE (CSV: country,number[,reported_on,reference])."""
    from eta.screening.lists.importers import ImportFormatError
    from eta.screening.lists.store import import_lost_stolen

    try:
        added, known = import_lost_stolen(
            db.session,
            file,
            source=source,
            actor="operator",
            progress=_progress("Importing lost/stolen"),
        )
    except ImportFormatError as error:
        raise click.ClickException(f"{file.name}: {error}") from None
    click.echo(f"Added {added:,} documents ({known:,} already listed).")


@click.command("rescreen")
@with_appcontext
def rescreen_command() -> None:
    """Queue a re-screen of every valid authorisation against the current lists."""
    from eta.authorisations.rescreen import queue_rescreens

    count = queue_rescreens(db.session)
    click.echo(f"Queued {count:,} re-screens; a worker flags any new hit for an officer.")


COMMANDS = (watchlist_group, lost_stolen_group, rescreen_command)
