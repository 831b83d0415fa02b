"""Supervisor pages: watchlist sources, imports and manual entries; risk rules with dry runs."""

from __future__ import annotations

import json
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

from flask import (
    Response,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from sqlalchemy import select

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
from eta.officer.forms import (
    MAX_CONDITIONS,
    ActionForm,
    ConditionsForm,
    EnableRuleForm,
    ImportListForm,
    ListSearchForm,
    ManualEntryForm,
    PersonForm,
    RuleForm,
    valid_data,
)
from eta.screening import rulebook
from eta.screening.lists.importers import ImportFormatError
from eta.screening.lists.store import (
    FORMATS,
    MANUAL_FORMAT,
    WatchlistError,
    add_manual_entry,
    edit_manual_entry,
    remove_entry,
)
from eta.screening.rules import AGE_BANDS, applicant_facts, describe_conditions, rule_matches

DEFAULT_UPLOAD_BYTES = 200 * 1024 * 1024  # the UN and OFAC lists are tens of megabytes
ENTRIES_SHOWN = 200
UNDECIDED_FOR_DRY_RUN = (ApplicationStatus.SUBMITTED, ApplicationStatus.SCREENING)


def _actor() -> str:
    return f"officer:{me().id}"


# ---- watchlists --------------------------------------------------------------------------------


def _watchlists_page(
    upload: ImportListForm | None = None,
    manual: ManualEntryForm | None = None,
    status: int = 200,
) -> ResponseReturnValue:
    sources = db.session.scalars(select(WatchlistSource).order_by(WatchlistSource.name)).all()
    versions: dict[int, list[WatchlistVersion]] = {}
    for version in db.session.scalars(
        select(WatchlistVersion).order_by(WatchlistVersion.number.desc())
    ):
        versions.setdefault(version.source_id, []).append(version)
    upload = upload or ImportListForm(list(FORMATS), formdata=None)
    manual = manual or ManualEntryForm(formdata=None)
    return render_template(
        "officer/watchlists.html",
        sources=sources,
        versions=versions,
        upload=upload,
        manual=manual,
        errors=upload.error_list() + manual.error_list(),
    ), status


@blueprint.get("/watchlists")
@role_required(Role.SUPERVISOR)
def watchlists() -> ResponseReturnValue:
    """Watchlist sources with their versions and counts."""
    return _watchlists_page()


@blueprint.post("/watchlists/import")
@role_required(Role.SUPERVISOR)
def import_list() -> ResponseReturnValue:
    """Import an uploaded list file as a new version of a source (same importer as the CLI)."""
    request.max_content_length = current_app.config.get(
        "ETA_WATCHLIST_UPLOAD_BYTES", DEFAULT_UPLOAD_BYTES
    )
    form = ImportListForm(list(FORMATS))
    if not form.validate():
        return _watchlists_page(upload=form, status=400)
    from eta.screening.lists.store import import_watchlist

    upload = form.file.data
    source = form.source.data or ""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / (Path(upload.filename or "list").name or "list")
        upload.save(path)
        try:
            version = import_watchlist(
                db.session, source=source, fmt=form.format.data, path=path, actor=_actor()
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
    search = ListSearchForm(formdata=request.args)
    query = valid_data(search).get("q") or ""
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
        search=search,
        edit=PersonForm,
        action=ActionForm(formdata=None),
        manual=source.format == MANUAL_FORMAT,
    )


@blueprint.post("/watchlists/manual")
@role_required(Role.SUPERVISOR)
def add_entry() -> ResponseReturnValue:
    """Add a person to a manual list (a new version of it; audited)."""
    form = ManualEntryForm()
    if not form.validate():
        return _watchlists_page(manual=form, status=400)
    source = form.source.data or "MANUAL"
    try:
        entry = add_manual_entry(db.session, source=source, actor=_actor(), **form.person())
    except WatchlistError as error:
        form.source.errors = [str(error)]
        return _watchlists_page(manual=form, status=400)
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
    form = PersonForm()
    if not form.validate():
        # The entry's form sits in a folded row of the list: its first problem is said on top.
        errors = form.error_list()
        flash(errors[0][1] if errors else _("This action is not allowed."), "error")
        return redirect(url_for("officer.watchlist", source_id=source.id))
    try:
        edit_manual_entry(db.session, entry_id, actor=_actor(), **form.person())
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


def _current_version(rule: RiskRule) -> RiskRuleVersion | None:
    return (
        db.session.get(RiskRuleVersion, rule.current_version_id)
        if rule.current_version_id
        else None
    )


def _builder_context() -> dict[str, Any]:
    return {
        "age_bands": [label for _low, _high, label in AGE_BANDS],
        "max_conditions": MAX_CONDITIONS,
    }


def _rule_rows() -> list[dict[str, Any]]:
    rows = []
    for found in db.session.scalars(select(RiskRule).order_by(RiskRule.name)):
        version = _current_version(found)
        rows.append(
            {
                "rule": found,
                "version": version,
                "words": describe_conditions(version.conditions) if version else "",
            }
        )
    return rows


def _rules_page(form: RuleForm, status: int = 200) -> ResponseReturnValue:
    return render_template(
        "officer/rules.html", rows=_rule_rows(), form=form, **_builder_context()
    ), status


@blueprint.get("/rules")
@role_required(Role.SUPERVISOR)
def rules() -> ResponseReturnValue:
    """Risk rules with their current version, and the builder for a new one."""
    form = RuleForm(formdata=None)
    form.add_row()  # a rule needs two attributes: offer two rows
    return _rules_page(form)


@blueprint.post("/rules")
@role_required(Role.SUPERVISOR)
def create_rule() -> ResponseReturnValue:
    """Create a rule, disabled, with its first version (dry-run it before enabling)."""
    form = RuleForm()
    if form.wants_another_row():
        form.add_row()
        return _rules_page(form)
    if not form.validate():
        return _rules_page(form, 400)
    try:
        created = rulebook.create_rule(
            db.session,
            name=form.name.data or "",
            description=form.description.data,
            conditions=form.value(),
            officer_id=me().id,
            actor=_actor(),
        )
    except rulebook.InvalidRule as refused:
        db.session.rollback()
        form.place(refused.problems)
        return _rules_page(form, 400)
    db.session.commit()
    flash(_("Rule created, disabled. Check the dry run before you enable it."), "success")
    return redirect(url_for("officer.rule", rule_id=created.id))


def _rule_or_404(rule_id: int) -> RiskRule:
    found = db.session.get(RiskRule, rule_id)
    if found is None:
        abort(404)
    return found


def _rule_page(
    found: RiskRule, form: ConditionsForm | None = None, status: int = 200
) -> ResponseReturnValue:
    version = _current_version(found)
    versions = db.session.scalars(
        select(RiskRuleVersion)
        .where(RiskRuleVersion.rule_id == found.id)
        .order_by(RiskRuleVersion.number.desc())
    ).all()
    if form is None:
        form = ConditionsForm(formdata=None)
        form.fill(version.conditions if version else {})
    limit = int(current_app.config["ETA_RULE_DRY_RUN_SIZE"])
    return render_template(
        "officer/rule.html",
        rule=found,
        version=version,
        versions=versions,
        words=describe_conditions(version.conditions) if version else "",
        result=dry_run(version.conditions, limit) if version else None,
        form=form,
        toggle=EnableRuleForm(formdata=None),
        **_builder_context(),
        exported=json.dumps(version.conditions if version else {}, indent=2, ensure_ascii=False),
    ), status


@blueprint.get("/rules/<int:rule_id>")
@role_required(Role.SUPERVISOR)
def rule(rule_id: int) -> ResponseReturnValue:
    """A rule: its versions, the builder to change it, and the dry run of its current version."""
    return _rule_page(_rule_or_404(rule_id))


@blueprint.get("/rules/<int:rule_id>/conditions.json")
@role_required(Role.SUPERVISOR)
def export_rule(rule_id: int) -> Response:
    """The current version's conditions as a JSON file (to keep, review or import elsewhere)."""
    found = _rule_or_404(rule_id)
    version = _current_version(found)
    response = jsonify(version.conditions if version else {})
    response.headers["Content-Disposition"] = f'attachment; filename="rule-{found.id}.json"'
    return response


@blueprint.post("/rules/<int:rule_id>")
@role_required(Role.SUPERVISOR)
def edit_rule(rule_id: int) -> ResponseReturnValue:
    """Save changed conditions as a new version of the rule."""
    found = _rule_or_404(rule_id)
    form = ConditionsForm()
    if form.wants_another_row():
        form.add_row()
        return _rule_page(found, form)
    if not form.validate():
        return _rule_page(found, form, 400)
    try:
        version = rulebook.add_version(
            db.session, found, conditions=form.value(), officer_id=me().id, actor=_actor()
        )
    except rulebook.InvalidRule as refused:
        db.session.rollback()
        form.place(refused.problems)
        return _rule_page(found, form, 400)
    db.session.commit()
    flash(_("Saved as version %(number)d.", number=version.number), "success")
    return redirect(url_for("officer.rule", rule_id=found.id))


@blueprint.post("/rules/<int:rule_id>/enabled")
@role_required(Role.SUPERVISOR)
def set_rule_enabled(rule_id: int) -> ResponseReturnValue:
    """Enable or disable a rule (screening uses enabled rules' current versions)."""
    found = _rule_or_404(rule_id)
    form = EnableRuleForm()
    if form.validate():
        rulebook.set_enabled(db.session, found, form.enabled.data == "1", actor=_actor())
        db.session.commit()
    return redirect(url_for("officer.rule", rule_id=found.id))
