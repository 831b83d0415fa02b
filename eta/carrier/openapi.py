"""The carrier endpoints' part of the OpenAPI document: paths, schemas, the Bearer scheme."""

from __future__ import annotations

from typing import Any

from eta.carrier.service import MAX_BATCH, MAX_TOKEN_LENGTH
from eta.carrier.verification import REASONS, RESULTS

_COUNTRY = {"type": "string", "pattern": "^[A-Za-z]{3}$", "description": "ISO 3166-1 alpha-3"}
_PASSPORT = {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9 <-]{0,29}$"}
_DATE = {"type": "string", "format": "date", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


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
    "CarrierBatchAnswer": {
        "type": "object",
        "required": ["results"],
        "additionalProperties": False,
        "properties": {"results": {"type": "array", "items": _ref("CarrierAnswer")}},
    },
}

CARRIER_SECURITY_SCHEMES: dict[str, Any] = {
    "carrierApiKey": {
        "type": "http",
        "scheme": "bearer",
        "description": "The carrier API key printed by `eta carrier create`.",
    }
}


def _operation(operation_id: str, summary: str, request: str, response: str) -> dict[str, Any]:
    return {
        "post": {
            "operationId": operation_id,
            "summary": summary,
            "tags": ["carriers"],
            "security": [{"carrierApiKey": []}],
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": _ref(request)}},
            },
            "responses": {
                "200": {
                    "description": "The answer (OK, NOT_OK with a reason, or NOT_APPLICABLE)",
                    "content": {"application/json": {"schema": _ref(response)}},
                },
                "400": _problem("Malformed JSON"),
                "401": _problem("Missing, malformed, unknown or revoked API key"),
                "413": _problem("Body too large"),
                "415": _problem("Not JSON"),
                "422": _problem("Invalid fields, listed by path in errors"),
                "429": _problem("Too many requests for this API key"),
            },
        }
    }


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
}
