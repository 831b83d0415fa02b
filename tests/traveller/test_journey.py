"""The web journey over HTTP: every page, errors in the user's words, Change links, drafts."""

from __future__ import annotations

import datetime as dt
import re
from html import unescape
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from config import ConfigurationError, load_settings
from eta.extensions import db
from eta.models import Application, ApplicationDraft
from eta.timeutil import today
from tests import factories

ARRIVAL = today() + dt.timedelta(days=30)

ANSWERS = {
    "passport": {
        "nationality": "SWE",
        "passport.issuing_country": "SWE",
        "passport.number": "L898902C3",
        "passport.number_confirm": "l898 902 c3",
        "passport.issue_date-day": "16",
        "passport.issue_date-month": "4",
        "passport.issue_date-year": "2022",
        "passport.expiry_date-day": "15",
        "passport.expiry_date-month": "4",
        "passport.expiry_date-year": "2032",
        "passport.mrz": "",
    },
    "personal": {
        "given_names": "Anna Maria",
        "surname": "Eriksson",
        "sex": "F",
        "date_of_birth-day": "12",
        "date_of_birth-month": "8",
        "date_of_birth-year": "1974",
        "place_of_birth": "Stockholm",
    },
    "contact": {"email": "anna@example.org", "phone": ""},
    "address": {
        "home_address.line1": "Storgatan 1",
        "home_address.city": "Stockholm",
        "home_address.country": "SWE",
    },
    "occupation": {"occupation": "Teacher"},
    "travel": {
        "travel.purpose": "tourism",
        "travel.intended_arrival-day": str(ARRIVAL.day),
        "travel.intended_arrival-month": str(ARRIVAL.month),
        "travel.intended_arrival-year": str(ARRIVAL.year),
    },
    "background": {
        "answers.criminal_conviction": "no",
        "answers.previous_refusal": "no",
        "answers.removed_or_deported": "no",
        "answers.conflict_zone_travel": "no",
    },
    "declaration": {"declaration": "yes"},
}


def csrf(client, url):
    page = client.get(url)
    assert page.status_code == 200, url
    match = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True))
    assert match, url
    return match.group(1)


def post(client, url, data, **kwargs):
    return client.post(url, data={**data, "csrf_token": csrf(client, url)}, **kwargs)


def text(response):
    return unescape(response.get_data(as_text=True))


def complete_pages(client, answers=ANSWERS):
    client.get("/apply")
    for slug, data in answers.items():
        response = post(client, f"/apply/{slug}", data)
        assert response.status_code == 302, (slug, text(response))


def test_start_page_names_the_country_and_links_to_the_journey(client):
    body = text(client.get("/"))
    assert "to travel to Utopia" in body and "official service" in body
    assert 'href="/apply"' in body
    # No payment step: with no fee configured, no fee is promised.
    assert "It costs" not in body and "£" not in body


def test_the_fee_is_shown_only_with_how_it_is_paid(client, monkeypatch, tmp_path):
    """Wave 1 said "It costs £16" and never asked for a payment."""
    config = client.application.config
    monkeypatch.setitem(config, "ETA_FEE", "£16")
    monkeypatch.setitem(config, "ETA_FEE_PAYMENT", "You pay it at the border control desk.")
    body = text(client.get("/"))
    assert "It costs £16. You pay it at the border control desk." in body
    with pytest.raises(ConfigurationError, match="ETA_FEE and ETA_FEE_PAYMENT go together"):
        load_settings(tmp_path, {"ETA_FEE": "£16"})


def test_the_service_has_an_icon(client):
    icon = client.get("/favicon.ico")
    assert icon.status_code == 200
    assert icon.data[:4] == b"\x00\x00\x01\x00"  # an ICO file
    assert 'rel="icon"' in text(client.get("/"))


