"""Passport chips for tests, built with the libraries eta reads them with.

A CSCA and a document signer (cryptography: keys and X.509), DG1 and DG2 (asn1crypto's BER
encoder, an ISO/IEC 19794-5 header with `struct`), and EF.SOD: a CMS SignedData over an LDS
security object (asn1crypto), signed by the document signer's key (cryptography).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import struct
from dataclasses import dataclass, field

from asn1crypto import cms
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID

from eta.chip import lds
from eta.screening.mrz import check_digit, to_mrz_field

NOW = dt.datetime.now(dt.UTC)
YEAR = dt.timedelta(days=365)


@dataclass
class Authority:
    """A key and its certificate."""

    key: ec.EllipticCurvePrivateKey
    certificate: x509.Certificate

    @property
    def der(self) -> bytes:
        """The certificate's DER."""
        return self.certificate.public_bytes(Encoding.DER)

    @property
    def pem(self) -> bytes:
        """The certificate's PEM."""
        return self.certificate.public_bytes(Encoding.PEM)


def _name(country: str, common: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, country),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Passport Office"),
            x509.NameAttribute(NameOID.COMMON_NAME, common),
        ]
    )


def csca(
    country: str = "SE", common: str = "CSCA Test", *, valid_until: dt.datetime | None = None
) -> Authority:
    """A self-signed Country Signing CA."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = _name(country, common)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - YEAR)
        .not_valid_after(valid_until or NOW + 10 * YEAR)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .sign(key, hashes.SHA256())
    )
    return Authority(key, certificate)


def document_signer(
    issuer: Authority,
    *,
    common: str = "Document Signer 7",
    not_before: dt.datetime | None = None,
    not_after: dt.datetime | None = None,
) -> Authority:
    """A document signer certificate issued by `issuer`."""
    key = ec.generate_private_key(ec.SECP256R1())
    country = issuer.certificate.subject.get_attributes_for_oid(NameOID.COUNTRY_NAME)[0].value
    certificate = (
        x509.CertificateBuilder()
        .subject_name(_name(str(country), common))
        .issuer_name(issuer.certificate.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before or NOW - dt.timedelta(days=30))
        .not_valid_after(not_after or NOW + 5 * YEAR)
        .add_extension(
            x509.KeyUsage(True, False, False, False, False, False, False, False, False),
            critical=True,
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()), False
        )
        .sign(issuer.key, hashes.SHA256())
    )
    return Authority(key, certificate)


def td3(
    surname: str,
    given: str,
    number: str,
    country: str,
    dob: str,
    sex: str,
    expiry: str,
    nationality: str | None = None,
) -> str:
    """A TD3 MRZ (two lines of 44, no line break) with right check digits; dates YYMMDD."""
    line1 = f"P<{country}{to_mrz_field(surname, given)}"
    number_field = number.ljust(9, "<")
    personal = "<" * 14
    line2 = (
        f"{number_field}{check_digit(number_field)}{nationality or country}"
        f"{dob}{check_digit(dob)}{sex}{expiry}{check_digit(expiry)}"
        f"{personal}{check_digit(personal)}"
    )
    composite = line2[0:10] + line2[13:20] + line2[21:43]
    return line1 + line2 + check_digit(composite)


# The application of tests.factories.valid_payload(), as its passport's chip holds it.
SPECIMEN_MRZ = td3("Eriksson", "Anna Maria", "L898902C3", "SWE", "740812", "F", "320415")


def dg1(mrz: str = SPECIMEN_MRZ) -> bytes:
    """DG1: 0x61 around 0x5F1F, the MRZ."""
    inner = lds.emit(lds.APPLICATION, 0, lds.MRZ_TAG, mrz.encode("ascii"))
    return lds.emit(lds.APPLICATION, lds.CONSTRUCTED, lds.DG1_TAG, inner)


def facial_record(
    image: bytes, image_type: int = lds.JPEG, size: tuple[int, int] = (0, 0)
) -> bytes:
    """An ISO/IEC 19794-5 record of one face image (no feature points)."""
    info = struct.pack(">BBHHBBHH", 1, image_type, size[0], size[1], 1, 2, 0, 0)
    facial_length = 20 + len(info) + len(image)
    facial = struct.pack(
        ">IHBBB3sH3s3s", facial_length, 0, 0, 0, 0, b"\0\0\0", 0, b"\0" * 3, b"\0" * 3
    )
    body = facial + info + image
    return struct.pack(">4s4sIH", b"FAC\0", b"010\0", 14 + len(body), 1) + body


def dg2(image: bytes, image_type: int = lds.JPEG) -> bytes:
    """DG2: 0x75 ▸ 0x7F61 (one instance) ▸ 0x7F60 ▸ header 0xA1 and data 0x5F2E."""
    header = lds.emit(2, 1, 1, lds.emit(2, 0, 1, b"\x01\x01"))  # A1 ▸ 81: ICAO header version
    data = lds.emit(lds.APPLICATION, 0, lds.BIOMETRIC_DATA_TAG, facial_record(image, image_type))
    template = lds.emit(lds.APPLICATION, lds.CONSTRUCTED, lds.BIOMETRIC_TEMPLATE_TAG, header + data)
    count = lds.emit(0, 0, 2, b"\x01")
    group = lds.emit(lds.APPLICATION, lds.CONSTRUCTED, lds.BIOMETRIC_GROUP_TAG, count + template)
    return lds.emit(lds.APPLICATION, lds.CONSTRUCTED, lds.DG2_TAG, group)


def signed_data(
    content: bytes, content_type: str, signer: Authority, *, extra_certs: tuple[bytes, ...] = ()
) -> bytes:
    """A CMS ContentInfo(SignedData) of `content` with signed attributes, ECDSA with SHA-256."""
    attributes = cms.CMSAttributes(
        [
            {"type": "content_type", "values": [content_type]},
            {"type": "message_digest", "values": [hashlib.sha256(content).digest()]},
        ]
    )
    signature = signer.key.sign(attributes.dump(), ec.ECDSA(hashes.SHA256()))
    certificate = asn1_x509.Certificate.load(signer.der)
    info = cms.SignerInfo(
        {
            "version": "v1",
            "sid": cms.SignerIdentifier(
                {
                    "issuer_and_serial_number": {
                        "issuer": certificate.issuer,
                        "serial_number": certificate.serial_number,
                    }
                }
            ),
            "digest_algorithm": {"algorithm": "sha256"},
            "signed_attrs": attributes,
            "signature_algorithm": {"algorithm": "sha256_ecdsa"},
            "signature": signature,
        }
    )
    signed = cms.SignedData(
        {
            "version": "v3",
            "digest_algorithms": [{"algorithm": "sha256"}],
            "encap_content_info": {"content_type": content_type, "content": content},
            "certificates": [certificate]
            + [asn1_x509.Certificate.load(der) for der in extra_certs],
            "signer_infos": [info],
        }
    )
    return bytes(cms.ContentInfo({"content_type": "signed_data", "content": signed}).dump())


def security_object(groups: dict[int, bytes]) -> bytes:
    """An LDSSecurityObject (version 0) with the SHA-256 of each data group."""
    return bytes(
        lds.LDSSecurityObject(
            {
                "version": 0,
                "hash_algorithm": {"algorithm": "sha256"},
                "data_group_hash_values": [
                    {"data_group_number": n, "data_group_hash_value": hashlib.sha256(g).digest()}
                    for n, g in sorted(groups.items())
                ],
            }
        ).dump()
    )


def sod(groups: dict[int, bytes], signer: Authority) -> bytes:
    """EF.SOD: 0x77 around the SignedData of the data groups' security object."""
    content_info = signed_data(security_object(groups), lds.LDS_SECURITY_OBJECT, signer)
    return lds.emit(lds.APPLICATION, lds.CONSTRUCTED, lds.SOD_TAG, content_info)


def master_list(cscas: list[Authority], signer: Authority) -> bytes:
    """An ICAO CSCA master list of these certificates, signed by `signer`."""
    content = lds.CscaMasterList(
        {"version": 0, "cert_list": [asn1_x509.Certificate.load(c.der) for c in cscas]}
    ).dump()
    return signed_data(bytes(content), lds.CSCA_MASTER_LIST, signer)


@dataclass
class Chip:
    """A whole chip: its CSCA, document signer and files."""

    authority: Authority
    signer: Authority
    dg1: bytes
    dg2: bytes
    sod: bytes = field(default=b"")

    def files(self) -> dict[int, bytes]:
        """The data groups by number."""
        return {1: self.dg1, 2: self.dg2}


def chip(
    face: bytes,
    mrz: str = SPECIMEN_MRZ,
    authority: Authority | None = None,
    signer: Authority | None = None,
) -> Chip:
    """A chip of this face and MRZ, signed by a fresh document signer of a fresh CSCA."""
    authority = authority or csca()
    signer = signer or document_signer(authority)
    made = Chip(authority, signer, dg1(mrz), dg2(face))
    made.sod = sod(made.files(), signer)
    return made
