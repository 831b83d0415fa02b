"""Acceptance in a real Chromium: sign in with TOTP, request information, refuse with four eyes.

A second case is approved, issued by the real worker, and verified by a carrier.
"""

from __future__ import annotations

import email
import email.policy
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyotp
import pytest
from flask import Flask

from eta.accounts import create_carrier
from eta.applications.reasons import describe
from eta.extensions import db
from eta.models import Application, Officer
from tests.accessibility import no_serious_violations
from tests.officer.conftest import PASSWORD, Staff

pytestmark = pytest.mark.browser


def _outbox(test_env: dict[str, str]) -> list[str]:
    """The plain-text bodies of every email sent so far."""
    folder = Path(test_env["ETA_MAIL_URL"].removeprefix("file://"))
    bodies = []
    for path in sorted(folder.glob("*.eml"), key=lambda p: p.stat().st_mtime):
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        part = message.get_body(preferencelist=("plain",))
        assert part is not None
        bodies.append(part.get_content())
    return bodies


def _sign_in(page: Any, staff: Staff) -> None:
    page.goto("/officer/sign-in")
    page.fill("#email", staff.email)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/officer/sign-in/code")
    assert page.locator("img.eta-officer-qr").count() == 1  # first sign-in: enrolment QR
    page.fill("#code", pyotp.TOTP(staff.secret).now())
    page.click("main button[type=submit]")
    page.wait_for_url("**/officer/")


def test_officer_journey_in_chromium(
    app: Flask,
    browser: Any,
    live_server: str,
    page: Any,
    test_env: dict[str, str],
    make_officer: Callable[..., Staff],
    make_case: Callable[..., int],
    run_jobs: Callable[..., bool],
) -> None:
    officer = make_officer("officer")
    supervisor = make_officer("supervisor")
    refused_id = make_case(deadline_hours=5)
    approved_id = make_case(
        deadline_hours=30,
        given_names="Lars",
        surname="Berg",
        given_names_mrz="LARS",
        surname_mrz="BERG",
        passport_number="BERG12345",
        passport_number_normalised="BERG12345",
        email="lars@example.org",
    )
    with app.app_context():
        refused_ref = db.session.get(Application, refused_id).reference  # type: ignore[union-attr]

    # The officer signs in with password and TOTP, opens the queue and the referred case.
    _sign_in(page, officer)
    assert page.locator("#queue tbody tr").count() == 2
    page.click(f"text={refused_ref}")
    assert page.locator(".eta-officer-explanation").first.inner_text() == (
        "The applicant declared a criminal conviction: theft, 2009."
    )
    page.fill("#questions", "What were you convicted of, and when?")
    page.click("#request-information")
    page.wait_for_url("**/officer/")

    # The traveller answers through the link in the email.
    run_jobs()
    link = next(
        match.group(0)
        for body in _outbox(test_env)
        if (match := re.search(r"https?://\S+/respond/\S+", body))
    )
    # CSP bypassed only so the test can inject axe into the traveller's pages.
    traveller = browser.new_context(base_url=live_server, bypass_csp=True).new_page()
    traveller.goto("/respond/" + link.rsplit("/respond/", 1)[1])
    assert "What were you convicted of" in traveller.locator("#questions").inner_text()
    no_serious_violations(traveller)
    traveller.fill("#answer", "Shoplifting in 2009; the conviction is spent.")
    traveller.click("main button[type=submit]")
    assert "Answer sent" in traveller.locator("h1").inner_text()
    no_serious_violations(traveller)

    # Back in the queue, the officer proposes a refusal.
    page.goto(f"/officer/cases/{refused_id}")
    assert "the conviction is spent" in page.inner_text("main")
    page.select_option("#reason_code", "security")
    page.fill("#note", "Matches a listed person; answer does not explain the hit.")
    page.click("#propose-refusal")
    assert "A supervisor must confirm it" in page.inner_text("main")
    # Approving past the proposal is refused, with the reason, and changes nothing.
    page.click("#approve")
    assert "waits for a supervisor's confirmation" in page.inner_text("main")
    page.goto(f"/officer/cases/{refused_id}")

    # A supervisor (another person) confirms it.
    desk = browser.new_context(base_url=live_server).new_page()
    _sign_in(desk, supervisor)
    desk.goto("/officer/decisions")
    desk.click(f"text={refused_ref}")
    desk.click("text=Confirm refusal")
    assert "Refusal confirmed" in desk.inner_text("main")

    status = page.request.post(
        "/api/v1/applications/status",
        data={
            "reference": refused_ref,
            "passport_number": "L898902C3",
            "date_of_birth": "1974-08-12",
        },
    )
    assert status.ok and status.json()["status"] == "refused"
    with app.test_request_context():
        reason_words = describe("security")
    # The traveller's status page gives the refusal's reason in plain words.
    traveller.goto("/status")
    traveller.fill("input[name=reference]", refused_ref)
    traveller.fill("input[name=passport_number]", "L898902C3")
    traveller.fill("input[name='date_of_birth-day']", "12")
    traveller.fill("input[name='date_of_birth-month']", "8")
    traveller.fill("input[name='date_of_birth-year']", "1974")
    traveller.click("main button[type=submit]")
    assert reason_words in traveller.inner_text("main")
    run_jobs()
    refusal = next(
        body
        for body in _outbox(test_env)
        if refused_ref in body and "refus" in body.lower() and "respond" not in body
    )
    assert reason_words in refusal

    # The second case is approved, issued by the worker, and a carrier's check says OK.
    page.goto(f"/officer/cases/{approved_id}")
    page.click("#approve")
    page.wait_for_url("**/officer/")
    assert run_jobs()
    with app.app_context():
        _carrier, key = create_carrier(db.session, "Nordic Air")
        assert db.session.get(Officer, officer.id).last_totp_step is not None  # type: ignore[union-attr]
    verdict = page.request.post(
        "/api/v1/carrier/verify",
        headers={"Authorization": f"Bearer {key}"},
        data={"passport_number": "BERG12345", "issuing_country": "SWE"},
    )
    assert verdict.ok, verdict.text()
    assert verdict.json()["result"] == "OK"
