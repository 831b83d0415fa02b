"""Supervisor pages: watchlist sources, imports and manual entries; risk rules with dry runs."""

from __future__ import annotations

import json
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from sqlalchemy import func, select

from eta import audit
from eta.extensions import db
from eta.models import (
    Application,
    ApplicationStatus,
    RiskRule,
    RiskRuleVersion,
    Role,
    WatchlistEntry,
    WatchlistSource,
    WatchlistVersion,
)
from eta.officer.blueprint import blueprint, me, role_required
from eta.screening.lists.importers import ImportFormatError
from eta.screening.lists.store import (
    FORMATS,
    MANUAL_FORMAT,
    WatchlistError,
    add_manual_entry,
    edit_manual_entry,
    remove_entry,
)
from eta.screening.rules import (
    AGE_BANDS,
    applicant_facts,
    describe_conditions,
    rule_matches,
    validate_conditions,
)

DEFAULT_UPLOAD_BYTES = 200 * 1024 * 1024  # the UN and OFAC lists are tens of megabytes
ENTRIES_SHOWN = 200
UNDECIDED_FOR_DRY_RUN = (ApplicationStatus.SUBMITTED, ApplicationStatus.SCREENING)


def _actor() -> str:
    return f"officer:{me().id}"


# ---- watchlists --------------------------------------------------------------------------------


@blueprint.get("/watchlists")
@role_required(Role.SUPERVISOR)
def watchlists() -> str:
    """Watchlist sources with their versions and counts."""
    sources = db.session.scalars(select(WatchlistSource).order_by(WatchlistSource.name)).all()
    versions: dict[int, list[WatchlistVersion]] = {}
    for version in db.session.scalars(
        select(WatchlistVersion).order_by(WatchlistVersion.number.desc())
    ):
        versions.setdefault(version.source_id, []).append(version)
    return render_template(
        "officer/watchlists.html",
        sources=sources,
        versions=versions,
        formats=list(FORMATS),
    )


@blueprint.post("/watchlists/import")
@role_required(Role.SUPERVISOR)
def import_list() -> ResponseReturnValue:
    """Import an uploaded list file as a new version of a source (same importer as the CLI)."""
    request.max_content_length = current_app.config.get(
        "ETA_WATCHLIST_UPLOAD_BYTES", DEFAULT_UPLOAD_BYTES
    )
    upload = request.files.get("file")
    fmt = request.form.get("format", "")
    source = request.form.get("source", "").strip()
    if upload is None or not upload.filename or fmt not in FORMATS or not source:
        flash(_("Choose a file, its format and the name of the list."), "error")
        return redirect(url_for("officer.watchlists"))
    from eta.screening.lists.store import import_watchlist

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / Path(upload.filename).name
        upload.save(path)
        try:
            version = import_watchlist(
                db.session, source=source, fmt=fmt, path=path, actor=_actor()
            )
        except (ImportFormatError, WatchlistError) as error:
            flash(_("The list was not imported: %(error)s", error=str(error)), "error")
            return redirect(url_for("officer.watchlists"))
    flash(
        _(
            "Imported %(count)d entries as %(source)s version %(number)d.",
            count=version.entry_count,
            source=source,
            number=version.number,
        ),
        "success",
    )
    return redirect(url_for("officer.watchlists"))


@blueprint.get("/watchlists/<int:source_id>")
@role_required(Role.SUPERVISOR)
def watchlist(source_id: int) -> str:
    """A source's active entries (searchable), with edit and remove for manual lists."""
    source = db.session.get(WatchlistSource, source_id)
    if source is None:
        abort(404)
    query = request.args.get("q", "").strip()
    entries: list[WatchlistEntry] = []
    if source.active_version_id is not None:
        stmt = select(WatchlistEntry).where(WatchlistEntry.version_id == source.active_version_id)
        if query:
            stmt = stmt.where(WatchlistEntry.primary_name.ilike(f"%{query}%"))
        entries = list(db.session.scalars(stmt.order_by(WatchlistEntry.id).limit(ENTRIES_SHOWN)))
    version = (
        db.session.get(WatchlistVersion, source.active_version_id)
        if source.active_version_id
        else None
    )
    return render_template(
        "officer/watchlist.html",
        source=source,
        version=version,
        entries=entries,
        query=query,
        manual=source.format == MANUAL_FORMAT,
    )


def _person_form() -> dict[str, Any]:
    return {
        "full_name": request.form.get("full_name", ""),
        "date_of_birth": request.form.get("date_of_birth") or None,
        "nationality": request.form.get("nationality") or None,
        "sex": request.form.get("sex") or None,
        "passport_number": request.form.get("passport_number") or None,
    }


