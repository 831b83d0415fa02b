"""Issue 15: the journey's messages, as a traveller reads them.

On the old main: the four background questions left empty gave four identical "Select yes or
no" errors; a date limit in a message was ISO ("after 1896-12-03"); and the emailed resume link
opened every page not yet attempted with "There is a problem".
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from babel.dates import format_date
from flask.testing import FlaskClient

from eta.applications.validation import MAX_AGE_YEARS, _add_years
from eta.timeutil import today
from tests.traveller.test_journey import ANSWERS, post, text


def test_each_unanswered_background_question_says_which_it_is(client: FlaskClient) -> None:
    client.get("/apply")
    body = text(post(client, "/apply/background", {}))
    summary = re.search(r'class="eta-error-summary".*?</ul>', body, re.S)
    assert summary, "no error summary"
    messages = re.findall(r"<li><a [^>]*>([^<]+)</a></li>", summary.group(0))
    assert len(messages) == 4
    assert len(set(messages)) == 4, messages
    assert any("convicted of a criminal offence" in m for m in messages)
    assert any("war or conflict zone" in m for m in messages)
    assert "Select yes or no" not in body


def test_a_date_limit_in_a_message_is_written_in_words(client: FlaskClient) -> None:
    client.get("/apply")
    too_old = {**ANSWERS["personal"], "date_of_birth-year": "1850"}
    body = text(post(client, "/apply/personal", too_old))
    limit = _add_years(today(), -MAX_AGE_YEARS)
    assert f"Date of birth must be after {format_date(limit, 'long', locale='en')}" in body
    assert limit.isoformat() not in body


def test_a_resumed_draft_opens_the_next_page_without_errors(
    client: FlaskClient, smtp_server: Any
) -> None:
    """Only the passport page was done: the link opens the next page plainly, not in error."""
    client.get("/apply")
    assert post(client, "/apply/passport", ANSWERS["passport"]).status_code == 302
    post(client, "/apply/personal", {"save": "1"})
    post(client, "/apply/save", {"email": "anna@example.org"})
    body = smtp_server.messages[0].get_body(("plain",)).get_content()
    link = re.search(r"http://\S+/apply/resume/\S+", body)
    assert link
    other = client.application.test_client()
    opened = other.get(urlsplit(link.group(0)).path, follow_redirects=True)
    page = text(opened)
    assert opened.request.path == "/apply/personal"
    assert "There is a problem" not in page
    assert "eta-error-message" not in page
    # Continue with the page empty: now it was attempted, and its problems are shown.
    assert "There is a problem" in text(post(other, "/apply/personal?return=check", {}))
