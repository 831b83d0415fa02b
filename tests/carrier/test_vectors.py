"""docs/test-vectors/ (SPEC §6): checked by an independent verifier and by the page's own JS.

The independent verifier below uses joserfc (not PyJWT, which eta signs and verifies with)
for the JWS, and follows SPEC §5's order for the claims itself. The JavaScript check runs the
check-in page's verifier.js under Node's test runner (tests/carrier/js/vectors.test.js).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
import zxingcpp
from joserfc import jws
from joserfc.errors import BadSignatureError, InvalidKeyIdError
from joserfc.jwk import KeySet
from PIL import Image

from eta.carrier.vectors import ISSUER
from eta.issuance.revocations import read_revocation_list
from eta.issuance.tokens import verify

ROOT = Path(__file__).resolve().parents[2]
COMMITTED = ROOT / "docs" / "test-vectors"
CASES = [
    "valid",
    "expired",
    "not-yet-valid",
    "revoked",
    "unknown-kid",
    "bad-signature",
    "wrong-audience",
    "document-mismatch",
]


def _independent_answer(folder: Path, case: str) -> dict[str, str]:
    """What a carrier's own verifier answers, written from SPEC §5 alone (with joserfc)."""
    keys = KeySet.import_key_set(json.loads((folder / "jwks.json").read_text()))
    index = json.loads((folder / "index.json").read_text())
    listing = jws.deserialize_compact(
        (folder / "revocations.jws").read_text().strip(), keys, algorithms=["ES256"]
    )
    assert listing.headers()["typ"] == "eta-revocations+jwt"
    revoked = json.loads(listing.payload)["revoked"]
    token = (folder / case / "token.txt").read_text().strip()
    passport = json.loads((folder / case / "expected.json").read_text())["passport"]
    no = {"result": "NOT_OK", "reason": "invalid_signature"}
    header = json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))
    if header.get("typ") != "eta+jwt":
        return no
    try:
        checked = jws.deserialize_compact(token, keys, algorithms=["ES256"])
    except (InvalidKeyIdError, BadSignatureError):
        return no
    claims = json.loads(checked.payload)
    if claims["iss"] != index["issuer"] or claims["aud"] != "eta-carriers":
        return no
    now = time.time()
    if claims["nbf"] > now:
        return {"result": "NOT_OK", "reason": "pending"}
    if claims["exp"] <= now:
        return {"result": "NOT_OK", "reason": "expired"}
    digest = hashlib.sha256(claims["jti"].encode()).digest()[:16]
    if base64.urlsafe_b64encode(digest).rstrip(b"=").decode() in revoked:
        return {"result": "NOT_OK", "reason": "revoked"}
    if (claims["doc"]["num"], claims["doc"]["cty"]) != (
        passport["number"],
        passport["issuing_country"],
    ):
        return {"result": "NOT_OK", "reason": "document_mismatch"}
    return {"result": "OK", "reason": "ok"}


def _expected(folder: Path, case: str) -> dict[str, Any]:
    return json.loads((folder / case / "expected.json").read_text())


def _check_folder(folder: Path) -> None:
    assert json.loads((folder / "index.json").read_text())["cases"] == CASES
    jwks = json.loads((folder / "jwks.json").read_text())
    for case in CASES:
        expected = _expected(folder, case)
        assert _independent_answer(folder, case) == {
            "result": expected["result"],
            "reason": expected["reason"],
        }, case
        # eta's own verifier agrees, down to the check that decides.
        token = (folder / case / "token.txt").read_text().strip()
        revoked = read_revocation_list(
            (folder / "revocations.jws").read_text().strip(), jwks, ISSUER
        ).revoked
        outcome = verify(
            token,
            jwks,
            revoked,
            dt.datetime.now(dt.UTC),
            ISSUER,
            expected_passport_number=expected["passport"]["number"],
            expected_country=expected["passport"]["issuing_country"],
        )
        assert (outcome.reason, outcome.detail) == (expected["reason"], expected["detail"]), case
        # The QR code holds the token as is (read by zxing-cpp, not by eta's reader).
        # zxing-cpp may report the one symbol more than once: what it read must be the token.
        symbols = zxingcpp.read_barcodes(
            Image.open(folder / case / "qr.png"), formats=zxingcpp.BarcodeFormat.QRCode
        )
        assert symbols and {symbol.text for symbol in symbols} == {token}, case


def test_the_committed_vectors_give_their_expected_answers():
    _check_folder(COMMITTED)


def test_the_command_writes_vectors_that_give_their_expected_answers(runner, tmp_path):
    result = runner.invoke(args=["vectors", "generate", str(tmp_path / "vectors")])
    assert result.exit_code == 0, result.output
    assert "8 cases written" in result.output
    _check_folder(tmp_path / "vectors")
    assert sorted(p.name for p in (tmp_path / "vectors").iterdir()) == sorted(
        [*CASES, "index.json", "jwks.json", "revocations.jws"]
    )


def _node() -> str:
    node = shutil.which("node")
    if node is None:
        if os.environ.get("CI"):
            pytest.fail("node is missing in CI: .ci/run installs Debian's nodejs")
        pytest.skip("NODE IS NOT INSTALLED: the check-in page's verifier was NOT run")
    return node


@pytest.mark.parametrize("source", ["committed", "generated"])
def test_the_check_in_pages_verifier_gives_the_expected_answers(runner, tmp_path, source):
    folder = COMMITTED
    if source == "generated":
        folder = tmp_path / "vectors"
        assert runner.invoke(args=["vectors", "generate", str(folder)]).exit_code == 0
    completed = subprocess.run(
        [_node(), "--test", str(ROOT / "tests" / "carrier" / "js")],
        env={**os.environ, "ETA_VECTORS": str(folder)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert f"# pass {len(CASES) + 1}" in completed.stdout