@blueprint.post("/watchlists/manual")
@role_required(Role.SUPERVISOR)
def add_entry() -> ResponseReturnValue:
    """Add a person to a manual list (a new version of it; audited)."""
    source = request.form.get("source", "").strip() or "MANUAL"
    try:
        entry = add_manual_entry(db.session, source=source, actor=_actor(), **_person_form())
    except WatchlistError as error:
        flash(str(error), "error")
        return redirect(url_for("officer.watchlists"))
    flash(_("Added %(name)s to %(source)s.", name=entry.primary_name, source=source), "success")
    version = db.session.get(WatchlistVersion, entry.version_id)
    return redirect(url_for("officer.watchlist", source_id=version.source_id if version else 0))


def _manual_entry_source(entry_id: int) -> WatchlistSource:
    entry = db.session.get(WatchlistEntry, entry_id)
    if entry is None:
        abort(404)
    version = db.session.get(WatchlistVersion, entry.version_id)
    source = db.session.get(WatchlistSource, version.source_id) if version else None
    if source is None:
        abort(404)
    return source


@blueprint.post("/watchlists/entries/<int:entry_id>/edit")
@role_required(Role.SUPERVISOR)
def edit_entry(entry_id: int) -> ResponseReturnValue:
    """Change a manual entry (a new version of its list; audited)."""
    source = _manual_entry_source(entry_id)
    try:
        edit_manual_entry(db.session, entry_id, actor=_actor(), **_person_form())
        flash(_("Entry changed."), "success")
    except WatchlistError as error:
        flash(str(error), "error")
    return redirect(url_for("officer.watchlist", source_id=source.id))


@blueprint.post("/watchlists/entries/<int:entry_id>/remove")
@role_required(Role.SUPERVISOR)
def remove_list_entry(entry_id: int) -> ResponseReturnValue:
    """Remove an entry from its list (a new version of it; audited)."""
    source = _manual_entry_source(entry_id)
    try:
        remove_entry(db.session, entry_id, actor=_actor())
        flash(_("Entry removed."), "success")
    except WatchlistError as error:
        flash(str(error), "error")
    return redirect(url_for("officer.watchlist", source_id=source.id))


# ---- risk rules ---------------------------------------------------------------------------------


def dry_run(conditions: dict[str, Any], limit: int) -> dict[str, Any]:
    """How many of the last `limit` screened applications the conditions would have referred.

    Broken down by nationality, sex and age band, so a supervisor sees whom a rule falls on
    before enabling it.
    """
    sample = db.session.scalars(
        select(Application)
        .where(Application.status.not_in(UNDECIDED_FOR_DRY_RUN))
        .order_by(Application.created_at.desc())
        .limit(limit)
    ).all()
    totals: dict[str, Counter[str]] = {
        "nationality": Counter(),
        "sex": Counter(),
        "age_band": Counter(),
    }
    hits: dict[str, Counter[str]] = {
        "nationality": Counter(),
        "sex": Counter(),
        "age_band": Counter(),
    }
    matched = 0
    for application in sample:
        facts = applicant_facts(application)
        match = rule_matches(conditions, facts)
        matched += match
        for group in totals:
            totals[group][facts[group]] += 1
            hits[group][facts[group]] += match
    order = {"age_band": [label for _low, _high, label in AGE_BANDS]}
    breakdown = {}
    for group, counter in totals.items():
        keys = [k for k in order.get(group, sorted(counter)) if k in counter]
        breakdown[group] = [
            {
                "value": key,
                "total": counter[key],
                "matched": hits[group][key],
                "rate": hits[group][key] / counter[key],
            }
            for key in keys
        ]
    return {"matched": matched, "total": len(sample), "breakdown": breakdown}


def _parse_conditions(text: str) -> tuple[dict[str, Any] | None, list[str]]:
    try:
        conditions = json.loads(text)
    except json.JSONDecodeError as error:
        return None, [_("Conditions must be JSON: %(error)s", error=error.msg)]
    if not isinstance(conditions, dict):
        return None, [_('Conditions must be an object with a list under "all"')]
    return conditions, validate_conditions(conditions)


def _current_version(rule: RiskRule) -> RiskRuleVersion | None:
    return (
        db.session.get(RiskRuleVersion, rule.current_version_id)
        if rule.current_version_id
        else None
    )


