"""One TOTP code signs in one session, even when several browsers post it at the same moment.

Issue 13, finding 1: the code was checked, then recorded, without a lock, so 2 of 6 sessions
(3 of 8) posting the same current code at once all signed in. This test does what the attacker
did, over real HTTP against a live server, each client with its own cookie jar.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pyotp
import pytest
import requests
from flask import Flask

from eta.extensions import db
from eta.models import Officer
from tests.officer.conftest import PASSWORD, Staff

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def _csrf(browser: requests.Session, url: str) -> str:
    match = _CSRF.search(browser.get(url, timeout=30).text)
    assert match, f"no CSRF token on {url}"
    return match.group(1)


def _password_step(base: str, staff: Staff) -> tuple[requests.Session, str]:
    """A browser that has passed the password step, and the CSRF token of its code form."""
    browser = requests.Session()
    token = _csrf(browser, f"{base}/officer/sign-in")
    response = browser.post(
        f"{base}/officer/sign-in",
        data={"csrf_token": token, "email": staff.email, "password": PASSWORD},
        allow_redirects=False,
        timeout=30,
    )
    assert response.status_code == 302, response.text
    return browser, _csrf(browser, f"{base}/officer/sign-in/code")


def _fresh_account(app: Flask, staff: Staff) -> None:
    """No code used yet, no failures counted (the losers of a burst count as failures)."""
    with app.app_context():
        officer = db.session.get(Officer, staff.id)
        assert officer is not None
        officer.last_totp_step = None
        officer.failed_sign_ins, officer.locked_until = 0, None
        db.session.commit()


@pytest.mark.parametrize("sessions", [6, 8])
def test_one_code_posted_at_once_from_many_sessions_signs_in_exactly_one(
    app: Flask,
    live_server: str,
    make_officer: Callable[..., Staff],
    sessions: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Every request comes from 127.0.0.1: the per-address allowance is not what is tested here.
    monkeypatch.setitem(app.config, "ETA_OFFICER_SIGN_IN_RATE_LIMIT", "1000/minute")
    staff = make_officer()
    # A few bursts, the code's step forgotten between them: a race is lost or won by chance,
    # so one burst could pass by luck even without the guard.
    for _burst in range(3):
        _fresh_account(app, staff)
        browsers = [_password_step(live_server, staff) for _ in range(sessions)]
        totp = pyotp.TOTP(staff.secret)
        # A code that stays valid for the whole burst (the next step's when the current one is
        # about to end), so the race is the only reason for a refusal.
        now = time.time()
        code = totp.at(now + 30 if now % 30 > 20 else now)
        start = threading.Barrier(sessions)

        def post_code(
            browser_and_token: tuple[requests.Session, str],
            code: str = code,
            start: threading.Barrier = start,
        ) -> bool:
            browser, token = browser_and_token
            start.wait(timeout=30)
            browser.post(
                f"{live_server}/officer/sign-in/code",
                data={"csrf_token": token, "code": code},
                allow_redirects=False,
                timeout=60,
            )
            queue = browser.get(f"{live_server}/officer/", allow_redirects=False, timeout=30)
            return queue.status_code == 200

        with ThreadPoolExecutor(max_workers=sessions) as pool:
            signed_in = list(pool.map(post_code, browsers))
        assert signed_in.count(True) == 1, signed_in