def test_whole_journey_submits_and_shows_the_reference(client):
    complete_pages(client)
    check = client.get("/apply/check")
    assert check.status_code == 200
    body = text(check)
    assert "L898902C3" in body and "ERIKSSON<<ANNA<MARIA" in body and "12 August 1974" in body
    response = post(client, "/apply/check", {})
    assert response.headers["Location"].endswith("/apply/confirmation")
    confirmation = text(client.get("/apply/confirmation"))
    reference = re.search(r'data-testid="reference">([^<]+)<', confirmation).group(1)
    with client.application.app_context():
        saved = db.session.scalar(select(Application))
        assert saved.reference == reference and saved.channel == "web"
        assert saved.passport_number_normalised == "L898902C3"
        draft = db.session.scalar(select(ApplicationDraft))
        assert draft.application_id == saved.id


def test_errors_are_summarised_linked_and_what_was_typed_is_kept(client):
    client.get("/apply")
    data = {**ANSWERS["passport"], "passport.number": "L89-8", "passport.number_confirm": "X"}
    data["passport.expiry_date-day"] = "31"
    data["passport.expiry_date-month"] = "2"
    response = post(client, "/apply/passport", data)
    assert response.status_code == 200
    body = text(response)
    assert body.count("Error:") >= 1 and "<title>Error:" in body
    assert 'href="#passport-number">Passport number must be 5 to 20 letters and numbers' in body
    assert 'href="#passport-number-confirm">' in body
    assert 'href="#passport-expiry-date">Expiry date must be a real date.' in body
    assert 'value="L89-8"' in body


def test_ineligible_nationality_gets_the_visa_page(client):
    client.get("/apply")
    response = post(client, "/apply/passport", {**ANSWERS["passport"], "nationality": "AFG"})
    assert response.headers["Location"].endswith("/apply/not-eligible")
    assert "You need a visa" in text(client.get("/apply/not-eligible"))


def test_an_exempt_nationality_is_told_it_needs_no_eta_not_a_visa(client):
    """Wave 1 told British citizens "You need a visa", while carriers got NOT_APPLICABLE."""
    client.get("/apply")
    response = post(client, "/apply/passport", {**ANSWERS["passport"], "nationality": "GBR"})
    assert response.headers["Location"].endswith("/apply/no-eta-needed")
    page = text(client.get("/apply/no-eta-needed"))
    assert "You do not need an ETA" in page
    assert "United Kingdom" in page
    assert "visa" not in page


def test_change_link_returns_to_check_your_answers(client):
    complete_pages(client)
    body = text(client.get("/apply/check"))
    assert 'href="/apply/contact?return=check#email"' in body
    changed = {"email": "anna.e@example.org", "return": "check"}
    response = post(client, "/apply/contact?return=check", changed)
    assert response.headers["Location"].endswith("/apply/check")
    assert "anna.e@example.org" in text(client.get("/apply/check"))


def test_check_answers_sends_back_to_a_page_with_a_problem(client):
    answers = {**ANSWERS}
    answers.pop("occupation")
    complete_pages(client, answers)
    response = client.get("/apply/check")
    # The page was never attempted: it opens plainly, and its problem shows on Continue.
    assert "/apply/occupation?return=check" in response.headers["Location"]
    assert "Enter your occupation" not in text(client.get(response.headers["Location"]))
    assert "Enter your occupation" in text(post(client, "/apply/occupation?return=check", {}))
    # A page attempted and left with a problem opens with it shown.
    post(client, "/apply/occupation", {"occupation": "x" * 500})
    response = client.get("/apply/check")
    assert "/apply/occupation?validate=1" in response.headers["Location"]


def test_a_yes_needs_details_on_the_background_page(client):
    client.get("/apply")
    data = {**ANSWERS["background"], "answers.previous_refusal": "yes"}
    body = text(post(client, "/apply/background", data))
    assert 'href="#answers-previous-refusal-details">Give details of your answer' in body


def test_the_journey_is_in_french(client):
    client.get("/?lang=fr")
    body = text(client.get("/apply/passport"))
    assert '<html lang="fr"' in body
    assert "Votre nationalité et votre passeport" in body
    assert "Allemagne" in body  # country names too


