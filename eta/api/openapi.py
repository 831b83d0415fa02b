"""The OpenAPI 3.1 document for /api/v1, built as data so tests can check responses against it."""

from __future__ import annotations

import copy
from http import HTTPStatus
from pathlib import Path
from typing import Any

from flask import current_app

from eta.carrier.openapi import CARRIER_PATHS, CARRIER_SCHEMAS, CARRIER_SECURITY_SCHEMES
from eta.public.openapi import PUBLIC_PATHS, PUBLIC_SCHEMAS, ROOT_PATHS
from eta.web.i18n import available_languages
from eta.web.problems import PROBLEM_BASE, PROBLEM_MIME

# The languages shipped with a catalogue (a deployment may speak fewer: ETA_LANGUAGES).
LANGUAGES = available_languages(Path(__file__).resolve().parents[1] / "translations")

PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["type", "title", "status"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "errors": {
            "type": "object",
            "additionalProperties": {"type": "array", "items": {"type": "string"}},
        },
    },
}


def _problem(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {
            "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
        },
    }


def _json_body(schema: str, example: dict[str, Any] | None = None) -> dict[str, Any]:
    media: dict[str, Any] = {"schema": {"$ref": f"#/components/schemas/{schema}"}}
    if example is not None:
        media["example"] = example
    return {"required": True, "content": {"application/json": media}}


# DG1 of the specimen passport (tests/chip/builder.py: Anna Maria Eriksson, L898902C3).
_SPECIMEN_DG1 = (
    "YVtfH1hQPFNXRUVSSUtTU09OPDxBTk5BPE1BUklBPDw8PDw8PDw8PDw8PDw8PDw8PEw4OTg5MDJDMzZT"
    "V0U3NDA4MTIyRjMyMDQxNTM8PDw8PDw8PDw8PDw8PDA0"
)

# SPEC §4's application (dates as examples only: the arrival must be within the next year).
_APPLICATION_EXAMPLE: dict[str, Any] = {
    "given_names": "Anna Maria",
    "surname": "Eriksson",
    "sex": "F",
    "date_of_birth": "1974-08-12",
    "place_of_birth": "Stockholm",
    "nationality": "SWE",
    "passport": {
        "number": "L898902C3",
        "issuing_country": "SWE",
        "issue_date": "2022-04-16",
        "expiry_date": "2032-04-15",
    },
    "email": "anna@example.org",
    "phone": "+46701234567",
    "home_address": {"line1": "Storgatan 1", "city": "Stockholm", "country": "SWE"},
    "occupation": "Teacher",
    "travel": {"purpose": "tourism", "intended_arrival": "2027-01-10"},
    "answers": {
        "criminal_conviction": False,
        "previous_refusal": False,
        "removed_or_deported": False,
        "conflict_zone_travel": False,
    },
    "language": "en",
    "declaration": True,
}

_STATUS_QUERY_EXAMPLE = {
    "reference": "ETA-7KQ2-MX9P-4D",
    "passport_number": "L898902C3",
    "date_of_birth": "1974-08-12",
}

_REVIEW_QUERY_EXAMPLE = {
    **_STATUS_QUERY_EXAMPLE,
    "grounds": "My passport was reported stolen in 2024, then found; the report was withdrawn.",
    "statement": "The police letter withdrawing the report is dated 3 March 2025.",
}

_REVIEW_ACCEPTED_EXAMPLE = {
    "reference": "ETA-7KQ2-MX9P-4D",
    "status": "referred",
    "review": {"requested_at": "2026-12-04T21:40:12.204000+00:00"},
    "status_url": "https://eta.example.gov/status",
}


def _json_response(description: str, schema: str, example: Any) -> dict[str, Any]:
    return {
        "description": description,
        "content": {
            "application/json": {
                "schema": {"$ref": f"#/components/schemas/{schema}"},
                "example": example,
            }
        },
    }


