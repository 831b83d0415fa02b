"""The partner trust list: signed by the anchor, refused when tampered, replayed or stale."""

from __future__ import annotations

import base64
import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from eta.issuance.keys import SigningKey, key_id, public_jwk
from eta.issuance.tokens import AuthorisationClaims, issue, verify
from eta.partners.trustlist import TrustListError, read_trust_list, sign_trust_list

NOW = datetime(2026, 12, 3, 12, tzinfo=UTC)


def _key() -> SigningKey:
    private_key = ec.generate_private_key(ec.SECP256R1())
    return SigningKey(kid=key_id(private_key.public_key()), private_key=private_key)


def _jwks(key: SigningKey) -> dict[str, Any]:
    return {"keys": [public_jwk(key.private_key.public_key(), key.kid)]}


def _partner(token_key: SigningKey, **changes: Any) -> dict[str, Any]:
    entry = {
        "id": "nordland-border",
        "country": "NOR",
        "roles": ["authorisation_issuer", "sltd_publisher"],
        "issuer": "https://eta.nordland.example",
        "endpoints": {"jwks": "https://eta.nordland.example/.well-known/jwks.json"},
        "keys": [
            {
                "jwk": public_jwk(token_key.private_key.public_key(), token_key.kid),
                "purpose": "token_signing",
                "not_before": int((NOW - timedelta(days=30)).timestamp()),
                "not_after": int((NOW + timedelta(days=365)).timestamp()),
            }
        ],
    }
    entry.update(changes)
    return entry


def _signed(anchor: SigningKey, partners: list[dict[str, Any]], sequence: int = 2) -> str:
    return sign_trust_list(
        partners,
        issuer="https://anchor.example",
        sequence=sequence,
        next_update=NOW + timedelta(days=7),
        anchor=anchor,
        now=NOW,
    )


def test_a_partners_tokens_verify_at_our_carriers_when_the_list_says_so():
    anchor, partner_key = _key(), _key()
    trust_list = read_trust_list(
        _signed(anchor, [_partner(partner_key)]), _jwks(anchor), now=NOW, last_sequence=1
    )
    (partner,) = trust_list.partners
    assert (partner.id, partner.country, trust_list.sequence) == ("nordland-border", "NOR", 2)
    claims = AuthorisationClaims(
        reference="NOR-1",
        jti="nor-jti-1",
        issued_at=NOW,
        valid_from=NOW,
        valid_until=NOW + timedelta(days=300),
        passport_number="N1234567",
        issuing_country="NOR",
        surname_mrz="HANSEN",
        given_names_mrz="KARI",
        date_of_birth=date(1990, 1, 1),
    )
    token = issue(claims, partner_key, "https://eta.nordland.example")
    keys = trust_list.token_keys(NOW + timedelta(hours=1))
    assert verify(token, keys, (), NOW + timedelta(hours=1), "https://eta.nordland.example").ok
    # A suspended partner, or a key past its validity, is no longer recognised.
    suspended = read_trust_list(
        _signed(anchor, [_partner(partner_key, status="suspended")], sequence=3),
        _jwks(anchor),
        now=NOW,
        last_sequence=2,
    )
    assert len(suspended.token_keys(NOW)) == 0
    assert len(trust_list.token_keys(NOW + timedelta(days=400))) == 0


def _tamper(token: str) -> str:
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["partners"][0]["country"] = "XXX"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return ".".join([header, forged, signature])


@pytest.mark.parametrize(
    ("case", "detail", "said"),
    [
        ("tampered", "bad_signature", "does not verify"),
        ("other anchor", "unknown_kid", "does not verify"),
        ("replayed", "replayed", "sequence 2 is not newer than the list in use (2)"),
        ("older", "replayed", "sequence 2 is not newer than the list in use (5)"),
        ("stale", "stale", "was due to be replaced"),
    ],
)
def test_a_tampered_replayed_or_stale_list_is_refused_saying_why(case, detail, said):
    anchor, partner_key = _key(), _key()
    token = _signed(anchor, [_partner(partner_key)])
    jwks, now, last = _jwks(anchor), NOW, 1
    if case == "tampered":
        token = _tamper(token)
    elif case == "other anchor":
        jwks = _jwks(_key())
    elif case == "replayed":
        last = 2
    elif case == "older":
        last = 5
    elif case == "stale":
        now = NOW + timedelta(days=8)
    with pytest.raises(TrustListError) as refused:
        read_trust_list(token, jwks, now=now, last_sequence=last)
    assert refused.value.detail == detail
    assert said in str(refused.value)


@pytest.mark.parametrize(
    "changes",
    [
        {"country": "no"},
        {"roles": ["everything"]},
        {"endpoints": {"jwks": "http://plain.example"}},
        {"keys": [{"jwk": {"kty": "RSA"}, "purpose": "token_signing"}]},
        {"id": "Nordland Border"},
        {"issuer": None},  # token signing keys need the iss their tokens carry
        {"issuer": "ftp://eta.nordland.example"},
    ],
)
def test_the_anchor_never_signs_a_malformed_entry(changes):
    with pytest.raises(TrustListError) as refused:
        _signed(_key(), [_partner(_key(), **changes)])
    assert refused.value.detail == "malformed"


def test_sign_and_import_commands_keep_the_newest_list(runner, tmp_path: Path):
    pem, store = tmp_path / "anchor.pem", tmp_path / "in-use.jws"
    made = runner.invoke(args=["trust", "anchor-key", str(pem)])
    assert made.exit_code == 0, made.output
    (tmp_path / "anchor.jwks").write_text(made.output)
    assert pem.stat().st_mode & 0o077 == 0  # the private key is readable by its owner only
    (tmp_path / "partners.json").write_text(json.dumps({"partners": [_partner(_key())]}))

    def sign(sequence: int) -> Path:
        signed = runner.invoke(
            args=[
                "trust", "sign", str(tmp_path / "partners.json"), "--anchor-key", str(pem),
                "--issuer", "https://anchor.example", "--sequence", str(sequence),
            ]
        )  # fmt: skip
        assert signed.exit_code == 0, signed.output
        path = tmp_path / f"list-{sequence}.jws"
        path.write_text(signed.output)
        return path

    def load(path: Path) -> Any:
        return runner.invoke(
            args=["trust", "import", str(path), "--anchor", str(tmp_path / "anchor.jwks"),
                  "--store", str(store)]
        )  # fmt: skip

    first, second = sign(1), sign(2)
    assert "trust list 1 from https://anchor.example in use: nordland-border (NOR)" in (
        load(first).output
    )
    assert load(second).exit_code == 0
    replayed = load(first)
    assert replayed.exit_code == 1
    assert "trust list refused (replayed): sequence 1 is not newer" in replayed.output
    assert store.read_text().strip() == second.read_text().strip()  # the newer one stays
    assert runner.invoke(args=["trust", "anchor-key", str(pem)]).exit_code == 1  # never overwritten