def test_save_and_resume_by_emailed_link(client, smtp_server):
    client.get("/apply")
    post(client, "/apply/contact", {"email": "anna@example.org", "save": "1"})
    response = post(client, "/apply/save", {"email": "anna@example.org"})
    assert "We have sent a link to anna@example.org" in text(response)
    mail = smtp_server.messages[0]
    link = re.search(r"http://\S+/apply/resume/\S+", mail.get_body(("plain",)).get_content())
    client.application.test_client()  # a new browser: nothing in its session
    other = client.application.test_client()
    assert link.group(0).startswith(client.application.config["ETA_PUBLIC_URL"] + "/")
    resumed = other.get(urlsplit(link.group(0)).path)
    assert resumed.status_code == 302
    follow = other.get("/apply/contact")
    assert 'value="anna@example.org"' in text(follow)


def test_a_tampered_resume_link_is_refused(client):
    assert client.get("/apply/resume/not-a-token").status_code == 410


def test_status_page_finds_the_application_and_hides_which_detail_is_wrong(client):
    complete_pages(client)
    post(client, "/apply/check", {})
    reference = client.get("/apply/confirmation").get_data(as_text=True)
    reference = re.search(r'data-testid="reference">([^<]+)<', reference).group(1)
    details = {
        "reference": reference,
        "passport_number": "L898902C3",
        "date_of_birth-day": "12",
        "date_of_birth-month": "8",
        "date_of_birth-year": "1974",
    }
    found = text(post(client, "/status", details))
    assert 'data-status="submitted"' in found and "What happens next" in found
    wrong = text(post(client, "/status", {**details, "date_of_birth-day": "13"}))
    unknown = text(post(client, "/status", {**details, "reference": "ETA-2222-2222-22"}))
    message = "We could not find an application with those details"
    assert message in wrong and message in unknown


def test_status_page_is_rate_limited_with_a_clear_page(client, monkeypatch):
    # Per day, so a minute boundary in the middle of a slow run cannot reset the count.
    monkeypatch.setitem(client.application.config, "ETA_STATUS_RATE_LIMIT", "10/day")
    details = {
        "reference": "ETA-2222-2222-22",
        "passport_number": "X12345",
        "date_of_birth-day": "1",
        "date_of_birth-month": "1",
        "date_of_birth-year": "1990",
    }
    token = csrf(client, "/status")
    codes = [
        client.post("/status", data={**details, "csrf_token": token}).status_code for _ in range(11)
    ]
    assert codes[:10] == [200] * 10 and codes[10] == 429
    last = client.post("/status", data={**details, "csrf_token": token})
    assert "Too many attempts" in text(last)


def test_redis_down_still_confirms_and_saves(client, monkeypatch):
    from redis import Redis

    from eta.extensions import redis_client

    complete_pages(client)
    dead = Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2)
    monkeypatch.setitem(redis_client._clients, id(client.application), dead)
    token = csrf(client, "/apply/check")
    response = client.post("/apply/check", data={"csrf_token": token})
    assert response.headers["Location"].endswith("/apply/confirmation")
    with client.application.app_context():
        assert db.session.scalar(select(Application)).status == "submitted"


def test_a_refusal_shows_the_reason_and_how_to_appeal(client):
    from eta import applications
    from eta.models import Officer
    from tests.factories import submitted_application

    with client.application.app_context():
        application = submitted_application(db.session, language="fr")
        officer = Officer(email="o@example.org", password_hash="x", totp_secret="JBSWY3DPEHPK3PXP")
        db.session.add(officer)
        db.session.commit()
        applications.start_screening(db.session, application)
        applications.refer(db.session, application, deadline=application.created_at)
        factories.refuse(
            db.session, application, officer_id=officer.id, reason_code="document", note=None
        )
        reference = application.reference
    details = {
        "reference": reference,
        "passport_number": "L898902C3",
        "date_of_birth-day": "12",
        "date_of_birth-month": "8",
        "date_of_birth-year": "1974",
    }
    body = text(post(client, "/status", details))
    assert 'data-status="refused"' in body
    assert "reported lost or stolen" in body and "reviewed within 28 days" in body
    assert [m for m in ("Received", "Being checked", "Refused") if m in body] == [
        "Received",
        "Being checked",
        "Refused",
    ]