_ACCEPTED_EXAMPLE = {
    "reference": "ETA-7KQ2-MX9P-4D",
    "status": "submitted",
    "status_url": "https://eta.example.gov/status",
}
_STATUS_EXAMPLE = {
    "reference": "ETA-7KQ2-MX9P-4D",
    "status": "approved",
    "status_url": "https://eta.example.gov/status",
    "events": [
        {"at": "2026-12-04T09:12:03.512000+00:00", "status": "submitted"},
        {"at": "2026-12-04T09:12:04.108000+00:00", "status": "screening"},
        {"at": "2026-12-04T09:12:05.730000+00:00", "status": "approved"},
    ],
    "valid_until": "2028-12-04T09:12:06+00:00",
    "authorisation": {
        "token": "eyJhbGciOiJFUzI1NiIsImtpZCI6IjIwMjYtMTItYTFiMiJ9.eyJ...In0.MEUCIQ...",
        "pdf_url": "https://eta.example.gov/authorisation/aZ3k...Qm/eta.pdf",
    },
}


_BODY_PROBLEMS: dict[str, Any] = {
    "400": _problem("Malformed JSON or an empty body"),
    "413": _problem("Body too large"),
    "415": _problem("Not JSON"),
    "422": _problem("Invalid fields: `errors` maps each field path to its messages"),
    "429": _problem("Too many requests"),
}

_DATE = {"type": "string", "format": "date", "description": "YYYY-MM-DD"}
_COUNTRY = {
    "type": "string",
    "description": "ICAO 9303 code as the passport prints it: ISO 3166-1 alpha-3, or D (Germany)",
    "maxLength": 100,
}

# A required text field: at least one character that is not white space (blanks are "missing").
_FILLED = {"type": "string", "minLength": 1, "maxLength": 100, "pattern": "\\S"}


def _text(max_length: int = 100, **extra: Any) -> dict[str, Any]:
    return {"type": "string", "maxLength": max_length, **extra}


_ANSWER_NAMES = (
    "criminal_conviction",
    "previous_refusal",
    "removed_or_deported",
    "conflict_zone_travel",
)

# The API's prefix: PATHS are written relative to it, and the document lists them in full
# under the server "/", so that every path resolves as listed, the JWKS at the site root too.
API_PREFIX = "/api/v1"

