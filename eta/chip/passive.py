"""Passive authentication (ICAO 9303 Part 11 §5.1): is the chip's data the issuing state's?

Three links are checked, each with `cryptography` on structures asn1crypto read:
1. the SOD's CMS signature: the signed attributes' message digest is the hash of the LDS
   security object, and the document signer's key signed those attributes;
2. the data groups: each one's hash is the one the SOD signed;
3. the document signer certificate: an imported CSCA certificate issued it, and both are
   within their validity at the time of the check.

The outcome is one of four; it only informs an officer (see eta/screening/chip.py).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from asn1crypto import cms
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from eta.chip.lds import LDS_SECURITY_OBJECT, Sod

_HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "sha1": hashes.SHA1,
    "sha224": hashes.SHA224,
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
    "sha512": hashes.SHA512,
}


class Outcome(StrEnum):
    """What passive authentication concluded."""

    VERIFIED = "verified"
    TAMPERED = "tampered"  # a data group's hash or the SOD's signature does not check out
    UNKNOWN_CSCA = "unknown_csca"  # no imported CSCA certificate issued the document signer
    SIGNER_EXPIRED = "signer_expired"  # the document signer (or its CSCA) is out of validity


@dataclass(frozen=True, slots=True)
class Verdict:
    """The outcome, why (in an officer's words, English like the other findings) and facts."""

    outcome: Outcome
    reason: str
    details: dict[str, Any] = field(default_factory=dict)


class UnsupportedChip(ValueError):
    """The SOD uses an algorithm eta cannot check: screening records the check as failed."""


def _digest(name: str, data: bytes) -> bytes:
    if name not in _HASHES:
        raise UnsupportedChip(f"hash algorithm {name} is not supported")
    return hashlib.new(name, data).digest()


def _signer_certificate(signed: cms.SignedData, signer: cms.SignerInfo) -> x509.Certificate | None:
    """The certificate in the SOD that the signer info names (issuer and serial, or key id)."""
    sid = signer["sid"]
    for choice in signed["certificates"] or []:
        if choice.name != "certificate":
            continue
        cert: asn1_x509.Certificate = choice.chosen
        if sid.name == "issuer_and_serial_number":
            wanted = sid.chosen
            if (
                cert.issuer == wanted["issuer"]
                and cert.serial_number == wanted["serial_number"].native
            ):
                return x509.load_der_x509_certificate(cert.dump())
        elif cert.key_identifier == sid.chosen.native:
            return x509.load_der_x509_certificate(cert.dump())
    return None


def _verify_signature(
    public_key: Any, signature: bytes, data: bytes, algorithm: Any, hash_name: str
) -> None:
    """Verify a CMS signature (RSA PKCS#1 v1.5, RSA-PSS or ECDSA); InvalidSignature if not."""
    kind = algorithm.signature_algo
    if kind == "rsassa_pss":
        params = algorithm["parameters"]
        pss_hash = params["hash_algorithm"]["algorithm"].native
        mgf_hash = params["mask_gen_algorithm"]["parameters"]["algorithm"].native
        if pss_hash not in _HASHES or mgf_hash not in _HASHES:
            raise UnsupportedChip(f"RSA-PSS with {pss_hash}/{mgf_hash} is not supported")
        if not isinstance(public_key, rsa.RSAPublicKey):
            raise InvalidSignature
        public_key.verify(
            signature,
            data,
            padding.PSS(padding.MGF1(_HASHES[mgf_hash]()), params["salt_length"].native),
            _HASHES[pss_hash](),
        )
    elif kind == "rsassa_pkcs1v15":
        if not isinstance(public_key, rsa.RSAPublicKey):
            raise InvalidSignature
        public_key.verify(signature, data, padding.PKCS1v15(), _HASHES[hash_name]())
    elif kind == "ecdsa":
        if not isinstance(public_key, ec.EllipticCurvePublicKey):
            raise InvalidSignature
        public_key.verify(signature, data, ec.ECDSA(_HASHES[hash_name]()))
    else:
        raise UnsupportedChip(f"signature algorithm {kind} is not supported")


def check_cms_signature(signed: cms.SignedData, content: bytes) -> x509.Certificate:
    """The certificate whose key signed `content` in this SignedData (with signed attributes).

    Raises InvalidSignature when the signature, the message digest or the content type does
    not check out, or the signer's certificate is not in the SignedData; UnsupportedChip for
    an algorithm eta does not handle. Used for EF.SOD and for CSCA master lists.
    """
    infos = list(signed["signer_infos"])
    if len(infos) != 1:
        raise InvalidSignature(f"{len(infos)} signer infos, one expected")
    signer = infos[0]
    hash_name = str(signer["digest_algorithm"]["algorithm"].native)
    if hash_name not in _HASHES:
        raise UnsupportedChip(f"digest algorithm {hash_name} is not supported")
    certificate = _signer_certificate(signed, signer)
    if certificate is None:
        raise InvalidSignature("the signer's certificate is not in the SignedData")
    attributes = signer["signed_attrs"]
    if not attributes:
        raise InvalidSignature("no signed attributes")  # ICAO 9303 Part 10 requires them
    values = {attr["type"].native: attr["values"] for attr in attributes}
    digests = values.get("message_digest")
    if not digests or not hmac.compare_digest(
        bytes(digests[0].native), _digest(hash_name, content)
    ):
        raise InvalidSignature("the message digest is not the content's")
    types = values.get("content_type")
    if not types or types[0].dotted != signed["encap_content_info"]["content_type"].dotted:
        raise InvalidSignature("the signed content type is not the content's")
    # The signature covers the attributes' DER as a SET OF, not with their [0] tag (RFC 5652).
    signed_bytes = attributes.untag().dump(force=True)
    _verify_signature(
        certificate.public_key(),
        bytes(signer["signature"].native),
        signed_bytes,
        signer["signature_algorithm"],
        hash_name,
    )
    return certificate


def _name(certificate: x509.Certificate, subject: bool = True) -> str:
    return (certificate.subject if subject else certificate.issuer).rfc4514_string()


def _within(certificate: x509.Certificate, at: dt.datetime) -> bool:
    return certificate.not_valid_before_utc <= at <= certificate.not_valid_after_utc


def verify(
    sod: Sod,
    data_groups: Mapping[int, bytes],
    cscas: Sequence[x509.Certificate],
    at: dt.datetime,
) -> Verdict:
    """Passive authentication of `data_groups` (number → file bytes) with `sod` at time `at`.

    `cscas` are the imported CSCA certificates (any country: the issuer name picks them).
    UnsupportedChip propagates: an algorithm eta cannot check is no verdict at all.
    """
    if sod.signed_data["encap_content_info"]["content_type"].dotted != LDS_SECURITY_OBJECT:
        return Verdict(Outcome.TAMPERED, "The SOD does not sign an LDS security object")
    try:
        signer = check_cms_signature(sod.signed_data, sod.content)
    except InvalidSignature as error:
        return Verdict(
            Outcome.TAMPERED,
            f"The SOD's signature does not verify ({error or 'bad signature'}): the chip's "
            "data may have been altered or the SOD forged",
            {"failed": "sod_signature"},
        )
    details: dict[str, Any] = {
        "document_signer": _name(signer),
        "document_signer_serial": format(signer.serial_number, "x"),
        "document_signer_valid": [
            signer.not_valid_before_utc.isoformat(),
            signer.not_valid_after_utc.isoformat(),
        ],
        "hash_algorithm": sod.hash_algorithm,
    }
    signed_hashes = sod.hashes()
    wrong = []
    for number, content in sorted(data_groups.items()):
        expected = signed_hashes.get(number)
        if expected is None or not hmac.compare_digest(
            expected, _digest(sod.hash_algorithm, content)
        ):
            wrong.append(number)
    if wrong:
        groups = ", ".join(f"DG{n}" for n in wrong)
        return Verdict(
            Outcome.TAMPERED,
            f"The hash of {groups} is not the one the document signer signed: the data read "
            "from the chip was altered after issue, or comes from another passport",
            {**details, "failed": "data_group_hash", "data_groups": wrong},
        )
    issuer = next((c for c in cscas if _issued_by(signer, c)), None)
    if issuer is None:
        return Verdict(
            Outcome.UNKNOWN_CSCA,
            f"No imported CSCA certificate issued the document signer ({_name(signer)}, issued "
            f"by {_name(signer, subject=False)}): import the issuing state's CSCA certificates "
            "or master list (`eta chip import-csca`), or establish the passport's authenticity "
            "otherwise",
            {**details, "document_signer_issuer": _name(signer, subject=False)},
        )
    details["csca"] = _name(issuer)
    details["csca_serial"] = format(issuer.serial_number, "x")
    for role, certificate in (("document signer", signer), ("CSCA", issuer)):
        if not _within(certificate, at):
            return Verdict(
                Outcome.SIGNER_EXPIRED,
                f"The {role} certificate ({_name(certificate)}) is valid from "
                f"{certificate.not_valid_before_utc.date().isoformat()} to "
                f"{certificate.not_valid_after_utc.date().isoformat()}, not on "
                f"{at.date().isoformat()}: the signature is genuine but cannot vouch for the "
                "passport today",
                {**details, "expired": role},
            )
    groups = ", ".join(f"DG{n}" for n in sorted(data_groups))
    return Verdict(
        Outcome.VERIFIED,
        f"The chip's data is signed by {_name(signer)}, whose certificate {_name(issuer)} "
        f"(an imported CSCA) issued; {groups} are the data that was signed",
        details,
    )


def _issued_by(certificate: x509.Certificate, issuer: x509.Certificate) -> bool:
    """Whether `issuer` (name and key) issued `certificate`."""
    try:
        certificate.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature, UnsupportedAlgorithm):
        return False
    return True
