"""The CSCA store: certificates an operator imports, and the ones passive authentication trusts.

A file is a PEM bundle (one or more certificates), one DER certificate, or an ICAO master list
(a CMS SignedData whose content is a CscaMasterList, ICAO 9303 Part 12 §9). A master list's own
signature must verify with the signer certificate it carries: a corrupt or altered list is
refused whole. Whether to trust the state that signed it is the operator's decision, taken by
importing it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from asn1crypto import cms
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID
from sqlalchemy import select

from eta import audit
from eta.chip.lds import CSCA_MASTER_LIST, CscaMasterList
from eta.chip.passive import UnsupportedChip, check_cms_signature
from eta.models import CscaCertificate
from eta.models.base import SessionLike

PEM_MARKER = b"-----BEGIN CERTIFICATE-----"


class CscaFileError(ValueError):
    """The file is no certificate bundle and no valid master list."""


@dataclass(frozen=True, slots=True)
class ReadFile:
    """The certificates of one file, what kind of file it was and who signed a master list."""

    certificates: list[x509.Certificate]
    kind: str  # "pem", "der" or "master list"
    signer: str | None = None


def _master_list(data: bytes) -> ReadFile:
    try:
        info = cms.ContentInfo.load(data, strict=True)
        if info["content_type"].native != "signed_data":
            raise CscaFileError("the file is neither a certificate nor a CMS SignedData")
        signed = info["content"]
        encap = signed["encap_content_info"]
        if encap["content_type"].dotted != CSCA_MASTER_LIST:
            raise CscaFileError("the CMS SignedData does not hold a CSCA master list")
        content = bytes(encap["content"].native)
        listed = CscaMasterList.load(content, strict=True)
        ders = [cert.dump() for cert in listed["cert_list"]]
    except CscaFileError:
        raise
    except (ValueError, TypeError, KeyError) as error:
        raise CscaFileError(f"the file cannot be read ({type(error).__name__})") from None
    try:
        signer = check_cms_signature(signed, content)
    except (InvalidSignature, UnsupportedChip) as error:
        raise CscaFileError(f"the master list's signature does not verify ({error})") from None
    try:
        certificates = [x509.load_der_x509_certificate(der) for der in ders]
    except ValueError as error:
        raise CscaFileError(f"the master list holds a malformed certificate ({error})") from None
    return ReadFile(certificates, "master list", signer.subject.rfc4514_string())


def read_file(data: bytes) -> ReadFile:
    """The CSCA certificates of a PEM bundle, a DER certificate or an ICAO master list."""
    if PEM_MARKER in data:
        try:
            return ReadFile(x509.load_pem_x509_certificates(data), "pem")
        except ValueError as error:
            raise CscaFileError(f"the PEM bundle cannot be read ({error})") from None
    try:
        return ReadFile([x509.load_der_x509_certificate(data)], "der")
    except ValueError:
        return _master_list(data)


def _country(certificate: x509.Certificate) -> str:
    names = certificate.subject.get_attributes_for_oid(NameOID.COUNTRY_NAME)
    return str(names[0].value).upper()[:3] if names else ""


def fingerprint(certificate: x509.Certificate) -> str:
    """The SHA-256 of the certificate's DER, hex."""
    return hashlib.sha256(certificate.public_bytes(Encoding.DER)).hexdigest()


@dataclass(frozen=True, slots=True)
class Imported:
    """What an import added: new certificates, ones already held, and the file read."""

    added: int
    already_held: int
    read: ReadFile


def import_certificates(
    session: SessionLike, read: ReadFile, source: str, *, actor: str = "operator"
) -> Imported:
    """Add the file's certificates not yet held (by fingerprint), with an audit record, in the
    caller's transaction (the caller commits).

    Only CA certificates are taken (basicConstraints cA): a CSCA issues document signers. One
    that is not refuses the whole file, so a file is imported whole or not at all.
    """
    held = set(session.scalars(select(CscaCertificate.fingerprint)))
    added = 0
    for certificate in read.certificates:
        try:
            ca = certificate.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
        except x509.ExtensionNotFound:
            ca = False
        if not ca:
            raise CscaFileError(
                f"{certificate.subject.rfc4514_string()} is not a CA certificate: a CSCA "
                "certificate has basicConstraints cA=TRUE"
            )
        mark = fingerprint(certificate)
        if mark in held:
            continue
        held.add(mark)
        session.add(
            CscaCertificate(
                fingerprint=mark,
                country=_country(certificate),
                subject=certificate.subject.rfc4514_string(),
                serial=format(certificate.serial_number, "x"),
                not_before=certificate.not_valid_before_utc,
                not_after=certificate.not_valid_after_utc,
                der=certificate.public_bytes(Encoding.DER),
                source=f"{source} ({read.kind})"[:200],
            )
        )
        added += 1
    audit.record(
        session,
        "csca.imported",
        actor=actor,
        object_type="csca_file",
        object_id=source[:100],
        details={
            "kind": read.kind,
            "certificates": len(read.certificates),
            "added": added,
            "master_list_signer": read.signer,
        },
    )
    return Imported(added, len(read.certificates) - added, read)


def trusted(session: SessionLike) -> Sequence[x509.Certificate]:
    """Every imported CSCA certificate (the issuer's name and key pick the right one)."""
    return [
        x509.load_der_x509_certificate(der)
        for der in session.scalars(select(CscaCertificate.der).order_by(CscaCertificate.id))
    ]