# Every path of the API, relative to API_PREFIX. Other modules' endpoints are added here (or
# merged in with register_paths) so that openapi_document() describes the whole API.
PATHS: dict[str, Any] = {
    **CARRIER_PATHS,
    **PUBLIC_PATHS,
    "/applications": {
        "post": {
            "operationId": "submitApplication",
            "summary": "Apply for an ETA",
            "description": (
                "The same validation as the web form. Accepted applications are screened "
                "asynchronously; follow them with /applications/status. Send an "
                "Idempotency-Key to retry safely: the same key with the same body within 24 "
                "hours answers the first response again (same reference, 202, with "
                "Idempotent-Replayed: true); the same key with another body is a 422 problem."
            ),
            "parameters": [
                {
                    "name": "Idempotency-Key",
                    "in": "header",
                    "required": False,
                    "description": (
                        "A key the client makes up for this one application (a random UUID, "
                        "say) and sends again with every retry of it. Keys are kept 24 hours."
                    ),
                    "schema": {
                        "type": "string",
                        "minLength": 1,
                        "maxLength": 255,
                        "pattern": "^[\\x21-\\x7e]+$",
                    },
                    "example": "3f0c2a9e-5d1b-4c7e-9a51-0d6b2f8e7c41",
                }
            ],
            "requestBody": _json_body("ApplicationRequest", _APPLICATION_EXAMPLE),
            "responses": {
                "202": {
                    **_json_response(
                        "The application is accepted", "ApplicationAccepted", _ACCEPTED_EXAMPLE
                    ),
                    "headers": {
                        "Location": {
                            "description": (
                                "The status resource of this API, /api/v1/applications/status: "
                                "POST it the reference, passport number and date of birth. "
                                "(`status_url` in the body is the traveller's status page.)"
                            ),
                            "schema": {"type": "string", "format": "uri"},
                        },
                        "Idempotent-Replayed": {
                            "description": (
                                "`true` when this is the stored answer to an earlier request "
                                "with the same Idempotency-Key and body"
                            ),
                            "schema": {"type": "string", "enum": ["true"]},
                        },
                    },
                },
                **_BODY_PROBLEMS,
                "400": _problem(
                    "Malformed JSON, an empty body, or an Idempotency-Key that is not 1 to 255 "
                    "visible characters (`errors.Idempotency-Key`)"
                ),
                "413": _problem(
                    "Body larger than ETA_APPLICATION_MAX_BYTES (by default 1 MiB plus a "
                    "base64 photo of ETA_PHOTO_MAX_BYTES)"
                ),
                "422": _problem(
                    "Invalid fields (`errors` maps each field path to its messages; a photo "
                    "that fails the quality gate has its instructions under `errors.photo`), "
                    "or an Idempotency-Key already used with another body"
                ),
                "503": {
                    **_problem(
                        "The database or Redis is unreachable for a moment, or the photo "
                        "quality gate cannot run (Retry-After): send the application again later"
                    ),
                    "headers": {
                        "Retry-After": {
                            "description": "Seconds to wait before retrying",
                            "schema": {"type": "integer", "minimum": 1},
                            "example": 5,
                        }
                    },
                },
            },
        }
    },
    "/applications/status": {
        "post": {
            "operationId": "applicationStatus",
            "summary": "The status of an application",
            "requestBody": _json_body("StatusQuery", _STATUS_QUERY_EXAMPLE),
            "responses": {
                "200": _json_response(
                    "The application's status and timeline", "ApplicationStatus", _STATUS_EXAMPLE
                ),
                "404": _problem("No application with those details"),
                **_BODY_PROBLEMS,
            },
        }
    },
    "/applications/review": {
        "post": {
            "operationId": "requestReview",
            "summary": "Ask for the review of a refusal",
            "description": (
                "A refused traveller's request for a review: the same details as for the "
                "status (reference, passport number, date of birth), the grounds, and an "
                "optional supporting statement. Allowed once per refusal, within "
                "ETA_REVIEW_WINDOW_DAYS (default 28) of it. The application goes back to the "
                "officers' queue (status `referred`) and the traveller gets an email saying the "
                "request arrived; officers decide as on any referral, and a refusal needs a "
                "second officer again."
            ),
            "requestBody": _json_body("ReviewQuery", _REVIEW_QUERY_EXAMPLE),
            "responses": {
                "202": {
                    **_json_response(
                        "The request is recorded and the case is back with the officers",
                        "ReviewAccepted",
                        _REVIEW_ACCEPTED_EXAMPLE,
                    ),
                    "headers": {
                        "Location": {
                            "description": (
                                "The status resource of this API, /api/v1/applications/status"
                            ),
                            "schema": {"type": "string", "format": "uri"},
                        }
                    },
                },
                "404": _problem("No application with those details"),
                "409": {
                    **_problem(
                        "No review can be asked for: the application is not refused "
                        "(`review-not-possible`), this refusal's review was asked for already "
                        "(`review-already-requested`), or the window has closed "
                        "(`review-window-closed`)"
                    ),
                },
                **_BODY_PROBLEMS,
            },
        }
    },
}

