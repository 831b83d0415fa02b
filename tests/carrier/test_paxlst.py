"""PAXLST manifests: the guides' D02B and D05B layouts answered per traveller, CUSRES, faults.

The messages in data/ are written by hand from the layout and examples of the WCO/IATA/ICAO
API guidelines (not by our writer), with a flight on 10 December 2026: a D02B passenger list
in a functional group (a dual national with two passports, a transit passenger) and a D05B
crew list (a crew member with a passport and a crew member certificate, one with only the
certificate). Authorisations are issued from 1 December 2026 so that flight is covered.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydifact.segmentcollection import Interchange
from sqlalchemy import select

from eta import authorisations
from eta.accounts import revoke_api_keys
from eta.carrier import paxlst
from eta.carrier.service import query_log
from eta.models import Actor, Carrier, CarrierQuery
from tests.carrier.manifests import paxlst_of

PAXLST = "/api/v1/carrier/paxlst"
DATA = Path(__file__).parent / "data"
PASSENGERS = (DATA / "paxlst-d02b-passengers.edi").read_bytes()
CREW = (DATA / "paxlst-d05b-crew.edi").read_bytes()
BEFORE_FLIGHT = dt.datetime(2026, 12, 1, 9, tzinfo=dt.UTC)
TODAY = dt.date(2026, 12, 3)


def _send(client: Any, body: bytes, headers: dict[str, str], **extra: str) -> Any:
    return client.post(
        PAXLST, data=body, headers={**headers, "Content-Type": paxlst.MIMETYPE, **extra}
    )


def _okafor(authorise: Any) -> Any:
    """The dual national, authorised on the second (Swedish) passport only."""
    return authorise(
        issued_at=BEFORE_FLIGHT,
        surname="Okafor",
        surname_mrz="OKAFOR",
        given_names="Chidi Emeka",
        given_names_mrz="CHIDI EMEKA",
        date_of_birth=dt.date(1988, 3, 5),
        passport_number="SE4455667",
        passport_number_normalised="SE4455667",
    )


# --- reading (no app) ----------------------------------------------------------------------


def test_the_guides_layouts_are_read_with_roles_documents_and_the_flight():
    passengers = paxlst.parse(PASSENGERS, today=TODAY)
    (manifest,) = passengers.messages
    assert (manifest.reference, manifest.version, manifest.flight) == ("PAX417", "D02B", "NA123")
    assert manifest.travel_date == dt.date(2026, 12, 10)  # the arrival (DTM+232)
    eriksson, okafor, silva = manifest.travellers
    assert (eriksson.surname, eriksson.given_names) == ("ERIKSSON", "ANNA MARIA")
    assert eriksson.date_of_birth == dt.date(1974, 8, 12)  # YYMMDD, last century
    assert [(d.number, d.issuing_country) for d in okafor.passports] == [
        ("A01234567", "NGA"),
        ("SE4455667", "SWE"),
    ]
    assert okafor.date_of_birth == dt.date(1988, 3, 5)  # CCYYMMDD with format 102
    assert silva.role == "transit_passenger"

    crew = paxlst.parse(CREW, today=TODAY)
    lindqvist, berg = crew.messages[0].travellers
    assert (crew.messages[0].version, lindqvist.role) == ("D05B", "crew")
    assert [d.code for d in lindqvist.documents] == ["P", "AC"]
    assert lindqvist.errors == {}
    assert "No passport" in berg.errors["DOC"][0]  # a crew certificate alone cannot be checked


def _replace(body: bytes, old: str, new: str) -> bytes:
    assert old.encode() in body, old
    return body.replace(old.encode(), new.encode(), 1)


MALFORMED = [
    ("UNT+45+PAX417", "UNT+44+PAX417", "UNT counts 44 segments, the message has 45"),
    ("UNT+45+PAX417", "UNT+45+PAX418", "UNT's message reference differs"),
    ("UNZ+1+000000417", "UNZ+2+000000417", "UNZ counts 2 groups, the interchange has 1"),
    ("UNZ+1+000000417", "UNZ+1+000000416", "UNZ's control reference differs"),
    ("UNE+1+417", "UNE+2+417", "UNE counts 2 messages"),
    ("PAXLST:D:02B", "CUSRES:D:02B", "message type 'CUSRES' is not PAXLST"),
    ("PAXLST:D:02B", "PAXLST:D:96A", "PAXLST directory D96A is not one of D02B, D05B"),
    ("CNT+42:3", "CNT+42:4", "CNT+42 counts 4 passengers, the message lists 3"),
    ("NAD+DDU", "NAD+XX", "NAD qualifier 'XX' is not a traveller"),
    ("UNT+45+PAX417", "UNT+X5+PAX417", "UNT segment count 'X5' is not a number"),
    ("DTM+232:2612101215:201", "DTM+232:2613101215:201", "the flight's date (DTM)"),
    ("UNOA:4", "UNOQ:4", "unknown syntax identifier 'UNOQ'"),
    ("UNZ+1+000000417'\n", "", "does not end with UNZ"),
    ("UNT+45+PAX417'\n", "", "UNH is not closed by UNT"),
    ("BGM+745'", "bgm+745'", "not UN/EDIFACT"),
]


@pytest.mark.parametrize(("old", "new", "said"), MALFORMED, ids=[m[2][:30] for m in MALFORMED])
def test_a_broken_envelope_or_message_is_refused_saying_where(old, new, said):
    with pytest.raises(paxlst.ManifestError) as caught:
        paxlst.parse(_replace(PASSENGERS, old, new), today=TODAY)
    assert said in str(caught.value)


@pytest.mark.parametrize(
    "body", [b"", b"   ", b"hello", b"UNB+UNOA:4+A+B+1+1'", b"UNH+1+PAXLST:D:02B:UN'", b"'''"]
)
def test_what_is_not_an_interchange_is_a_manifest_error(body):
    with pytest.raises(paxlst.ManifestError):
        paxlst.parse(body, today=TODAY)


# --- the API ---------------------------------------------------------------------------------


def test_each_passenger_is_answered_as_the_json_api_would(
    client, auth_headers, authorise, carrier_statements
):
    authorise(issued_at=BEFORE_FLIGHT)
    _okafor(authorise)
    # This process reads the carrier state (revocations, keys) once, on a first request.
    warm = client.post("/api/v1/carrier/verify", json={"token": "x"}, headers=auth_headers)
    assert warm.status_code == 200
    with carrier_statements() as statements:
        response = _send(client, PASSENGERS, auth_headers)
    assert response.status_code == 200, response.get_json()
    eriksson, okafor, silva = response.get_json()["results"]
    assert eriksson["result"] == "OK" and eriksson["reason"] == "ok"
    assert (eriksson["message"], eriksson["passenger"], eriksson["role"]) == (
        "PAX417",
        0,
        "passenger",
    )
    assert (eriksson["surname"], eriksson["document_number"]) == ("ERIKSSON", "L898902C3")
    assert eriksson["reference"].startswith("ETA-")
    # Two passports: the one with an authorisation answers.
    assert (okafor["result"], okafor["document_number"]) == ("OK", "SE4455667")
    assert (silva["role"], silva["result"], silva["reason"]) == (
        "transit_passenger",
        "NOT_OK",
        "not_found",
    )
    # One statement for the whole manifest: the records of every passport, as verify-batch.
    assert len(statements) == 1, statements
    assert "passport_number_normalised" in statements[0]


def test_the_manifest_date_of_birth_must_match_the_record(client, auth_headers, authorise):
    authorise(issued_at=BEFORE_FLIGHT, date_of_birth=dt.date(1974, 8, 13))
    eriksson = _send(client, PASSENGERS, auth_headers).get_json()["results"][0]
    assert (eriksson["result"], eriksson["reason"]) == ("NOT_OK", "document_mismatch")


def test_a_revoked_authorisation_is_not_ok(client, session, auth_headers, authorise):
    authorisation = authorise(issued_at=BEFORE_FLIGHT)
    authorisations.revoke(
        session, authorisation, reason_code="new_information", officer_id=None, actor=Actor.SYSTEM
    )
    eriksson = _send(client, PASSENGERS, auth_headers).get_json()["results"][0]
    assert (eriksson["result"], eriksson["reason"]) == ("NOT_OK", "revoked")


def test_crew_are_checked_and_one_without_a_passport_gets_an_error(client, auth_headers, authorise):
    authorise(
        issued_at=BEFORE_FLIGHT,
        surname_mrz="LINDQVIST",
        given_names_mrz="KARIN",
        date_of_birth=dt.date(1980, 2, 14),
        passport_number="AB1234567",
        passport_number_normalised="AB1234567",
    )
    lindqvist, berg = _send(client, CREW, auth_headers).get_json()["results"]
    assert (lindqvist["role"], lindqvist["result"], lindqvist["document_number"]) == (
        "crew",
        "OK",
        "AB1234567",
    )
    assert berg["result"] == "ERROR" and "DOC" in berg["errors"]
    assert berg["document_number"] is None


def test_an_unknown_document_type_or_a_bad_field_is_that_passengers_error(
    client, auth_headers, authorise
):
    authorise(issued_at=BEFORE_FLIGHT)
    body = _replace(PASSENGERS, "DOC+P:110:111+FX123456", "DOC+ZZ:110:111+FX123456")
    body = _replace(body, "LOC+91+NGA", "LOC+91+NG")  # not an alpha-3 code
    eriksson, okafor, silva = _send(client, body, auth_headers).get_json()["results"]
    assert eriksson["result"] == "OK"
    assert silva["result"] == "ERROR"
    assert silva["errors"]["DOC"] == ["Unknown document type 'ZZ' (code list 1001)."]
    # The Nigerian passport is invalid, the Swedish one not found: the better answer stands.
    assert (okafor["result"], okafor["reason"]) == ("NOT_OK", "not_found")
    only_bad = _replace(body, "DOC+P:110:111+SE4455667", "DOC+V:110:111+SE4455667")
    okafor = _send(client, only_bad, auth_headers).get_json()["results"][1]
    assert okafor["result"] == "ERROR"
    assert "LOC+91" in okafor["errors"]  # named by segment, not by the JSON API's field


# pydifact's own reader, used here as an independent check, warns that its package lacks the
# service segments' definitions.
@pytest.mark.filterwarnings("ignore::pydifact.exceptions.MissingImplementationWarning")
def test_a_cusres_answer_when_edifact_is_asked_for(client, auth_headers, authorise):
    authorise(issued_at=BEFORE_FLIGHT)
    response = _send(client, PASSENGERS, auth_headers, Accept=paxlst.MIMETYPE)
    assert response.status_code == 200
    assert response.mimetype == paxlst.MIMETYPE
    answer = Interchange.from_str(response.get_data(as_text=True))
    assert (answer.sender, answer.recipient) == ("ETA", "NORDICAIR")
    (message,) = list(answer.get_messages())
    assert message.type == "CUSRES"
    assert message.get_segment("RFF").elements == [["TN", "PAX417"]]
    per_passenger = [
        (rff.elements[0][2], erc.elements[0], ftx.elements[3])
        for rff, erc, ftx in zip(
            list(message.get_segments("RFF"))[1:],
            message.get_segments("ERC"),
            message.get_segments("FTX"),
            strict=True,
        )
    ]
    assert per_passenger == [
        ("0", "0Z", ["OK", "ok"]),
        ("1", "1Z", ["NOT_OK", "not_found"]),
        ("2", "1Z", ["NOT_OK", "not_found"]),
    ]
    # The counts pydifact wrote are the ones our reader checks.
    unt = [s for s in Interchange.from_str(response.get_data(as_text=True)).segments][-1]
    assert unt.tag == "UNT" and int(unt.elements[0]) == len(message.segments) + 2


def test_a_broken_manifest_is_a_422_problem_naming_the_message_and_segment(client, auth_headers):
    response = _send(client, _replace(PASSENGERS, "UNT+45", "UNT+44"), auth_headers)
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    problem = response.get_json()
    assert problem["type"].endswith("/invalid-manifest")
    assert problem["errors"] == {
        "message PAX417, segment 48": ["UNT counts 44 segments, the message has 45 (UNH to UNT)"]
    }


@pytest.mark.parametrize("body", [b"", b"\xff\xfe garbage", b"UNB+UNOA:4+A+B+1+1'UNZ+0+1'", b"{}"])
def test_garbage_is_a_4xx_problem_never_a_500(client, auth_headers, body):
    response = _send(client, body, auth_headers)
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"


def test_a_non_ascii_byte_in_a_unoa_interchange_is_refused(client, auth_headers):
    body = _replace(PASSENGERS, "SILVA:JOAO", "SILVA:JOÃO").replace("Ã".encode(), b"\xc3")
    response = _send(client, body, auth_headers)
    assert response.status_code == 422
    assert "not valid ASCII" in response.get_json()["detail"]


def test_unoc_names_are_read_as_latin_1(client, auth_headers):
    body = _replace(PASSENGERS, "UNOA:4", "UNOC:4")
    body = _replace(body, "SILVA:JOAO", "SILVA:JOÃO").replace("Ã".encode(), "Ã".encode("latin-1"))
    silva = _send(client, body, auth_headers).get_json()["results"][2]
    assert silva["surname"] == "SILVA" and silva["result"] == "NOT_OK"


def test_authentication_content_type_and_size_as_the_other_carrier_endpoints(
    app, client, session, auth_headers, carrier_key
):
    assert _send(client, PASSENGERS, {}).status_code == 401
    wrong_type = client.post(
        PAXLST, data=PASSENGERS, headers={**auth_headers, "Content-Type": "text/plain"}
    )
    assert wrong_type.status_code == 415
    too_many = _send(client, paxlst_of([("A1", "SWE")] * 1001), auth_headers)
    assert too_many.status_code == 422
    assert too_many.get_json()["errors"] == {
        "": ["Send at most 1000 travellers per interchange, not 1001."]
    }
    carrier = session.scalars(select(Carrier)).one()
    revoke_api_keys(session, carrier)
    assert _send(client, PASSENGERS, auth_headers).status_code == 401
    assert _send(client, b"broken", auth_headers).status_code == 401  # the key first


def test_a_manifest_is_one_batch_row_in_the_query_log(session, client, auth_headers, signing_key):
    assert _send(client, PASSENGERS, auth_headers).status_code == 200
    query_log().flush()
    (row,) = session.scalars(select(CarrierQuery)).all()
    assert (row.kind, row.passengers) == ("batch", 4)  # passports checked: Okafor has two


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300) | st.text(alphabet="UNABHZTG+:'?. 0123456789PAXLST", max_size=200))
def test_any_body_is_read_or_refused_with_a_manifest_error(body):
    """Whatever arrives, the reader answers or names the fault: nothing else escapes (a 500)."""
    with contextlib.suppress(paxlst.ManifestError):
        paxlst.parse(body if isinstance(body, bytes) else body.encode(), today=TODAY)


@settings(max_examples=300, deadline=None)
@given(st.integers(0, len(PASSENGERS) - 1), st.integers(0, 20), st.binary(max_size=4))
def test_a_damaged_manifest_is_read_or_refused_with_a_manifest_error(at, cut, insert):
    body = PASSENGERS[:at] + insert + PASSENGERS[at + cut :]
    try:
        interchange = paxlst.parse(body, today=TODAY)
    except paxlst.ManifestError:
        return
    paxlst.answer(interchange, lambda items: [{"result": "OK", "reason": "ok"} for _ in items])
