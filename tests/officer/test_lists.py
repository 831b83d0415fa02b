"""Supervisors' lists and rules: imports, manual entries, rule versions, dry runs, fairness."""

from __future__ import annotations

import io
import re
from collections.abc import Callable

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from eta.extensions import db
from eta.models import AuditEvent, RiskRule, RiskRuleVersion, WatchlistEntry, WatchlistSource
from tests.officer.conftest import Staff, csrf_token

SignedIn = Callable[..., tuple[FlaskClient, Staff]]


def _token(client: FlaskClient) -> str:
    return csrf_token(client, "/officer/account")


def _actions(app: Flask) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))


def test_import_a_list_file_through_the_page(app: Flask, signed_in: SignedIn) -> None:
    client, _staff = signed_in("supervisor")
    data = (
        b"id,full_name,date_of_birth,nationality\n"
        b"1,Ivan Petrov,1970,RUS\n2,Jane Roe,1980-01-02,USA\n"
    )
    response = client.post(
        "/officer/watchlists/import",
        data={
            "csrf_token": _token(client),
            "source": "NATIONAL",
            "format": "csv",
            "file": (io.BytesIO(data), "national.csv"),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    page = client.get("/officer/watchlists").get_data(as_text=True)
    assert "NATIONAL" in page and "Imported 2 entries as NATIONAL version 1." in page
    bad = client.post(
        "/officer/watchlists/import",
        data={
            "csrf_token": _token(client),
            "source": "NATIONAL",
            "format": "csv",
            "file": (io.BytesIO(b"name\nx\n"), "bad.csv"),
        },
        content_type="multipart/form-data",
    )
    assert bad.status_code == 302
    assert "The list was not imported" in client.get("/officer/watchlists").get_data(as_text=True)
    assert _actions(app).count("watchlist.imported") == 1


def test_manual_entries_are_added_changed_and_removed_with_audit(
    app: Flask, signed_in: SignedIn
) -> None:
    client, staff = signed_in("supervisor")
    response = client.post(
        "/officer/watchlists/manual",
        data={
            "csrf_token": _token(client),
            "source": "MANUAL",
            "full_name": "Boris Ignatov",
            "date_of_birth": "1966",
            "nationality": "BGR",
        },
    )
    assert response.status_code == 302
    with app.app_context():
        source = db.session.scalars(select(WatchlistSource)).one()
        entry = db.session.scalars(
            select(WatchlistEntry).where(WatchlistEntry.version_id == source.active_version_id)
        ).one()
    page = client.get(f"/officer/watchlists/{source.id}").get_data(as_text=True)
    assert "Boris Ignatov" in page
    client.post(
        f"/officer/watchlists/entries/{entry.id}/edit",
        data={"csrf_token": _token(client), "full_name": "Boris Ignatoff", "date_of_birth": "1966"},
    )
    page = client.get(f"/officer/watchlists/{source.id}").get_data(as_text=True)
    assert "Boris Ignatoff" in page and "Boris Ignatov<" not in page
    with app.app_context():
        active = db.session.scalar(
            select(WatchlistSource.active_version_id).where(WatchlistSource.id == source.id)
        )
        current = db.session.scalars(
            select(WatchlistEntry).where(WatchlistEntry.version_id == active)
        ).one()
    client.post(
        f"/officer/watchlists/entries/{current.id}/remove", data={"csrf_token": _token(client)}
    )
    assert "No entries." in client.get(f"/officer/watchlists/{source.id}").get_data(as_text=True)
    watchlist_actions = [a for a in _actions(app) if a.startswith("watchlist.")]
    assert watchlist_actions == [
        "watchlist.entry_added",
        "watchlist.entry_edited",
        "watchlist.entry_removed",
    ]
    with app.app_context():
        actors = set(
            db.session.scalars(
                select(AuditEvent.actor).where(AuditEvent.action.startswith("watchlist."))
            )
        )
    assert actors == {f"officer:{staff.id}"}


def test_rules_with_sex_or_age_alone_are_rejected(app: Flask, signed_in: SignedIn) -> None:
    client, _staff = signed_in("supervisor")
    response = client.post(
        "/officer/rules",
        data={
            "csrf_token": _token(client),
            "name": "Young men",
            "conditions": '{"all": [{"field": "sex", "op": "eq", "value": "M"},'
            ' {"field": "age_band", "op": "eq", "value": "18-25"}]}',
        },
    )
    assert response.status_code == 400
    assert "may not use sex or age alone" in response.get_data(as_text=True)
    not_json = client.post(
        "/officer/rules",
        data={"csrf_token": _token(client), "name": "Broken", "conditions": "{nope"},
    )
    assert not_json.status_code == 400 and "Conditions must be JSON" in not_json.get_data(
        as_text=True
    )
    with app.app_context():
        assert db.session.scalars(select(RiskRule)).all() == []


def test_rule_versions_dry_run_and_enabling(
    app: Flask, signed_in: SignedIn, make_case: Callable[..., int]
) -> None:
    for number, nationality in enumerate(("FRA", "FRA", "SWE")):
        make_case(
            nationality=nationality,
            passport_number=f"R{number}",
            passport_number_normalised=f"R{number}",
        )
    client, _staff = signed_in("supervisor")
    response = client.post(
        "/officer/rules",
        data={
            "csrf_token": _token(client),
            "name": "French tourists",
            "conditions": '{"all": [{"field": "nationality", "op": "in", "value": ["FRA"]},'
            ' {"field": "travel_purpose", "op": "eq", "value": "tourism"}]}',
        },
    )
    assert response.status_code == 302
    page = client.get(response.location).get_data(as_text=True)
    assert "would have referred 2 of the last 3 applications" in page
    assert re.search(r"FRA</th><td[^>]*>2</td><td[^>]*>2</td><td[^>]*>100.0%", page)
    with app.app_context():
        rule = db.session.scalars(select(RiskRule)).one()
        assert rule.enabled is False
    edited = client.post(
        f"/officer/rules/{rule.id}",
        data={
            "csrf_token": _token(client),
            "conditions": '{"all": [{"field": "nationality", "op": "in", "value": ["SWE"]},'
            ' {"field": "travel_purpose", "op": "eq", "value": "tourism"}]}',
        },
    )
    assert edited.status_code == 302
    assert "would have referred 1 of the last 3" in client.get(edited.location).get_data(
        as_text=True
    )
    rejected = client.post(
        f"/officer/rules/{rule.id}",
        data={
            "csrf_token": _token(client),
            "conditions": '{"all": [{"field": "sex", "op": "eq", "value": "F"}]}',
        },
    )
    assert rejected.status_code == 400
    client.post(
        f"/officer/rules/{rule.id}/enabled", data={"csrf_token": _token(client), "enabled": "1"}
    )
    with app.app_context():
        assert db.session.scalar(select(RiskRule.enabled).where(RiskRule.id == rule.id))
        numbers = db.session.scalars(
            select(RiskRuleVersion.number).where(RiskRuleVersion.rule_id == rule.id)
        ).all()
        assert sorted(numbers) == [1, 2]
    actions = _actions(app)
    assert {"rule.created", "rule.version_created", "rule.enabled"} <= set(actions)
