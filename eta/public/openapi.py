"""The public key and revocation endpoints' part of the OpenAPI document."""

from __future__ import annotations

from typing import Any

JWKS_MEDIA_TYPE = "application/jwk-set+json"

JWK_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["kty", "crv", "x", "y", "kid", "use", "alg"],
    "properties": {
        "kty": {"const": "EC"},
        "crv": {"const": "P-256"},
        "x": {"type": "string"},
        "y": {"type": "string"},
        "kid": {"type": "string"},
        "use": {"const": "sig"},
        "alg": {"const": "ES256"},
    },
}

PUBLIC_SCHEMAS: dict[str, Any] = {
    "JWK": JWK_SCHEMA,
    "JWKS": {
        "type": "object",
        "required": ["keys"],
        "properties": {"keys": {"type": "array", "items": {"$ref": "#/components/schemas/JWK"}}},
    },
}

PUBLIC_PATHS: dict[str, Any] = {
    "/revocations": {
        "get": {
            "operationId": "revocationList",
            "summary": "The signed list of revoked authorisations",
            "description": (
                "A compact JWS (typ eta-revocations+jwt, ES256) whose claims are iss, iat, ver "
                "and revoked: base64url of the first 16 bytes of SHA-256(jti) of each revoked "
                "token. Public, CORS-open, cacheable (ETag, max-age)."
            ),
            "responses": {
                "200": {
                    "description": "The current list",
                    "content": {
                        "application/jwt": {
                            "schema": {"type": "string"},
                            "example": "eyJhbGciOiJFUzI1NiIsImtpZCI6IjIwMjYtMTItYTFiMiIsInR5cCI6"
                            "ImV0YS1yZXZvY2F0aW9ucytqd3QifQ.eyJpc3MiOiJodHRwczovL2V0YS5leGFtcGxl"
                            "Lmdvdi...fQ.MEUCIQDx...",
                        }
                    },
                },
                "304": {"description": "Unchanged since the ETag sent in If-None-Match"},
            },
        }
    },
}

# Served at the site root, where RFC 8615 puts well-known URIs, not under /api/v1.
ROOT_PATHS: dict[str, Any] = {
    "/.well-known/jwks.json": {
        "get": {
            "operationId": "signingKeys",
            "summary": "The public keys that sign authorisations (JWKS)",
            "description": (
                "Every key whose tokens may still be valid, plus the next key. Public, "
                "CORS-open, cacheable (ETag, max-age)."
            ),
            "responses": {
                "200": {
                    "description": "The key set",
                    "content": {
                        # RFC 7517 §8.5's media type, as served.
                        JWKS_MEDIA_TYPE: {
                            "schema": {"$ref": "#/components/schemas/JWKS"},
                            "example": {
                                "keys": [
                                    {
                                        "kty": "EC",
                                        "crv": "P-256",
                                        "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
                                        "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0",
                                        "kid": "2026-12-a1b2",
                                        "use": "sig",
                                        "alg": "ES256",
                                    }
                                ]
                            },
                        }
                    },
                },
                "304": {"description": "Unchanged since the ETag sent in If-None-Match"},
            },
        },
    },
}