SCHEMAS: dict[str, Any] = {
    **CARRIER_SCHEMAS,
    **PUBLIC_SCHEMAS,
    "Problem": PROBLEM_SCHEMA,
    "ApplicationRequest": {
        "type": "object",
        "required": [
            "given_names",
            "surname",
            "sex",
            "date_of_birth",
            "place_of_birth",
            "nationality",
            "passport",
            "email",
            "home_address",
            "occupation",
            "travel",
            "answers",
            "declaration",
        ],
        "properties": {
            "given_names": _text(description="As in the passport, any script"),
            "surname": _text(description="As in the passport, any script"),
            "latin_given_names": {
                **_text(
                    description=(
                        "SPEC §6 Names: required when given_names or surname is not in Latin "
                        "letters; the given names as printed in Latin letters on the passport's "
                        "data page. The token's `nam` is the MRZ form of the Latin name."
                    )
                ),
                "examples": ["Mohammed"],
            },
            "latin_surname": {
                **_text(
                    description=(
                        "SPEC §6 Names: the surname as printed in Latin letters on the "
                        "passport's data page (see latin_given_names); it must be compatible "
                        "with the native-script name."
                    )
                ),
                "examples": ["Al-Ali"],
            },
            "sex": {"type": "string", "enum": ["F", "M", "X"]},
            "date_of_birth": _DATE,
            "place_of_birth": _text(),
            "nationality": _COUNTRY,
            "passport": {
                "type": "object",
                "required": ["number", "issuing_country", "issue_date", "expiry_date"],
                "properties": {
                    "number": _text(
                        40, description="5-20 letters and digits; spaces, dashes ignored"
                    ),
                    "issuing_country": _COUNTRY,
                    "issue_date": _DATE,
                    "expiry_date": _DATE,
                    "mrz": _text(200, description="The two 44-character lines, newline separated"),
                },
            },
            "email": _text(254, format="email"),
            "phone": _text(30, description="E.164, e.g. +46701234567"),
            "home_address": {
                "type": "object",
                "required": ["line1", "city", "country"],
                "properties": {
                    "line1": _text(200),
                    "line2": _text(200),
                    "city": _text(),
                    "postcode": _text(20),
                    "country": _COUNTRY,
                },
            },
            "occupation": _text(200),
            "travel": {
                "type": "object",
                "required": ["purpose", "intended_arrival"],
                "properties": {
                    "purpose": {
                        "type": "string",
                        "enum": [
                            "tourism",
                            "business",
                            "family",
                            "transit",
                            "study",
                            "medical",
                            "other",
                        ],
                    },
                    "intended_arrival": {**_DATE, "description": "Within the next 12 months"},
                },
            },
            "answers": {
                "type": "object",
                "required": list(_ANSWER_NAMES),
                "properties": {
                    **{name: {"type": "boolean"} for name in _ANSWER_NAMES},
                    **{
                        f"{name}_details": _text(1000, description=f"Required when {name} is true")
                        for name in _ANSWER_NAMES
                    },
                },
            },
            "language": {"type": "string", "enum": list(LANGUAGES), "default": "en"},
            "declaration": {"type": "boolean", "const": True},
            "photo": {
                "type": "string",
                "contentEncoding": "base64",
                "contentMediaType": "image/jpeg",
                "description": (
                    "SPEC §6 Photo: a photo of the traveller's face, a JPEG or PNG file in "
                    "base64 (a `data:` URL is accepted too). At most ETA_PHOTO_MAX_BYTES "
                    "(5 MiB) decoded and ETA_PHOTO_MAX_PIXELS (24 megapixels), at least "
                    "ETA_PHOTO_MIN_SIDE (300) pixels wide and high. It goes through a quality "
                    "gate (exactly one face, size, centred and not cut off, facing the camera, "
                    "exposure, contrast, sharpness, no strong shadow): each failed measure is "
                    "one instruction under `errors.photo` in a 422. Optional unless the "
                    "service sets ETA_PHOTO_REQUIRED. Re-encoded and stored encrypted; never "
                    "in the token, the QR code or any answer."
                ),
            },
            "chip": {
                "type": "object",
                "required": ["sod", "dg1", "dg2"],
                "description": (
                    "SPEC §6 Chip: the passport chip's files as a phone app or kiosk reads them "
                    "(ICAO 9303 Part 10), each in base64, at most ETA_CHIP_MAX_BYTES (256 KiB) "
                    "decoded. DG1's machine-readable zone must agree with the application: a "
                    'difference is a 422 under `errors["chip.dg1"]`, a file that is not what '
                    'it claims under `errors["chip.sod"]` and so on. Screening then checks '
                    "the SOD's signature, the document signer against the imported CSCA "
                    "certificates and the data groups' hashes (passive authentication), and "
                    "matches the photo against DG2's face: a failure refers the application to "
                    "an officer, never refuses it. Optional; stored encrypted."
                ),
                "properties": {
                    name: {
                        "type": "string",
                        "contentEncoding": "base64",
                        "description": description,
                        "examples": [example],
                    }
                    for name, description, example in (
                        # The start of a real EF.SOD and DG2 (a whole one is 1 and 25 KB), and
                        # the whole DG1 of the specimen application's passport.
                        (
                            "sod",
                            "EF.SOD: 0x77 around a CMS SignedData (example cut short)",
                            "d4IDZjCCA2IGCSqGSIb3DQEHAqCCA1MwggNPAgEDMQ8wDQYJ",
                        ),
                        ("dg1", "DG1: 0x61 around 0x5F1F, the MRZ", _SPECIMEN_DG1),
                        (
                            "dg2",
                            "DG2: 0x75, the facial image (JPEG or JPEG2000; example cut short)",
                            "dYJKzH9hgkrHAgEBf2CCSr+hBIECAQFfLoJKtEZBQwAwMTAA",
                        ),
                    )
                },
            },
        },
    },
    "ApplicationAccepted": {
        "type": "object",
        "required": ["reference", "status", "status_url"],
        "properties": {
            "reference": {
                "type": "string",
                "pattern": "^ETA-[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{2}$",
            },
            "status": {"type": "string", "enum": ["submitted"]},
            "status_url": {"type": "string"},
        },
    },
    "ReviewQuery": {
        "type": "object",
        "required": ["reference", "passport_number", "date_of_birth", "grounds"],
        "properties": {
            "reference": _FILLED,
            "passport_number": _FILLED,
            "date_of_birth": _DATE,
            "grounds": {
                "type": "string",
                "minLength": 1,
                "maxLength": 5000,
                "pattern": "\\S",
                "description": "Why the traveller thinks the refusal is wrong",
            },
            "statement": {
                "type": "string",
                "maxLength": 5000,
                "description": "Optional: anything else the officer should know",
            },
        },
    },
    "ReviewAccepted": {
        "type": "object",
        "required": ["reference", "status", "review", "status_url"],
        "properties": {
            "reference": {"type": "string"},
            "status": {"type": "string", "enum": ["referred"]},
            "review": {
                "type": "object",
                "required": ["requested_at"],
                "properties": {"requested_at": {"type": "string", "format": "date-time"}},
            },
            "status_url": {"type": "string"},
        },
    },
    "StatusQuery": {
        "type": "object",
        "required": ["reference", "passport_number", "date_of_birth"],
        "properties": {
            "reference": _FILLED,
            "passport_number": _FILLED,
            "date_of_birth": _DATE,
        },
    },
    "ApplicationStatus": {
        "type": "object",
        "required": ["reference", "status", "events"],
        "properties": {
            "reference": {"type": "string"},
            "status": {
                "type": "string",
                "enum": [
                    "submitted",
                    "screening",
                    "referred",
                    "info_requested",
                    "approved",
                    "refused",
                    "revoked",
                    "withdrawn",
                    "expired",
                ],
            },
            "status_url": {"type": "string"},
            "events": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["at", "status"],
                    "properties": {
                        "at": {"type": "string", "format": "date-time"},
                        "status": {"type": "string"},
                    },
                },
            },
            "valid_until": {"type": "string", "format": "date-time"},
            "authorisation": {
                "type": "object",
                "required": ["token", "pdf_url"],
                "properties": {
                    "token": {"type": "string"},
                    "pdf_url": {"type": "string"},
                },
            },
        },
    },
}


