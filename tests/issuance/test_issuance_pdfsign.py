"""The authorisation PDF's PAdES signature: pyHanko's validator and poppler's pdfsig agree it
is intact, covers the whole document and chains to the agency's root; a changed byte breaks it.
"""

from __future__ import annotations

import datetime as dt
import io
import os
import shutil
import subprocess
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import zxingcpp
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from PIL import Image
from pyhanko.keys import load_cert_from_pemder
from pyhanko.pdf_utils.generic import NumberObject
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.diff_analysis import ModificationLevel
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.status import PdfSignatureStatus, SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext

from eta.issuance.keys import Keyring
from eta.issuance.pdf import CJK_FONT_FILES, AuthorisationDocument, authorisation_pdf
from eta.issuance.pdfsign import (
    SIGNATURE_FIELD,
    DevelopmentChain,
    PdfSigningError,
    PdfSigningIdentity,
    load_identity,
    make_development_chain,
    outside_event_loop,
    sign_pdf,
)
from eta.issuance.tokens import AuthorisationClaims, issue

ORGANISATION = "Example Border Agency"
VALID_FROM = dt.datetime(2026, 11, 28, 12, 0, tzinfo=dt.UTC)
REQUIRED = bool(os.environ.get("ETA_REQUIRE_BROWSER"))


def _require(tool: str, package: str) -> str:
    path = shutil.which(tool)
    if path is None:
        if REQUIRED:
            pytest.fail(f"{tool} ({package}) is required when ETA_REQUIRE_BROWSER is set")
        pytest.skip(f"{tool} not found: install {package}")
    return path


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> DevelopmentChain:
    return make_development_chain(tmp_path_factory.mktemp("pdf-chain"), ORGANISATION)


@pytest.fixture(scope="module")
def identity(chain: DevelopmentChain) -> PdfSigningIdentity:
    return load_identity(chain.certificate, chain.key, chain.chain)


@pytest.fixture
def document(
    keyring: Keyring, make_claims: Callable[..., AuthorisationClaims]
) -> AuthorisationDocument:
    claims = make_claims(reference="ETA-ABCD-EFGH-JKLM")
    return AuthorisationDocument(
        service_name=ORGANISATION,
        reference=claims.reference,
        surname_mrz=claims.surname_mrz,
        given_names_mrz=claims.given_names_mrz,
        surname="Eriksson",
        given_names="Anna Maria",
        date_of_birth=dt.date(1974, 8, 12),
        passport_number="L898902C3",
        issuing_country="Sweden",
        valid_from=VALID_FROM,
        valid_until=VALID_FROM + dt.timedelta(days=730),
        token=issue(claims, keyring.active(), "https://eta.example.gov"),
        verify_url="https://eta.example.gov/verify",
    )


def _status(pdf: bytes, chain: DevelopmentChain, trusted: bool = True) -> PdfSignatureStatus:
    reader = PdfFileReader(io.BytesIO(pdf))
    (signature,) = reader.embedded_signatures
    roots = [load_cert_from_pemder(str(chain.root))] if trusted else []
    context = ValidationContext(trust_roots=roots, allow_fetching=False)
    return outside_event_loop(lambda: validate_pdf_signature(signature, context))


def _pdfsig(pdf: bytes, tmp_path: Path, nss_dir: Path | None = None) -> str:
    source = tmp_path / "signed.pdf"
    source.write_bytes(pdf)
    # Without -no-ocsp: the development chain names no OCSP responder, so nothing is fetched,
    # and poppler 22.12 with -no-ocsp reports "Unknown issue with Certificate" for any chain.
    command = [_require("pdfsig", "poppler-utils")]
    if nss_dir is not None:
        command += ["-nssdir", f"sql:{nss_dir}"]
    result = subprocess.run(
        [*command, str(source)], capture_output=True, text=True, timeout=60, check=False
    )
    return result.stdout + result.stderr


def _trusting_nss_db(chain: DevelopmentChain, directory: Path) -> Path:
    """An NSS database (what pdfsig, Firefox and Thunderbird read) that trusts the dev root."""
    certutil = _require("certutil", "libnss3-tools")
    directory.mkdir()
    subprocess.run(
        [certutil, "-N", "-d", f"sql:{directory}", "--empty-password"], check=True, timeout=60
    )
    subprocess.run(
        [
            certutil,
            "-A",
            "-d",
            f"sql:{directory}",
            "-n",
            "eta root",
            "-t",
            "C,C,C",
            "-i",
            str(chain.root),
        ],
        check=True,
        timeout=60,
    )
    return directory


def _assert_valid_and_trusted(status: PdfSignatureStatus) -> None:
    assert status.intact and status.valid
    assert status.trusted
    assert status.coverage is SignatureCoverageLevel.ENTIRE_FILE
    assert status.docmdp_ok and status.modification_level is ModificationLevel.NONE
    assert status.bottom_line


