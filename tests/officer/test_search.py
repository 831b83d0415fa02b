"""Officers find any case by reference, passport number or name; each search is audited."""

from __future__ import annotations

from html import unescape

from sqlalchemy import select

from eta import applications
from eta.applications.search import SearchKind, find_cases, kind_of, term_digest
from eta.extensions import db
from eta.models import AuditEvent
from tests.factories import submitted_application


def _approved(session, **fields):
    application = submitted_application(session, **fields)
    applications.start_screening(session, application)
    return applications.approve(session, application)


def test_the_term_decides_the_kind_of_search():
    assert kind_of("ETA-7KQ2-MX9P-4D") is SearchKind.REFERENCE
    assert kind_of("eta 7kq2 mx9p 4d") is SearchKind.REFERENCE
    assert kind_of("L898902C3") is SearchKind.PASSPORT
    assert kind_of("l898-902 c3") is SearchKind.PASSPORT
    assert kind_of("Anna Eriksson") is SearchKind.NAME
    assert kind_of("Eriksson") is SearchKind.NAME  # letters only: a name, not a number


def test_an_auto_approved_case_is_found_by_reference_passport_and_name(session):
    """Wave 1: an officer could only reach an auto-approved ETA by guessing /officer/cases/1."""
    anna = _approved(session)
    other = _approved(
        session,
        given_names="Карл",
        surname="Иванов",
        given_names_mrz="KARL",
        surname_mrz="IVANOV",
        passport_number="X1234567",
        passport_number_normalised="X1234567",
    )
    assert [c.id for c in find_cases(session, anna.reference.lower()).cases] == [anna.id]
    assert [c.id for c in find_cases(session, "l898-902 c3").cases] == [anna.id]
    assert [c.id for c in find_cases(session, "eriksson anna").cases] == [anna.id]
    # A name typed in another script finds the record by its MRZ form.
    assert [c.id for c in find_cases(session, "Иванов").cases] == [other.id]
    assert find_cases(session, "Nobody Atall").cases == []


def test_the_search_page_links_to_the_case_and_audits_the_search_not_the_term(app, signed_in):
    client, staff = signed_in("officer")
    with app.app_context():
        anna = _approved(db.session)
        reference, case_id = anna.reference, anna.id
    page = unescape(client.get("/officer/search?q=L898902C3").get_data(as_text=True))
    assert f'href="/officer/cases/{case_id}">{reference}</a>' in page
    assert "Approved" in page
    with app.app_context():
        event = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "application.searched")
        ).one()
        assert event.actor == f"officer:{staff.id}"
        assert event.details["kind"] == "passport" and event.details["results"] == 1
        assert "L898902C3" not in str(event.details)
        assert event.details["term_digest"] == term_digest("L898902C3", app.config["SECRET_KEY"])
    empty = client.get("/officer/search?q=Nobody")
    assert "No case matches." in empty.get_data(as_text=True)


def test_audit_events_link_to_their_case(app, signed_in):
    client, _staff = signed_in("admin")
    with app.app_context():
        anna = _approved(db.session)
        reference, case_id = anna.reference, anna.id
    client.get(f"/officer/cases/{case_id}")  # an application.viewed event
    page = client.get(f"/officer/admin/audit?object_id={reference}").get_data(as_text=True)
    assert f'<a href="/officer/cases/{case_id}">{reference}</a>' in page
