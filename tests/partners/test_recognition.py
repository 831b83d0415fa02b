"""Mutual recognition: a partner's key verifies only that partner's tokens, while vouched for."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec

from eta.issuance.keys import SigningKey, key_id, public_jwk
from eta.issuance.tokens import AuthorisationClaims, issue
from eta.partners.recognition import PartnerTokens
from eta.partners.trustlist import read_trust_list, sign_trust_list

NOW = dt.datetime(2026, 12, 3, 12, tzinfo=dt.UTC)


def _key() -> SigningKey:
    private_key = ec.generate_private_key(ec.SECP256R1())
    return SigningKey(kid=key_id(private_key.public_key()), private_key=private_key)


def _entry(partner_id: str, key: SigningKey, issuer: str, **changes: Any) -> dict[str, Any]:
    entry = {
        "id": partner_id,
        "country": "NOR",
        "roles": ["authorisation_issuer"],
        "issuer": issuer,
        "keys": [
            {
                "jwk": public_jwk(key.private_key.public_key(), key.kid),
                "purpose": "token_signing",
                "not_before": int((NOW - dt.timedelta(days=1)).timestamp()),
                "not_after": int((NOW + dt.timedelta(days=30)).timestamp()),
            }
        ],
    }
    entry.update(changes)
    return entry


def _tokens(*entries: dict[str, Any]) -> PartnerTokens:
    anchor = _key()
    token = sign_trust_list(
        list(entries),
        issuer="https://anchor.example",
        sequence=1,
        next_update=NOW + dt.timedelta(days=7),
        anchor=anchor,
        now=NOW,
    )
    jwks = {"keys": [public_jwk(anchor.private_key.public_key(), anchor.kid)]}
    return PartnerTokens(
        read_trust_list(token, jwks, now=NOW, last_sequence=None).token_issuers(NOW)
    )


def _token(key: SigningKey, issuer: str) -> str:
    claims = AuthorisationClaims(
        reference="NOR-1",
        jti="nor-jti-1",
        issued_at=NOW,
        valid_from=NOW,
        valid_until=NOW + dt.timedelta(days=300),
        passport_number="NB4711234",
        issuing_country="NOR",
        surname_mrz="HANSEN",
        given_names_mrz="KARI",
        date_of_birth=dt.date(1990, 1, 1),
    )
    return issue(claims, key, issuer)


def test_a_partners_key_verifies_its_own_tokens_and_no_one_elses():
    nordland, sudland = _key(), _key()
    tokens = _tokens(
        _entry("nordland", nordland, "https://eta.nordland.example"),
        _entry("sudland", sudland, "https://eta.sudland.example"),
    )
    result = tokens.verify(_token(nordland, "https://eta.nordland.example"), NOW)
    assert result is not None and result.ok and result.claims["sub"] == "NOR-1"
    # Nordland's key signing a token in Sudland's name, or in ours: refused.
    for issuer in ("https://eta.sudland.example", "https://eta.utopia.example"):
        forged = tokens.verify(_token(nordland, issuer), NOW)
        assert forged is not None and (forged.ok, forged.detail) == (False, "wrong_iss")
    assert tokens.verify(_token(_key(), "https://eta.nordland.example"), NOW) is None
    mismatch = tokens.verify(
        _token(nordland, "https://eta.nordland.example"), NOW, expected_passport_number="X1"
    )
    assert mismatch is not None and mismatch.reason == "document_mismatch"


def test_a_suspended_partner_or_a_feed_key_recognises_nothing():
    key = _key()
    assert not _tokens(_entry("nordland", key, "https://eta.nordland.example", status="suspended"))
    assert not _tokens(
        _entry("nordland", key, "https://eta.nordland.example", roles=["sltd_publisher"])
    )


def test_import_refuses_an_anchor_other_than_the_pinned_one(runner, tmp_path: Path):
    from eta.partners.cli import sign

    store = tmp_path / "trust" / "trust-list.jws"
    made = []
    for name in ("first", "second"):
        pem = tmp_path / f"{name}.pem"
        out = runner.invoke(args=["trust", "anchor-key", str(pem)])
        (tmp_path / f"{name}.jwks").write_text(out.output)
        made.append(pem)
    partners = tmp_path / "partners.json"
    partners.write_text(json.dumps({"partners": []}))
    signed = runner.invoke(
        sign,
        [str(partners), "--anchor-key", str(made[0]), "--issuer", "https://anchor.example",
         "--sequence", "1"],
    )  # fmt: skip
    (tmp_path / "list.jws").write_text(signed.output)
    first = runner.invoke(args=["trust", "import", str(tmp_path / "list.jws"), "--anchor",
                                str(tmp_path / "first.jwks"), "--store", str(store)])  # fmt: skip
    assert first.exit_code == 0, first.output
    assert (store.parent / "trust-anchor.jwks").exists()  # pinned
    other = runner.invoke(args=["trust", "import", str(tmp_path / "list.jws"), "--anchor",
                                str(tmp_path / "second.jwks"), "--store", str(store)])  # fmt: skip
    assert other.exit_code == 1
    assert "trust list refused (anchor)" in other.output
