"""API problems speak the client's Accept-Language: title, detail and field errors (RFC 9457)."""

from __future__ import annotations

import pytest

from tests.factories import valid_payload

APPLY_URL = "/api/v1/applications"
STATUS_URL = "/api/v1/applications/status"

# What each language must say: the validation problem, a missing surname, the status API's
# missing reference, a body that is not JSON, and an unknown address.
EXPECTED = {
    "es": {
        "title": "Su petición contiene errores",
        "detail": "Faltan algunos campos o no son válidos: consulte errors.",
        "surname": "Introduzca sus apellidos",
        "reference": "Introduzca la referencia de su solicitud.",
        "bad_request": "Petición incorrecta",
        "not_json": "El cuerpo de la petición no es JSON válido: ",
        "not_found": "No encontrado",
    },
    "de": {
        "title": "Ihre Anfrage enthält Fehler",
        "detail": "Einige Felder fehlen oder sind ungültig: siehe errors.",
        "surname": "Geben Sie Ihren Nachnamen ein",
        "reference": "Geben Sie die Referenznummer Ihres Antrags ein.",
        "bad_request": "Ungültige Anfrage",
        "not_json": "Der Anfragetext ist kein gültiges JSON: ",
        "not_found": "Nicht gefunden",
    },
}


def _problem(response, status: int, language: str) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)[:300]
    assert response.mimetype == "application/problem+json"
    assert response.headers["Content-Language"] == language
    return response.get_json(force=True)


@pytest.mark.parametrize("language", sorted(EXPECTED))
def test_a_validation_problem_is_in_the_clients_language(client, language):
    words = EXPECTED[language]
    payload = valid_payload()
    del payload["surname"]
    response = client.post(APPLY_URL, json=payload, headers={"Accept-Language": language})
    body = _problem(response, 422, language)
    assert body["title"] == words["title"]
    assert body["detail"] == words["detail"]
    assert body["errors"]["surname"] == [words["surname"]]


@pytest.mark.parametrize("language", sorted(EXPECTED))
def test_status_api_problems_are_in_the_clients_language(client, language):
    words = EXPECTED[language]
    headers = {"Accept-Language": f"{language};q=0.9, en;q=0.5"}
    body = _problem(client.post(STATUS_URL, json={}, headers=headers), 422, language)
    assert body["errors"]["reference"] == [words["reference"]]
    malformed = client.post(
        STATUS_URL, data="{not json", content_type="application/json", headers=headers
    )
    body = _problem(malformed, 400, language)
    assert body["title"] == words["bad_request"]
    assert body["detail"].startswith(words["not_json"])
    body = _problem(client.get("/api/v1/nothing-here", headers=headers), 404, language)
    assert body["title"] == words["not_found"]
    assert "not found" not in body["detail"].lower()


def test_english_stays_as_written(client):
    body = _problem(client.post(STATUS_URL, json={}), 422, "en")
    assert body["title"] == "Your request has errors"
    assert body["errors"]["reference"] == ["Enter your application reference."]
