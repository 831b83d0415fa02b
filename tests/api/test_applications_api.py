"""POST /api/v1/applications: one validation layer, RFC 9457 errors with paths, no 500."""

from __future__ import annotations

import copy
import datetime as dt
import json
from typing import Any

import pytest
from redis import Redis
from sqlalchemy import func, select

from eta.applications import REFERENCE_ALPHABET
from eta.extensions import db, redis_client
from eta.models import Application
from eta.timeutil import today
from tests.factories import valid_payload

URL = "/api/v1/applications"
MRZ = "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<\nL898902C36UTO7408122F1204159ZE184226B<<<<<10"


def _set(payload: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    target = payload
    *parents, last = path.split(".")
    for part in parents:
        target = target[part]
    if value is _DELETE:
        del target[last]
    else:
        target[last] = value
    return payload


_DELETE = object()
DAY = dt.timedelta(days=1)


def _iso(day: dt.date) -> str:
    return day.isoformat()


def test_a_valid_application_is_accepted_with_a_reference(client, payload):
    response = client.post(URL, json=payload)
    assert response.status_code == 202, response.get_json()
    body = response.get_json()
    assert body["status"] == "submitted"
    assert body["status_url"].endswith("/status")
    assert body["reference"].startswith("ETA-")
    assert not set(body["reference"].removeprefix("ETA-").replace("-", "")) - set(
        REFERENCE_ALPHABET
    )
    assert not set("01OI") & set(body["reference"].removeprefix("ETA-"))
    with client.application.app_context():
        saved = db.session.scalar(select(Application))
        assert saved.reference == body["reference"]
        assert saved.status == "submitted" and saved.channel == "api"
        assert saved.surname_mrz == "ERIKSSON" and saved.given_names_mrz == "ANNA MARIA"
        queued = redis_client.client.exists(f"rq:job:screen-{saved.id}")
        assert queued, "screening is queued after the commit"


def test_germanys_passport_code_d_is_taken_and_kept_as_deu(client, payload):
    """Wave 1 refused D, the code a German passport prints; GER (printed by none) is refused."""
    payload["nationality"] = "D"
    payload["passport"]["issuing_country"] = "D"
    response = client.post(URL, json=payload)
    assert response.status_code == 202, response.get_json()
    with client.application.app_context():
        saved = db.session.scalar(select(Application))
        assert (saved.nationality, saved.passport_issuing_country) == ("DEU", "DEU")
    payload["passport"]["issuing_country"] = "GER"
    refused = client.post(URL, json=payload)
    assert refused.status_code == 422
    assert "passport.issuing_country" in refused.get_json()["errors"]


def test_names_in_any_script_get_their_mrz_form(client, payload):
    # A Cyrillic given name needs its Latin spelling as on the data page (SPEC §6 Names).
    payload.update(
        given_names="Владимир", surname="Müller-Lüdenscheidt", latin_given_names="Vladimir"
    )
    payload["latin_surname"] = "Müller-Lüdenscheidt"
    response = client.post(URL, json=payload)
    assert response.status_code == 202
    with client.application.app_context():
        saved = db.session.scalar(select(Application))
        assert (saved.given_names_mrz, saved.surname_mrz) == ("VLADIMIR", "MUELLER LUEDENSCHEIDT")


BAD_INPUTS: list[tuple[str, str, Any, str]] = [
    # (case, field path, value, expected message fragment)
    ("missing given names", "given_names", _DELETE, "Enter your given names"),
    ("empty surname", "surname", "   ", "Enter your surname"),
    ("surname a number", "surname", 42, "must be text"),
    ("digits in a name", "given_names", "Anna 2", "only include letters"),
    ("SQL in a name", "surname", "Robert'); DROP TABLE applications;--", "only include letters"),
    ("HTML in a name", "given_names", "<script>alert(1)</script>", "only include letters"),
    ("1 MB name", "given_names", "A" * 1_000_000, "100 characters or fewer"),
    ("control character", "surname", "Eriks\x07son", "control or invisible"),
    ("right-to-left override", "surname", "Eriks\u202eson", "control or invisible"),
    ("unknown sex", "sex", "Q", "Select your sex"),
    ("date of birth not a date", "date_of_birth", "1974-02-30", "must be a real date"),
    ("date of birth wrong format", "date_of_birth", "12/08/1974", "must be a real date"),
    ("date of birth in the future", "date_of_birth", _iso(today() + DAY), "must be in the past"),
    ("older than 130", "date_of_birth", "1850-01-01", "Date of birth must be after"),
    ("unknown nationality", "nationality", "XYZ", "Select a country"),
    ("ineligible nationality", "nationality", "AFG", "you need a visa"),
    ("exempt nationality", "nationality", "GBR", "do not need an ETA"),
    ("passport number too short", "passport.number", "AB-1", "5 to 20 letters and numbers"),
    ("passport number punctuation", "passport.number", "L8989#02C3", "5 to 20 letters"),
    ("passport number missing", "passport.number", _DELETE, "Enter your passport number"),
    (
        "issue date in the future",
        "passport.issue_date",
        _iso(today() + DAY),
        "today or in the past",
    ),
    ("expired passport", "passport.expiry_date", _iso(today() - DAY), "has expired"),
    ("validity over 10 years", "passport.expiry_date", "2033-04-17", "within 10 years"),
    ("expiry before issue", "passport.issue_date", "2032-05-01", "today or in the past"),
    ("bad email", "email", "anna@@example", "correct format"),
    ("email with a space", "email", "anna maria@example.org", "correct format"),
    ("phone not E.164", "phone", "0701234567", "international format"),
    ("address line missing", "home_address.line1", _DELETE, "first line of your address"),
    ("address country unknown", "home_address.country", "Sweden!", "Select a country"),
    ("address not an object", "home_address", "Storgatan 1", "must be an object"),
    ("occupation missing", "occupation", "", "Enter your occupation"),
    ("unknown purpose", "travel.purpose", "smuggling", "main purpose"),
    (
        "arrival in the past",
        "travel.intended_arrival",
        _iso(today() - DAY),
        "today or in the future",
    ),
    ("arrival over 12 months", "travel.intended_arrival", _iso(today() + 400 * DAY), "12 months"),
    ("answer not a boolean", "answers.criminal_conviction", "no", "Select yes if you have been"),
    ("declaration not given", "declaration", False, "Confirm that the information"),
    ("unknown language", "language", "xx", "Select a language"),
    ("MRZ unreadable", "passport.mrz", "P<UTO", "2 lines of 44 characters"),
    ("MRZ check digit", "passport.mrz", MRZ[:-1] + "9", "check digit for the whole line"),
    ("MRZ date check digit", "passport.mrz", MRZ[:63] + "0" + MRZ[64:], "date of birth"),
]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [case[1:] for case in BAD_INPUTS],
    ids=[case[0] for case in BAD_INPUTS],
)
def test_bad_input_is_a_422_with_the_field_path_and_message(
    client, no_rate_limits, field, value, message
):
    payload = _set(valid_payload(), field, value)
    response = client.post(URL, json=payload)
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    problem = response.get_json()
    assert problem["status"] == 422 and problem["type"].endswith("/validation")
    assert field in problem["errors"], problem["errors"]
    assert any(message in text for text in problem["errors"][field]), problem["errors"][field]


