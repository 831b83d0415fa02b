"""PAdES signatures on the authorisation PDF, and a self-signed chain for development.

The QR code's token proves the authorisation to a carrier's scanner; this signature proves the
whole printed document to a person with an ordinary PDF reader (Adobe Acrobat Reader, Foxit,
poppler's ``pdfsig``): the reader checks it was issued by the agency's certificate and not
changed since. The signature is a certification (DocMDP: no changes allowed) of type
ETSI.CAdES.detached, PAdES baseline B-B, made with pyHanko.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import datetime as dt
import io
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign.fields import MDPPerm, SigSeedSubFilter
from pyhanko.sign.signers import PdfSignatureMetadata, PdfSigner, SimpleSigner
from pyhanko_certvalidator.registry import SimpleCertificateStore

T = TypeVar("T")

SIGNATURE_FIELD = "AuthorisationSignature"
# What an agency's CA may call a document-signing certificate: one of these key usages.
_SIGNING_USAGES = ("digital_signature", "content_commitment")


class PdfSigningError(Exception):
    """The signing certificate, its key or its chain cannot be used; the message says why."""


@dataclass(frozen=True)
class PdfSigningIdentity:
    """A loaded signing certificate with its key and chain, ready to sign documents."""

    signer: SimpleSigner
    certificate: x509.Certificate
    organisation: str
    # Room for the CMS signature in the PDF, in hex digits (two a byte): the certificates it
    # carries plus a margin for the signed attributes and the signature value (an RSA-4096 one
    # is 512 bytes). Known up front, pyHanko skips its estimate, a dry-run signature that
    # doubled the cost of each.
    bytes_reserved: int

    @property
    def not_valid_after(self) -> dt.datetime:
        """When the signing certificate expires (UTC)."""
        return self.certificate.not_valid_after_utc


def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as error:
        raise PdfSigningError(
            f"cannot read the PDF signing {what} {path}: {error.strerror}"
        ) from None


def _certificates(data: bytes, path: Path) -> list[x509.Certificate]:
    try:
        if b"-----BEGIN" in data:
            return x509.load_pem_x509_certificates(data)
        return [x509.load_der_x509_certificate(data)]
    except ValueError:
        raise PdfSigningError(f"{path} holds no X.509 certificate (PEM or DER)") from None


def _organisation(certificate: x509.Certificate) -> str:
    for oid in (NameOID.ORGANIZATION_NAME, NameOID.COMMON_NAME):
        names = certificate.subject.get_attributes_for_oid(oid)
        if names:
            return str(names[0].value)
    return certificate.subject.rfc4514_string()


def _public_der(key: Any) -> bytes:
    return bytes(
        key.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )


def load_identity(
    cert_path: Path,
    key_path: Path,
    chain_path: Path | None = None,
    passphrase: str | None = None,
    now: dt.datetime | None = None,
) -> PdfSigningIdentity:
    """Load the signing certificate, its private key and the chain up to the agency's root.

    Refuses (PdfSigningError) a key that does not belong to the certificate, a certificate
    outside its validity period at ``now``, and one whose key usage forbids signing: a
    reader would mark every document signed with it invalid.
    """
    certificate = _certificates(_read(cert_path, "certificate"), cert_path)[0]
    try:
        key = serialization.load_pem_private_key(
            _read(key_path, "key"), passphrase.encode() if passphrase else None
        )
    except (ValueError, TypeError) as error:
        raise PdfSigningError(f"cannot load the PDF signing key {key_path}: {error}") from None
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        raise PdfSigningError(f"{key_path}: the PDF signing key must be RSA or ECDSA")
    if _public_der(key.public_key()) != _public_der(certificate.public_key()):
        raise PdfSigningError(f"{key_path} is not the key of the certificate {cert_path}")
    moment = now or dt.datetime.now(dt.UTC)
    if not certificate.not_valid_before_utc <= moment <= certificate.not_valid_after_utc:
        raise PdfSigningError(
            f"the PDF signing certificate {cert_path} is valid from "
            f"{certificate.not_valid_before_utc:%Y-%m-%d} to "
            f"{certificate.not_valid_after_utc:%Y-%m-%d}, not now"
        )
    try:
        usage = certificate.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        usage = None
    if usage is not None and not any(getattr(usage, name) for name in _SIGNING_USAGES):
        raise PdfSigningError(f"{cert_path}: the certificate's key usage does not allow signing")
    chain = _certificates(_read(chain_path, "chain"), chain_path) if chain_path else []
    store = SimpleCertificateStore.from_certs(
        [asn1_x509.Certificate.load(c.public_bytes(serialization.Encoding.DER)) for c in chain]
    )
    signer = SimpleSigner(
        signing_cert=asn1_x509.Certificate.load(
            certificate.public_bytes(serialization.Encoding.DER)
        ),
        signing_key=asn1_keys.PrivateKeyInfo.load(
            key.private_bytes(
                serialization.Encoding.DER,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        ),
        cert_registry=store,
    )
    carried = sum(len(c.public_bytes(serialization.Encoding.DER)) for c in [certificate, *chain])
    return PdfSigningIdentity(signer, certificate, _organisation(certificate), 2 * (carried + 4096))


def sign_pdf(pdf: bytes, identity: PdfSigningIdentity, reason: str | None = None) -> bytes:
    """``pdf`` with a PAdES certification signature by ``identity`` appended (an incremental
    update: the signed bytes are the document as rendered, every byte of it covered).
    """
    metadata = PdfSignatureMetadata(
        field_name=SIGNATURE_FIELD,
        md_algorithm="sha256",
        subfilter=SigSeedSubFilter.PADES,
        certify=True,
        # The authorisation is final: any later change, even a form fill or an annotation,
        # makes readers report the certification broken.
        docmdp_permissions=MDPPerm.NO_CHANGES,
        reason=reason,
        name=identity.organisation,
    )
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=True)
    output = outside_event_loop(
        lambda: PdfSigner(metadata, identity.signer).sign_pdf(
            writer, bytes_reserved=identity.bytes_reserved
        )
    )
    return bytes(output.getbuffer())


def outside_event_loop(work: Callable[[], T]) -> T:
    """Run ``work`` (pyhanko's synchronous calls, which call asyncio.run) where it can run.

    In a thread whose event loop is running (a host with asyncio, Playwright's sync API in
    tests) asyncio.run refuses: the work then runs on a short-lived thread of its own.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return work()
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(work).result()


# --- the development chain ----------------------------------------------------------------


@dataclass(frozen=True)
class DevelopmentChain:
    """Where `eta keys pdf-certificate` wrote the development chain's files."""

    root: Path  # the self-signed root CA certificate: what a reader must be told to trust
    certificate: Path  # the signing certificate (ETA_PDF_SIGNING_CERT)
    key: Path  # its private key, mode 0600 (ETA_PDF_SIGNING_KEY)
    chain: Path  # the certificates above it, here the root (ETA_PDF_SIGNING_CHAIN)


def development_paths(directory: Path) -> DevelopmentChain:
    """The file names of a development chain in ``directory``."""
    return DevelopmentChain(
        root=directory / "root-ca.pem",
        certificate=directory / "signing-cert.pem",
        key=directory / "signing-key.pem",
        chain=directory / "chain.pem",
    )


def _name(organisation: str, common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _key_usage(*, signing: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=signing,
        content_commitment=signing,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=not signing,
        crl_sign=not signing,
        encipher_only=False,
        decipher_only=False,
    )


def _pem(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.PEM)


def make_development_chain(
    directory: Path,
    organisation: str,
    now: dt.datetime | None = None,
    days: int = 730,
) -> DevelopmentChain:
    """Write a self-signed root CA and a signing certificate it issued for ``organisation``.

    ECDSA P-256 keys (quick to make; Acrobat Reader, Foxit and poppler verify them). For
    development and tests only: no reader trusts this root unless told to, which is the point
    of it being obviously not the agency's.
    """
    now = now or dt.datetime.now(dt.UTC)
    start = now - dt.timedelta(hours=1)  # a reader whose clock is a little behind still accepts
    root_key = ec.generate_private_key(ec.SECP256R1())
    signing_key = ec.generate_private_key(ec.SECP256R1())
    root_name = _name(organisation, f"{organisation} development root CA")
    root = (
        x509.CertificateBuilder()
        .subject_name(root_name)
        .issuer_name(root_name)
        .public_key(root_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + dt.timedelta(days=days + 365))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(signing=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(root_key.public_key()), False)
        .sign(root_key, hashes.SHA256())
    )
    certificate = (
        x509.CertificateBuilder()
        .subject_name(_name(organisation, f"{organisation} authorisation documents (development)"))
        .issuer_name(root_name)
        .public_key(signing_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(signing=True), critical=True)
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(signing_key.public_key()), critical=False
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(root_key.public_key()),
            critical=False,
        )
        .sign(root_key, hashes.SHA256())
    )
    paths = development_paths(directory)
    directory.mkdir(parents=True, exist_ok=True)
    paths.root.write_bytes(_pem(root))
    paths.chain.write_bytes(_pem(root))
    paths.certificate.write_bytes(_pem(certificate))
    # The key is created 0600 from the start, never world-readable for an instant.
    descriptor = os.open(paths.key, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(
            signing_key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
    return paths
