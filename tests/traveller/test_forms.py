"""The traveller's and the public pages' HTML forms are Flask-WTF forms over the shared rules.

Wave 1 parsed `request.form` by hand in every view while WTForms sat installed and unused; the
web journey and the JSON API agree because each page form's validators call the one validation
layer (eta.applications.validation), which these tests check by sending the same answers both
ways.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from typing import Any

import pytest
from flask_wtf import FlaskForm
from wtforms import Form

from eta.extensions import db
from eta.models import Application, InformationRequest
from eta.traveller.forms import PAGE_FORMS, QuestionForm, SharedRule
from eta.traveller.journey import PAGES
from eta.web.links import information_token
from tests.factories import valid_payload
from tests.traveller.test_journey import ANSWERS, post, text
from tests.traveller.test_what_travellers_are_told import _asked


@pytest.fixture
def validated_forms(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[type]]:
    """Every form class whose validation runs during the test, in order."""
    seen: list[type] = []
    original_form = Form.validate
    original_check = QuestionForm.check

    def recording(self: Form, *args: Any, **kwargs: Any) -> bool:
        seen.append(type(self))
        return bool(original_form(self, *args, **kwargs))

    def recording_check(self: Any) -> Any:
        seen.append(type(self))
        return original_check(self)

    monkeypatch.setattr(Form, "validate", recording)
    monkeypatch.setattr(QuestionForm, "check", recording_check)
    yield seen


def test_each_journey_page_validates_through_its_flask_wtf_form(client, validated_forms):
    client.get("/apply")
    for page in PAGES:
        validated_forms.clear()
        response = post(client, f"/apply/{page.slug}", ANSWERS[page.slug])
        assert response.status_code == 302, (page.slug, text(response))
        form_class = PAGE_FORMS[page.slug]
        assert issubclass(form_class, FlaskForm)
        assert form_class in validated_forms, page.slug
    validated_forms.clear()
    assert client.get("/apply/check").status_code == 200
    # Check your answers re-checks every page through the same forms.
    assert all(PAGE_FORMS[page.slug] in validated_forms for page in PAGES)


def test_each_question_field_delegates_to_the_shared_rules(app):
    with app.test_request_context():
        for page in PAGES:
            form = PAGE_FORMS[page.slug](meta={"csrf": False})
            for question, field in form.questions():
                assert field.name == question.path and field.id == question.id
                rules = [v for v in field.validators if isinstance(v, SharedRule)]
                if question.path == "passport.number_confirm":
                    continue  # typed twice on the web only; the API has no such field
                assert rules and question.path in rules[0].paths, question.path


def test_the_other_traveller_and_public_forms_validate_through_flask_wtf(
    client, validated_forms, smtp_server
):
    client.get("/apply")
    post(client, "/apply/save", {"email": "anna@example.org"})
    post(
        client,
        "/status",
        {
            "reference": "ETA-2222-2222-22",
            "passport_number": "X12345",
            "date_of_birth-day": "1",
            "date_of_birth-month": "1",
            "date_of_birth-year": "1990",
        },
    )
    post(client, "/verify", {"token": "not.a.token"})
    names = [form.__name__ for form in validated_forms]
    assert {"SaveForm", "StatusForm", "VerifyForm"} <= set(names), names
    assert all(issubclass(form, FlaskForm) for form in validated_forms)


def test_the_answer_to_an_officers_questions_is_a_flask_wtf_form(app, client, validated_forms):
    _app_id, _reference, info_id, _at = _asked(app, "Which hotel will you stay in?")
    with app.test_request_context():
        url = "/respond/" + information_token(info_id)
    empty = post(client, url, {"answer": "   "})
    assert empty.status_code == 400 and "Enter your answer" in text(empty)
    assert "AnswerForm" in [form.__name__ for form in validated_forms]
    sent = post(client, url, {"answer": "Hotel Central"})
    assert sent.status_code == 200
    with app.app_context():
        assert db.session.get(InformationRequest, info_id).answer == "Hotel Central"


def _api_errors(client: Any, payload: dict[str, Any]) -> dict[str, list[str]]:
    response = client.post("/api/v1/applications", json=payload)
    assert response.status_code == 422, response.get_json()
    return dict(response.get_json()["errors"])


def test_a_page_and_the_api_give_the_same_message_for_the_same_answer(client):
    """Expiry before issue, a bad passport number: one rule, one message, both ways."""
    client.get("/apply")
    data = {
        **ANSWERS["passport"],
        "passport.number": "L8",
        "passport.number_confirm": "L8",
        "passport.expiry_date-year": "2021",
    }
    body = text(post(client, "/apply/passport", data))
    payload = valid_payload()
    payload["passport"].update(
        number="L8", issue_date="2022-04-16", expiry_date="2021-04-15", mrz=None
    )
    api = _api_errors(client, payload)
    for path, html_id in (
        ("passport.number", "passport-number"),
        ("passport.expiry_date", "passport-expiry-date"),
    ):
        assert api[path], path
        for message in api[path]:
            assert f'href="#{html_id}">{message}</a>' in body, (path, message)


def test_a_form_error_in_french_with_the_summary_in_french(client):
    client.get("/?lang=fr")
    client.get("/apply")
    data = {**ANSWERS["passport"], "passport.number_confirm": ""}
    data["passport.expiry_date-year"] = "2033"  # issued in 2022: more than 10 years
    response = post(client, "/apply/passport", data)
    assert response.status_code == 200
    body = text(response)
    assert "Il y a un problème" in body and "<title>Erreur" in body
    assert 'href="#passport-number-confirm">Saisissez à nouveau votre numéro de passeport' in body
    assert (
        'href="#passport-expiry-date">La date d’expiration doit se situer dans les 10 ans suivant '
        "la date de délivrance" in body
    )
    assert "There is a problem" not in body


def test_the_rendered_csrf_token_is_the_forms_own_and_required(client):
    client.get("/apply")
    page = client.get("/apply/contact").get_data(as_text=True)
    assert len(re.findall(r'name="csrf_token"', page)) == 1
    refused = client.post("/apply/contact", data={"email": "anna@example.org"})
    assert refused.status_code == 400
    accepted = post(client, "/apply/contact", {"email": "anna@example.org"})
    assert accepted.status_code == 302


def test_a_resumed_draft_opens_a_page_without_errors_and_shows_them_once_attempted(client):
    client.get("/apply")
    post(client, "/apply/contact", {"email": "", "save": "1"})
    plain = text(client.get("/apply/contact"))
    assert "There is a problem" not in plain and "<title>Error" not in plain
    attempted = text(post(client, "/apply/contact", {"email": "not-an-address"}))
    assert "There is a problem" in attempted
    assert "Enter an email address in the correct format, like name@example.com" in attempted


def test_the_background_page_names_each_unanswered_question(client):
    client.get("/apply")
    body = text(post(client, "/apply/background", {}))
    messages = re.findall(r'<li><a href="#answers-[a-z-]+">([^<]+)</a></li>', body)
    assert len(messages) == 4 and len(set(messages)) == 4
    assert "Select yes or no" not in body


def test_the_status_form_keeps_what_was_typed_and_reports_each_field(client):
    response = post(
        client,
        "/status",
        {
            "reference": "",
            "passport_number": "X" * 41,
            "date_of_birth-day": "31",
            "date_of_birth-month": "2",
            "date_of_birth-year": "1990",
        },
    )
    body = text(response)
    assert 'href="#reference">Enter your application reference' in body
    assert 'href="#passport-number">Passport number must be 5 to 20 letters and numbers' in body
    assert 'href="#date-of-birth">Date of birth must be a real date.' in body
    assert 'value="31"' in body and 'value="1990"' in body


def test_a_submitted_journey_still_reaches_the_database(client):
    client.get("/apply")
    for page in PAGES:
        assert post(client, f"/apply/{page.slug}", ANSWERS[page.slug]).status_code == 302
    assert post(client, "/apply/check", {}).headers["Location"].endswith("/apply/confirmation")
    with client.application.app_context():
        saved = db.session.query(Application).one()
        assert saved.date_of_birth == dt.date(1974, 8, 12)
        assert saved.answers["criminal_conviction"] is False