def test_a_yes_needs_details(client, payload):
    payload["answers"]["previous_refusal"] = True
    response = client.post(URL, json=payload)
    assert response.get_json()["errors"] == {
        "answers.previous_refusal_details": ["Give details of your answer"]
    }
    payload["answers"]["previous_refusal_details"] = "Refused a visa in 2019\nfor lack of funds"
    assert client.post(URL, json=payload).status_code == 202


def test_passport_expiring_before_arrival(client, payload):
    payload["passport"]["expiry_date"] = _iso(today() + 10 * DAY)
    payload["passport"]["issue_date"] = _iso(today() - 1000 * DAY)
    response = client.post(URL, json=payload)
    assert response.get_json()["errors"] == {
        "travel.intended_arrival": ["Your passport must be valid on the day you arrive"]
    }


def make_mrz(expiry: str = "320415", sex: str = "F") -> str:
    """A TD3 MRZ for the SWE specimen traveller with correct check digits."""
    from eta.screening.mrz import check_digit

    number, born = "L898902C3", "740812"
    line1 = "P<SWEERIKSSON<<ANNA<MARIA".ljust(44, "<")
    body = (
        number
        + check_digit(number)
        + "SWE"
        + born
        + check_digit(born)
        + sex
        + expiry
        + check_digit(expiry)
        + "<" * 14
        + "<"
    )
    composite = body[0:10] + body[13:20] + body[21:43]
    return line1 + "\n" + body + check_digit(composite)


def test_a_matching_mrz_is_accepted(client, payload):
    payload["passport"]["mrz"] = make_mrz()
    assert client.post(URL, json=payload).status_code == 202


def test_mrz_that_does_not_match_the_form_says_which_field(client, payload):
    payload["passport"]["mrz"] = make_mrz(expiry="320416", sex="M")
    response = client.post(URL, json=payload)
    errors = response.get_json()["errors"]["passport.mrz"]
    assert errors == [
        "The sex in the machine-readable zone does not match the one you entered",
        "The expiry date in the machine-readable zone does not match the one you entered",
    ]


