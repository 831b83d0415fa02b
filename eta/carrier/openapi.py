"""The carrier endpoints' part of the OpenAPI document: paths, schemas, the Bearer scheme."""

from __future__ import annotations

from typing import Any

from eta.carrier.paxlst import MIMETYPE as EDIFACT
from eta.carrier.paxlst import ROLES
from eta.carrier.service import MAX_BATCH, MAX_TOKEN_LENGTH
from eta.carrier.verification import REASONS, RESULTS
from eta.countries import document_country_codes

_COUNTRY = {
    "type": "string",
    "enum": document_country_codes(),
    "description": "ICAO 9303 code as the passport prints it: ISO 3166-1 alpha-3, D (Germany), "
    "the British variants (GBD, GBN, ...) and codes that are no country (UNO, XXA, ...)",
}
_PASSPORT = {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9 <-]{0,29}$"}
_DATE = {"type": "string", "format": "date", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"}
_ERRORS = {
    "type": "object",
    "description": "Messages by field (JSON) or by segment (PAXLST: DOC, LOC+91, ...)",
    "additionalProperties": {"type": "array", "items": {"type": "string"}},
}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _results(items: dict[str, Any], description: str | None = None) -> dict[str, Any]:
    """A ``{"results": [...]}`` answer with these items."""
    results: dict[str, Any] = {"type": "array", "items": items}
    if description:
        results["description"] = description
    return {
        "type": "object",
        "required": ["results"],
        "additionalProperties": False,
        "properties": {"results": results},
    }


def _problem(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/problem+json": {"schema": _ref("Problem")}},
    }


CARRIER_SCHEMAS: dict[str, Any] = {
    "CarrierVerifyByToken": {
        "type": "object",
        "required": ["token"],
        "additionalProperties": False,
        "properties": {
            "token": {"type": "string", "minLength": 1, "maxLength": MAX_TOKEN_LENGTH},
            "passport_number": _PASSPORT,
            "issuing_country": _COUNTRY,
            "date_of_birth": _DATE,
            "travel_date": _DATE,
        },
    },
    "CarrierVerifyByPassport": {
        "type": "object",
        "required": ["passport_number", "issuing_country"],
        "additionalProperties": False,
        "properties": {
            "passport_number": _PASSPORT,
            "issuing_country": _COUNTRY,
            "date_of_birth": _DATE,
            "travel_date": _DATE,
        },
    },
    "CarrierPassenger": {
        "oneOf": [_ref("CarrierVerifyByToken"), _ref("CarrierVerifyByPassport")],
    },
    "CarrierBatch": {
        "type": "object",
        "required": ["passengers"],
        "additionalProperties": False,
        "properties": {
            "passengers": {
                "type": "array",
                "minItems": 1,
                "maxItems": MAX_BATCH,
                "items": _ref("CarrierPassenger"),
            }
        },
    },
    "CarrierAnswer": {
        "type": "object",
        "required": ["result", "reason"],
        "additionalProperties": False,
        "properties": {
            "result": {"type": "string", "enum": list(RESULTS)},
            "reason": {"type": "string", "enum": list(REASONS)},
            "reference": {"type": "string"},
            "valid_until": {"type": "string", "format": "date-time"},
            "surname": {"type": "string"},
            "given_names": {"type": "string"},
        },
    },
    "CarrierPassengerError": {
        "type": "object",
        "description": "A passenger that could not be checked, in its place in the batch",
        "required": ["result", "errors"],
        "additionalProperties": False,
        "properties": {
            "result": {"type": "string", "enum": ["ERROR"]},
            "errors": _ERRORS,
        },
    },
    "CarrierBatchAnswer": _results(
        {"oneOf": [_ref("CarrierAnswer"), _ref("CarrierPassengerError")]}
    ),
    "CarrierManifestAnswer": _results(
        {
            "type": "object",
            "required": [
                "message",
                "passenger",
                "role",
                "surname",
                "document_number",
                "result",
            ],
            "additionalProperties": False,
            "properties": {
                "message": {"type": "string", "description": "UNH message reference"},
                "passenger": {
                    "type": "integer",
                    "minimum": 0,
                    "description": "Position among the message's travellers, from 0",
                },
                "role": {"type": "string", "enum": sorted(set(ROLES.values()))},
                "surname": {"type": "string"},
                "document_number": {
                    "type": ["string", "null"],
                    "description": "The passport the answer is about",
                },
                "result": {"type": "string", "enum": [*RESULTS, "ERROR"]},
                "reason": {"type": "string", "enum": list(REASONS)},
                "reference": {"type": "string"},
                "valid_until": {"type": "string", "format": "date-time"},
                "errors": _ERRORS,
            },
        },
        "One entry per traveller, in interchange order",
    ),
}

CARRIER_SECURITY_SCHEMES: dict[str, Any] = {
    "carrierApiKey": {
        "type": "http",
        "scheme": "bearer",
        "description": "The carrier API key printed by `eta carrier create`.",
    }
}


_PASSENGER_EXAMPLE = {
    "passport_number": "L898902C3",
    "issuing_country": "SWE",
    "date_of_birth": "1974-08-12",
    "travel_date": "2027-01-10",
}
_ANSWER_EXAMPLE = {
    "result": "OK",
    "reason": "ok",
    "reference": "ETA-7KQ2-MX9P-4D",
    "valid_until": "2029-01-10T00:00:00Z",
    "surname": "ERIKSSON",
    "given_names": "ANNA MARIA",
}
EXAMPLES: dict[str, tuple[Any, Any]] = {
    "carrierVerify": (_PASSENGER_EXAMPLE, _ANSWER_EXAMPLE),
    "carrierVerifyBatch": (
        {
            "passengers": [
                _PASSENGER_EXAMPLE,
                {"passport_number": "X1234567", "issuing_country": "SWE"},
            ]
        },
        {"results": [_ANSWER_EXAMPLE, {"result": "NOT_OK", "reason": "not_found"}]},
    ),
}


# docs/carriers.md's manifest (two travellers: a passenger with a passport, crew without one)
# and its answers, as JSON and as a CUSRES interchange.
_MANIFEST_EXAMPLE = (
    "UNA:+.? '"
    "UNB+UNOA:4+NORDICAIR:ZZ+ETA:ZZ+261209:2330+000000417++PAXLST'"
    "UNH+PAX417+PAXLST:D:02B:UN:IATA+NA0123/261210/1030+01:F'"
    "BGM+745'NAD+MS+++FLIGHT OPERATIONS'TDT+20+NA123+++NA'LOC+125+ARN'"
    "DTM+189:2612101030:201'LOC+87+LHR'DTM+232:2612101215:201'"
    "NAD+FL+++ERIKSSON:ANNA MARIA'ATT+2++F'DTM+329:740812'NAT+2+SWE'"
    "DOC+P:110:111+L898902C3'DTM+36:320415'LOC+91+SWE'"
    "NAD+FM+++BERG:JOHAN'DTM+329:770603'DOC+AC:110:111+NO7788'LOC+91+NOR'"
    "CNT+42:1'CNT+41:1'UNT+22+PAX417'UNZ+1+000000417'"
)
_MANIFEST_ANSWER_EXAMPLE = {
    "results": [
        {
            "message": "PAX417",
            "passenger": 0,
            "role": "passenger",
            "surname": "ERIKSSON",
            "document_number": "L898902C3",
            "result": "OK",
            "reason": "ok",
            "reference": "ETA-7KQ2-MX9P-4D",
            "valid_until": "2028-12-01T09:00:00+00:00",
        },
        {
            "message": "PAX417",
            "passenger": 1,
            "role": "crew",
            "surname": "BERG",
            "document_number": None,
            "result": "ERROR",
            "errors": {"DOC": ["No passport (DOC+P): eta authorisations go with passports."]},
        },
    ]
}
_CUSRES_EXAMPLE = (
    "UNA:+,? 'UNB+UNOC:4+ETA+NORDICAIR+261209:2331+000000417'"
    "UNH+1+CUSRES:D:05B:UN:IATA'BGM+962'RFF+TN:PAX417'TDT+20+NA123'"
    "ERP+2'RFF+TN:PAX417:0'ERC+0Z'FTX+AAP+++OK:ok'ERP+2'RFF+TN:PAX417:1'ERC+2Z'"
    "FTX+AAP+++ERROR:DOC No passport (DOC?+P)?: eta authorisations go with passports.'"
    "UNT+13+1'UNZ+1+000000417'"
)


def _operation(operation_id: str, summary: str, request: str, response: str) -> dict[str, Any]:
    request_media: dict[str, Any] = {"schema": _ref(request)}
    response_media: dict[str, Any] = {"schema": _ref(response)}
    if operation_id in EXAMPLES:
        request_media["example"], response_media["example"] = EXAMPLES[operation_id]
    return {
        "post": {
            "operationId": operation_id,
            "summary": summary,
            "tags": ["carriers"],
            "security": [{"carrierApiKey": []}],
            "requestBody": {
                "required": True,
                "content": {"application/json": request_media},
            },
            "responses": {
                "200": {
                    "description": "The answer (OK, NOT_OK with a reason, or NOT_APPLICABLE)",
                    "content": {"application/json": response_media},
                },
                "400": _problem("Malformed JSON"),
                "401": _problem("Missing, malformed, unknown or revoked API key"),
                "413": _problem("Body too large"),
                "415": _problem("Not JSON"),
                "422": _problem("Invalid fields, listed by path in errors"),
                "429": _problem(
                    "Too many requests for this API key, or too many refused ones from this address"
                ),
            },
        }
    }


def _manifest_operation() -> dict[str, Any]:
    response = "CarrierManifestAnswer"
    operation = _operation(
        "carrierVerifyManifest",
        f"Verify a UN/EDIFACT PAXLST manifest (D02B or D05B) of up to {MAX_BATCH} travellers",
        "CarrierBatch",
        response,
    )["post"]
    edifact = {"schema": {"type": "string", "minLength": 1}}
    operation["requestBody"]["content"] = {EDIFACT: {**edifact, "example": _MANIFEST_EXAMPLE}}
    operation["responses"]["200"]["content"] = {
        "application/json": {"schema": _ref(response), "example": _MANIFEST_ANSWER_EXAMPLE},
        EDIFACT: {**edifact, "example": _CUSRES_EXAMPLE},
    }
    operation["description"] = (
        "Each traveller (NAD+FL, FM, DDU, DDT) is checked by passport as verify-batch checks "
        "it. With `Accept: application/edifact` the answer is a CUSRES interchange instead: "
        "per traveller ERP+2, RFF+TN:<message>:<index>, ERC (0Z board, 1Z do not board, "
        "2Z data error) and FTX+AAP+++<result>:<reason>. A broken envelope or message "
        "(counts in UNT, UNE, UNZ; unknown message type or directory) is a 422 problem."
    )
    operation["responses"].pop("400")
    operation["responses"]["415"] = _problem("Not application/edifact")
    operation["responses"]["422"] = _problem(
        "The interchange cannot be read (errors names the message and segment), "
        "or more than the maximum of travellers"
    )
    return {"post": operation}


CARRIER_PATHS: dict[str, Any] = {
    "/carrier/verify": _operation(
        "carrierVerify",
        "Verify one passenger by token or by passport data",
        "CarrierPassenger",
        "CarrierAnswer",
    ),
    "/carrier/verify-batch": _operation(
        "carrierVerifyBatch",
        f"Verify up to {MAX_BATCH} passengers, answered in order",
        "CarrierBatch",
        "CarrierBatchAnswer",
    ),
    "/carrier/paxlst": _manifest_operation(),
}