@blueprint.get("/rules")
@role_required(Role.SUPERVISOR)
def rules() -> str:
    """Risk rules with their current version and whether they are enabled."""
    rows = []
    for rule in db.session.scalars(select(RiskRule).order_by(RiskRule.name)):
        version = _current_version(rule)
        rows.append(
            {
                "rule": rule,
                "version": version,
                "words": describe_conditions(version.conditions) if version else "",
            }
        )
    return render_template("officer/rules.html", rows=rows, errors=[], form={})


@blueprint.post("/rules")
@role_required(Role.SUPERVISOR)
def create_rule() -> ResponseReturnValue:
    """Create a rule, disabled, with its first version (dry-run it before enabling)."""
    name = request.form.get("name", "").strip()
    description = request.form.get("description", "").strip() or None
    conditions, errors = _parse_conditions(request.form.get("conditions", ""))
    if not name:
        errors.insert(0, _("Enter a name for the rule"))
    elif db.session.scalar(select(RiskRule.id).where(RiskRule.name == name)):
        errors.insert(0, _("A rule with this name already exists"))
    if errors or conditions is None:
        return render_template("officer/rules.html", rows=[], errors=errors, form=request.form), 400
    rule = RiskRule(name=name, description=description, enabled=False)
    db.session.add(rule)
    db.session.flush()
    version = RiskRuleVersion(
        rule_id=rule.id, number=1, conditions=conditions, created_by_id=me().id
    )
    db.session.add(version)
    db.session.flush()
    rule.current_version_id = version.id
    audit.record(
        db.session,
        "rule.created",
        actor=_actor(),
        object_type="risk_rule",
        object_id=rule.id,
        details={"version": 1},
    )
    db.session.commit()
    flash(_("Rule created, disabled. Check the dry run before you enable it."), "success")
    return redirect(url_for("officer.rule", rule_id=rule.id))


def _rule_or_404(rule_id: int) -> RiskRule:
    rule = db.session.get(RiskRule, rule_id)
    if rule is None:
        abort(404)
    return rule


@blueprint.get("/rules/<int:rule_id>")
@role_required(Role.SUPERVISOR)
def rule(rule_id: int, errors: list[str] | None = None, text: str | None = None) -> str:
    """A rule: its versions, an edit form, and the dry run of its current version."""
    found = _rule_or_404(rule_id)
    version = _current_version(found)
    versions = db.session.scalars(
        select(RiskRuleVersion)
        .where(RiskRuleVersion.rule_id == found.id)
        .order_by(RiskRuleVersion.number.desc())
    ).all()
    limit = int(current_app.config["ETA_RULE_DRY_RUN_SIZE"])
    return render_template(
        "officer/rule.html",
        rule=found,
        version=version,
        versions=versions,
        words=describe_conditions(version.conditions) if version else "",
        result=dry_run(version.conditions, limit) if version else None,
        errors=errors or [],
        text=text
        if text is not None
        else json.dumps(version.conditions if version else {}, indent=2),
    )


@blueprint.post("/rules/<int:rule_id>")
@role_required(Role.SUPERVISOR)
def edit_rule(rule_id: int) -> ResponseReturnValue:
    """Save changed conditions as a new version of the rule."""
    found = _rule_or_404(rule_id)
    text = request.form.get("conditions", "")
    conditions, errors = _parse_conditions(text)
    if errors or conditions is None:
        return rule(rule_id, errors=errors, text=text), 400
    number = (
        db.session.scalar(
            select(func.max(RiskRuleVersion.number)).where(RiskRuleVersion.rule_id == found.id)
        )
        or 0
    ) + 1
    version = RiskRuleVersion(
        rule_id=found.id, number=number, conditions=conditions, created_by_id=me().id
    )
    db.session.add(version)
    db.session.flush()
    found.current_version_id = version.id
    audit.record(
        db.session,
        "rule.version_created",
        actor=_actor(),
        object_type="risk_rule",
        object_id=found.id,
        details={"version": number},
    )
    db.session.commit()
    flash(_("Saved as version %(number)d.", number=number), "success")
    return redirect(url_for("officer.rule", rule_id=found.id))


@blueprint.post("/rules/<int:rule_id>/enabled")
@role_required(Role.SUPERVISOR)
def set_rule_enabled(rule_id: int) -> ResponseReturnValue:
    """Enable or disable a rule (screening uses enabled rules' current versions)."""
    found = _rule_or_404(rule_id)
    found.enabled = request.form.get("enabled") == "1"
    audit.record(
        db.session,
        "rule.enabled" if found.enabled else "rule.disabled",
        actor=_actor(),
        object_type="risk_rule",
        object_id=found.id,
    )
    db.session.commit()
    return redirect(url_for("officer.rule", rule_id=found.id))