def test_errors_are_in_french_when_asked(client, payload):
    del payload["surname"]
    response = client.post(URL, json=payload, headers={"Accept-Language": "fr"})
    assert response.get_json()["errors"]["surname"] == ["Saisissez votre nom de famille"]


@pytest.mark.parametrize(
    ("data", "content_type", "status"),
    [
        (b"{not json", "application/json", 400),
        (b"", "application/json", 400),
        (b"[1, 2]", "application/json", 422),
        (b'"text"', "application/json", 422),
        (b"\xff\xfe", "application/json", 400),
        (b"given_names=Anna", "application/x-www-form-urlencoded", 415),
        (b'{"a": NaN}', "application/json", 400),
        # The route's own limit (ETA_APPLICATION_MAX_BYTES): 1 MiB plus a base64 photo.
        (b'{"given_names": "' + b"A" * 8_100_000 + b'"}', "application/json", 413),
    ],
    ids=["malformed", "empty", "list", "string", "bad utf-8", "form", "NaN", "over the limit"],
)
def test_malformed_bodies_are_problems(client, data, content_type, status):
    response = client.post(URL, data=data, content_type=content_type)
    assert response.status_code == status
    assert response.mimetype == "application/problem+json"


def test_wrong_types_everywhere_are_422_not_500(client, no_rate_limits):
    for value in (None, 1, 1.5, True, [], {}, "x"):
        payload = {key: value for key in valid_payload()}
        response = client.post(URL, json=payload)
        assert response.status_code == 422, (value, response.get_json())


def test_redis_down_still_gives_a_reference_and_saves(client, payload, monkeypatch):
    app = client.application
    with app.app_context():
        dead = Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2)
        monkeypatch.setitem(redis_client._clients, id(app), dead)
        response = client.post(URL, json=payload)
        assert response.status_code == 202
        reference = response.get_json()["reference"]
        assert (
            db.session.scalar(
                select(func.count())
                .select_from(Application)
                .where(Application.reference == reference)
            )
            == 1
        )


def test_references_are_never_issued_twice(client, no_rate_limits):
    references = set()
    for _ in range(20):
        response = client.post(URL, json=valid_payload())
        references.add(response.get_json()["reference"])
    assert len(references) == 20


def test_status_of_a_submitted_application(client, payload):
    reference = client.post(URL, json=payload).get_json()["reference"]
    query = {
        "reference": reference.lower().replace("-", " "),
        "passport_number": "l898 902-c3",
        "date_of_birth": "1974-08-12",
    }
    response = client.post(URL + "/status", json=query)
    assert response.status_code == 200
    body = response.get_json()
    assert body["reference"] == reference and body["status"] == "submitted"
    assert [event["status"] for event in body["events"]] == ["submitted"]
    assert "authorisation" not in body


def test_unknown_reference_and_wrong_details_answer_alike(client, payload):
    reference = client.post(URL, json=payload).get_json()["reference"]
    wrong = client.post(
        URL + "/status",
        json={"reference": reference, "passport_number": "X1234567", "date_of_birth": "1974-08-12"},
    )
    unknown = client.post(
        URL + "/status",
        json={
            "reference": "ETA-2222-2222-22",
            "passport_number": "L898902C3",
            "date_of_birth": "1974-08-12",
        },
    )
    assert wrong.status_code == unknown.status_code == 404
    assert json.loads(wrong.data) == json.loads(unknown.data)


def test_status_lookups_are_rate_limited(client, monkeypatch):
    # Per day, so a minute boundary in the middle of a slow run cannot reset the count.
    monkeypatch.setitem(client.application.config, "ETA_STATUS_API_RATE_LIMIT", "20/day")
    query = {
        "reference": "ETA-2222-2222-22",
        "passport_number": "X12345",
        "date_of_birth": "1990-01-01",
    }
    codes = [client.post(URL + "/status", json=query).status_code for _ in range(21)]
    assert codes[:20] == [404] * 20
    assert codes[20] == 429
    response = client.post(URL + "/status", json=query)
    assert response.mimetype == "application/problem+json"


def test_submissions_are_rate_limited(client, monkeypatch):
    monkeypatch.setitem(client.application.config, "ETA_APPLY_RATE_LIMIT", "2/day")
    codes = [client.post(URL, json={}).status_code for _ in range(3)]
    assert codes == [422, 422, 429]


def test_the_original_payload_is_not_changed(client, payload):
    before = copy.deepcopy(payload)
    client.post(URL, json=payload)
    assert payload == before
