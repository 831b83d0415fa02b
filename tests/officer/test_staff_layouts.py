"""Issue 15: each area has its own layout.

Officer and carrier pages carried the public "Official: other websites may charge you more"
banner and the traveller's footer links ("Apply", "Check your application"). Staff areas now say
whose area it is and that what is done there is recorded; traveller pages keep their banner.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from flask import Flask

from eta.accounts import create_carrier
from eta.accounts.passwords import hash_password
from eta.extensions import db
from eta.models import CarrierUser
from tests.officer.conftest import Staff, session_for

PUBLIC_BANNER = "Other websites may charge you more"
STAFF_BANNER = "For authorised staff only. What you do here is recorded."


def _footer(html: str) -> str:
    match = re.search(r"<footer.*?</footer>", html, re.S)
    assert match, "no footer"
    return match.group(0)


def test_traveller_pages_keep_the_public_banner_and_footer(app: Flask) -> None:
    """The start page: the official-service banner, and the traveller's links in the footer."""
    html = app.test_client().get("/").get_data(as_text=True)
    assert PUBLIC_BANNER in html
    assert STAFF_BANNER not in html
    assert "Check your application" in _footer(html)


def test_officer_pages_have_the_back_office_layout(
    app: Flask, make_officer: Callable[..., Staff]
) -> None:
    """Sign-in and the queue: the staff banner naming the back office, no traveller links."""
    client = app.test_client()
    for html in (
        client.get("/officer/sign-in").get_data(as_text=True),
        session_for(app, client, make_officer()).get("/officer/").get_data(as_text=True),
    ):
        assert PUBLIC_BANNER not in html
        assert STAFF_BANNER in html
        assert "Back office" in html
        assert "Check your application" not in _footer(html)
        assert "Apply" not in _footer(html)


def test_carrier_pages_have_the_check_in_layout_and_name_the_carrier(app: Flask) -> None:
    """Carrier sign-in and the check-in page: the staff banner, and the carrier's name."""
    with app.app_context():
        carrier, _key = create_carrier(db.session, "Baltic Wings")
        db.session.add(
            CarrierUser(
                carrier_id=carrier.id,
                email="desk@baltic.example",
                password_hash=hash_password("correct horse battery"),
            )
        )
        db.session.commit()
    client = app.test_client()
    sign_in = client.get("/carrier/sign-in").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', sign_in)
    assert token
    response = client.post(
        "/carrier/sign-in",
        data={
            "email": "desk@baltic.example",
            "password": "correct horse battery",
            "csrf_token": token.group(1),
        },
    )
    assert response.status_code == 302
    check_in = client.get("/carrier/").get_data(as_text=True)
    for html in (sign_in, check_in):
        assert PUBLIC_BANNER not in html
        assert STAFF_BANNER in html
        assert "Carrier check-in" in html
        assert "Check your application" not in _footer(html)
    assert "Baltic Wings" in check_in
    assert "for Baltic Wings" in check_in