@pytest.mark.parametrize("language", ["en", "ar", "zh"])
def test_the_signed_pdf_validates_in_pyhanko(
    document: AuthorisationDocument,
    chain: DevelopmentChain,
    identity: PdfSigningIdentity,
    language: str,
) -> None:
    if language == "zh" and not any(path.is_file() for path in CJK_FONT_FILES):
        pytest.skip("no CJK font: install fonts-wqy-microhei to print Chinese")
    signed = sign_pdf(authorisation_pdf(document, language), identity, "ETA-ABCD-EFGH-JKLM")
    status = _status(signed, chain)
    _assert_valid_and_trusted(status)
    subject = status.signing_cert.subject.native
    assert subject["organization_name"] == ORGANISATION
    reader = PdfFileReader(io.BytesIO(signed))
    (signature,) = reader.embedded_signatures
    assert signature.field_name == SIGNATURE_FIELD
    assert signature.sig_object["/SubFilter"] == "/ETSI.CAdES.detached"  # PAdES
    assert signature.sig_object["/Reason"] == "ETA-ABCD-EFGH-JKLM"
    assert reader.root["/Perms"]["/DocMDP"] is not None  # a certification signature


def test_without_the_root_the_signature_is_intact_but_not_trusted(
    document: AuthorisationDocument, chain: DevelopmentChain, identity: PdfSigningIdentity
) -> None:
    status = _status(sign_pdf(authorisation_pdf(document), identity), chain, trusted=False)
    assert status.intact and status.valid
    assert not status.trusted and not status.bottom_line


def test_the_signed_pdf_still_shows_the_token_and_the_page(
    document: AuthorisationDocument, identity: PdfSigningIdentity, tmp_path: Path
) -> None:
    unsigned = authorisation_pdf(document)
    signed = sign_pdf(unsigned, identity)
    assert signed.startswith(unsigned)  # an incremental update: the rendered bytes, then the rest
    source = tmp_path / "signed.pdf"
    source.write_bytes(signed)
    subprocess.run(
        [
            _require("pdftoppm", "poppler-utils"),
            "-r",
            "150",
            "-png",
            "-singlefile",
            str(source),
            str(tmp_path / "page"),
        ],
        check=True,
        timeout=60,
    )
    found = zxingcpp.read_barcodes(
        Image.open(tmp_path / "page.png"), formats=zxingcpp.barcode_formats_from_str("QRCode")
    )
    assert [barcode.text for barcode in found] == [document.token]


def test_pdfsig_finds_the_signature_valid_and_trusted_once_the_root_is(
    document: AuthorisationDocument,
    chain: DevelopmentChain,
    identity: PdfSigningIdentity,
    tmp_path: Path,
) -> None:
    signed = sign_pdf(authorisation_pdf(document), identity)
    untrusted = _pdfsig(signed, tmp_path)
    assert "Signature Validation: Signature is Valid." in untrusted
    assert "Total document signed" in untrusted
    assert "Signature Type: ETSI.CAdES.detached" in untrusted
    # A self-signed root nobody installed: the maths holds, the issuer is unknown.
    assert "Certificate Validation: Certificate issuer isn't Trusted." in untrusted
    trusted = _pdfsig(signed, tmp_path, _trusting_nss_db(chain, tmp_path / "nss"))
    assert "Signature Validation: Signature is Valid." in trusted
    assert "Certificate Validation: Certificate is Trusted." in trusted


def _content_stream_offset(pdf: bytes) -> int:
    """The offset of a byte inside the page's (compressed) content stream."""
    start = 0
    while (start := pdf.find(b"stream\n", start)) != -1:
        start += len(b"stream\n")
        end = pdf.find(b"endstream", start)
        try:
            content = zlib.decompress(pdf[start:end])
        except zlib.error:
            continue
        if b" re" in content:  # the QR code's rectangles: the page, not a font
            return start + (end - start) // 2
    raise AssertionError("no page content stream")


@pytest.mark.parametrize("where", ["reference", "content"])
def test_a_changed_byte_fails_both_validators(
    document: AuthorisationDocument,
    chain: DevelopmentChain,
    identity: PdfSigningIdentity,
    tmp_path: Path,
    where: str,
) -> None:
    signed = bytearray(sign_pdf(authorisation_pdf(document), identity))
    if where == "reference":
        # The reference in the document's title: ETA-ABCD-... becomes ETA-XBCD-...
        offset = signed.index(b"ETA-ABCD-EFGH-JKLM") + len(b"ETA-")
        signed[offset] = ord("X")
    else:
        offset = _content_stream_offset(bytes(signed))
        signed[offset] ^= 0x01
    tampered = bytes(signed)
    status = _status(tampered, chain)
    assert not status.intact and not status.bottom_line  # the document digest differs
    report = _pdfsig(tampered, tmp_path, _trusting_nss_db(chain, tmp_path / "nss"))
    assert "Signature is Valid" not in report
    assert "Digest Mismatch" in report or "Signature is Invalid" in report, report


