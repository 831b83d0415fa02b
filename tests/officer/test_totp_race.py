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


@pytest.mark.parametrize("sessions", [6, 8])
def test_one_code_posted_at_once_from_many_sessions_signs_in_exactly_one(
    app: Flask, live_server: str, make_officer: Callable[..., Staff], sessions: int
) -> None:
    staff = make_officer()
    browsers = [_password_step(live_server, staff) for _ in range(sessions)]
    totp = pyotp.TOTP(staff.secret)
    # Post a code that stays valid for the whole burst (the current step, or the next one when
    # the current step is about to end), so the race is the only reason for a refusal.
    now = time.time()
    code = totp.at(now + 30 if now % 30 > 20 else now)
    start = threading.Barrier(sessions)

    def post_code(browser_and_token: tuple[requests.Session, str]) -> bool:
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
    with app.app_context():
        officer = db.session.get(Officer, staff.id)
        assert officer is not None and officer.last_totp_step is not None