def register_paths(paths: dict[str, Any], schemas: dict[str, Any] | None = None) -> None:
    """Add endpoints (and their schemas) from another module to the API description."""
    for path, operations in paths.items():
        PATHS.setdefault(path, {}).update(operations)
    SCHEMAS.update(schemas or {})


SECURITY_SCHEMES: dict[str, Any] = {**CARRIER_SECURITY_SCHEMES}


# The edge (eta.web.edge) answers 400 before any view to a request whose path, query or form
# holds NUL or a lone surrogate, so every operation can answer it.
_EDGE_PROBLEM = _problem("A query parameter or the path holds NUL or a lone surrogate")

# Every operation answers 503 while the database or Redis is unreachable (eta.web.errors).
_UNAVAILABLE: dict[str, Any] = {
    **_problem("The database or Redis is unreachable for a moment (a restart): retry later"),
    "headers": {
        "Retry-After": {
            "description": "Seconds to wait before retrying (ETA_RETRY_AFTER_SECONDS)",
            "schema": {"type": "integer", "minimum": 1},
            "example": 5,
        }
    },
}

# The `errors` of each operation's example 422: a message it really sends.
VALIDATION_EXAMPLES: dict[str, dict[str, list[str]]] = {
    "submitApplication": {"passport.number": ["Enter your passport number"]},
    "applicationStatus": {"date_of_birth": ["Enter your date of birth."]},
    "requestReview": {"grounds": ["Tell us why you think the decision is wrong"]},
    "auditConsistency": {"from": ["Must not be larger than `to`."]},
    "carrierVerify": {"travel_date": ["Must be a real date written as YYYY-MM-DD."]},
    "carrierVerifyBatch": {"passengers": ["Send a list of passengers."]},
    "carrierVerifyManifest": {
        "message PAX417, segment 48": ["UNT counts 44 segments, the message has 45 (UNH to UNT)"]
    },
}