def test_a_change_after_signing_breaks_the_certification(
    document: AuthorisationDocument, chain: DevelopmentChain, identity: PdfSigningIdentity
) -> None:
    signed = sign_pdf(authorisation_pdf(document), identity)
    writer = IncrementalPdfFileWriter(io.BytesIO(signed))
    page = writer.root["/Pages"]["/Kids"][0].get_object()
    page["/Rotate"] = NumberObject(90)  # what any editor might do: turn the page
    writer.update_container(page)
    output = io.BytesIO()
    writer.write(output)
    status = _status(output.getvalue(), chain)
    assert status.intact and status.valid  # the signed revision is untouched...
    assert status.coverage is not SignatureCoverageLevel.ENTIRE_FILE
    assert not status.bottom_line  # ...but certified "no changes", and the page was changed


# --- loading the agency's certificate -----------------------------------------------------


def test_a_key_that_is_not_the_certificates_is_refused(
    chain: DevelopmentChain, tmp_path: Path
) -> None:
    other = tmp_path / "other-key.pem"
    other.write_bytes(
        ec.generate_private_key(ec.SECP256R1()).private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    with pytest.raises(PdfSigningError, match="is not the key of the certificate"):
        load_identity(chain.certificate, other, chain.chain)


def test_an_expired_or_future_certificate_is_refused(chain: DevelopmentChain) -> None:
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=3 * 365)
    with pytest.raises(PdfSigningError, match="not now"):
        load_identity(chain.certificate, chain.key, chain.chain, now=later)


def test_a_certificate_that_may_not_sign_is_refused(chain: DevelopmentChain) -> None:
    # The root CA's certificate may sign certificates, not documents.
    root_key = chain.key.with_name("root-key.pem")
    key = ec.generate_private_key(ec.SECP256R1())
    root_key.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    name = x509.Name([x509.NameAttribute(x509.NameOID.ORGANIZATION_NAME, ORGANISATION)])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), True
        )
        .sign(key, hashes.SHA256())
    )
    path = chain.key.with_name("ca-only.pem")
    path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    with pytest.raises(PdfSigningError, match="does not allow signing"):
        load_identity(path, root_key)


def test_missing_files_are_named_in_the_error(tmp_path: Path) -> None:
    with pytest.raises(PdfSigningError, match="cannot read the PDF signing certificate"):
        load_identity(tmp_path / "nope.pem", tmp_path / "nope-key.pem")


def test_the_development_key_is_private_and_the_chain_ends_at_the_root(
    chain: DevelopmentChain,
) -> None:
    assert chain.key.stat().st_mode & 0o777 == 0o600
    root = x509.load_pem_x509_certificate(chain.root.read_bytes())
    signing = x509.load_pem_x509_certificate(chain.certificate.read_bytes())
    assert root.subject == root.issuer and signing.issuer == root.subject
    assert root.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert not signing.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    signing.verify_directly_issued_by(root)


def _issued(
    subject: str, key: Any, issuer: x509.Name, issuer_key: Any, *, ca: bool
) -> x509.Certificate:
    now = dt.datetime.now(dt.UTC)
    name = x509.Name([x509.NameAttribute(x509.NameOID.ORGANIZATION_NAME, subject)])
    usage = (
        (False, False, False, False, False, True, True, False, False)
        if ca
        else (True, True, False, False, False, False, False, False, False)
    )
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer if issuer else name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(*usage), critical=True)
        .sign(issuer_key, hashes.SHA256())
    )


def test_an_agency_rsa_certificate_under_an_intermediate_signs_and_validates(
    document: AuthorisationDocument, tmp_path: Path
) -> None:
    """What an agency's PKI hands over: RSA-4096, root → intermediate → signing certificate;
    the chain file carries the intermediate and the root, and the signature has room for them."""
    root_key, middle_key = (
        ec.generate_private_key(ec.SECP384R1()),
        ec.generate_private_key(ec.SECP384R1()),
    )
    signing_key = rsa.generate_private_key(public_exponent=65537, key_size=4096)
    root = _issued("Agency Root", root_key, x509.Name([]), root_key, ca=True)
    middle = _issued("Agency Issuing CA", middle_key, root.subject, root_key, ca=True)
    leaf = _issued(ORGANISATION, signing_key, middle.subject, middle_key, ca=False)
    pem = serialization.Encoding.PEM
    (tmp_path / "cert.pem").write_bytes(leaf.public_bytes(pem))
    (tmp_path / "chain.pem").write_bytes(middle.public_bytes(pem) + root.public_bytes(pem))
    (tmp_path / "root.pem").write_bytes(root.public_bytes(pem))
    (tmp_path / "key.pem").write_bytes(
        signing_key.private_bytes(
            pem,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"passphrase"),
        )
    )
    agency = load_identity(
        tmp_path / "cert.pem", tmp_path / "key.pem", tmp_path / "chain.pem", "passphrase"
    )
    signed = sign_pdf(authorisation_pdf(document), agency)
    chain = DevelopmentChain(
        root=tmp_path / "root.pem",
        certificate=tmp_path / "cert.pem",
        key=tmp_path / "key.pem",
        chain=tmp_path / "chain.pem",
    )
    _assert_valid_and_trusted(_status(signed, chain))
    report = _pdfsig(signed, tmp_path, _trusting_nss_db(chain, tmp_path / "nss"))
    assert "Signature Validation: Signature is Valid." in report
    assert "Certificate Validation: Certificate is Trusted." in report
