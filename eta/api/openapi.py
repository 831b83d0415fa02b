"""The OpenAPI 3.1 document for /api/v1, built as data so tests can check responses against it."""

from __future__ import annotations

from typing import Any

from flask import current_app

from eta.carrier.openapi import CARRIER_PATHS, CARRIER_SCHEMAS, CARRIER_SECURITY_SCHEMES

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


def openapi_document() -> dict[str, Any]:
    """Return the OpenAPI document describing every endpoint and schema of the JSON API."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": f"{current_app.config['ETA_SERVICE_NAME']} API",
            "version": "1",
            "description": "Apply for an ETA, check its status, and verify authorisations.",
        },
        "servers": [{"url": "/api/v1"}],
        "paths": {
            **CARRIER_PATHS,
            "/applications/status": {
                "post": {
                    "operationId": "applicationStatus",
                    "summary": "The status of an application",
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/StatusQuery"}
                            }
                        },
                    },
                    "responses": {
                        "200": {
                            "description": "The application's status and timeline",
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": "#/components/schemas/ApplicationStatus"}
                                }
                            },
                        },
                        "400": _problem("Malformed JSON"),
                        "404": _problem("No application with those details"),
                        "413": _problem("Body too large"),
                        "415": _problem("Not JSON"),
                        "422": _problem("Invalid fields"),
                        "429": _problem("Too many requests"),
                    },
                }
            },
        },
        "components": {
            "securitySchemes": CARRIER_SECURITY_SCHEMES,
            "schemas": {
                **CARRIER_SCHEMAS,
                "Problem": PROBLEM_SCHEMA,
                "StatusQuery": {
                    "type": "object",
                    "required": ["reference", "passport_number", "date_of_birth"],
                    "properties": {
                        "reference": {"type": "string", "maxLength": 100},
                        "passport_number": {"type": "string", "maxLength": 100},
                        "date_of_birth": {"type": "string", "format": "date"},
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
                            "properties": {
                                "token": {"type": "string"},
                                "pdf_url": {"type": "string"},
                            },
                        },
                    },
                },
            },
        },
    }