def problem_example(status: int, description: str, operation_id: str = "") -> dict[str, Any]:
    """An example problem answer for `status`, in the shape eta.web.problems builds."""
    if status == 422:
        return {
            "type": PROBLEM_BASE + "validation",
            "title": "Your request has errors",
            "status": 422,
            "detail": "Some fields are missing or not valid: see errors.",
            "errors": VALIDATION_EXAMPLES.get(operation_id, {"field": ["Enter a value."]}),
        }
    if status == 503:
        return {
            "type": PROBLEM_BASE + "unavailable",
            "title": "Service Unavailable",
            "status": 503,
            "detail": "The service is unavailable for a moment. "
            "Retry after the number of seconds in Retry-After.",
        }
    return {
        "type": "about:blank",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": description.split(" (")[0].rstrip(".") + ".",
    }


def _with_common_responses(paths: dict[str, Any]) -> dict[str, Any]:
    """A copy of the paths where every operation lists the edge's 400 (unless it has its own)
    and the 503, and every problem answer without an example gets one."""
    paths = copy.deepcopy(paths)
    for item in paths.values():
        for operation in item.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            responses = {"400": _EDGE_PROBLEM, **operation["responses"]}
            responses.setdefault("503", _UNAVAILABLE)
            operation["responses"] = responses = copy.deepcopy(responses)
            for status, answer in responses.items():
                media = answer.get("content", {}).get(PROBLEM_MIME)
                if media is not None and "example" not in media:
                    media["example"] = problem_example(
                        int(status), answer["description"], operation.get("operationId", "")
                    )
    return paths


def openapi_document() -> dict[str, Any]:
    """Return the OpenAPI document describing every endpoint and schema of the JSON API."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": f"{current_app.config['ETA_SERVICE_NAME']} API",
            "version": "1",
            "description": "Apply for an ETA, check its status, and verify authorisations.",
        },
        "servers": [{"url": "/", "description": "This deployment (ETA_PUBLIC_URL)"}],
        "paths": _with_common_responses(
            {**{API_PREFIX + path: item for path, item in PATHS.items()}, **ROOT_PATHS}
        ),
        "components": {"securitySchemes": SECURITY_SCHEMES, "schemas": SCHEMAS},
    }
