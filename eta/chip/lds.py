"""The chip's files as ICAO 9303 Part 10 defines them: EF.SOD, DG1 (the MRZ) and DG2 (the face).

Every structure is read with asn1crypto: its CMS and X.509 classes for the SOD, a few classes
of its core module for the LDS security object and the CSCA master list (ASN.1 modules of
Part 10 Appendix D and Part 12), and its BER parser for the data groups' TLV templates. Only the
ISO/IEC 19794-5 facial record inside DG2, a binary header and not ASN.1, is read with `struct`.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any, ClassVar

from asn1crypto import algos, cms, core, parser, x509

# id-icao-mrtd-security-ldsSecurityObject and id-icao-cscaMasterList (ICAO 9303 Part 10, 12).
LDS_SECURITY_OBJECT = "2.23.136.1.1.1"
CSCA_MASTER_LIST = "2.23.136.1.1.2"

# The files' outer tags ([APPLICATION n], constructed) and the templates inside them.
SOD_TAG = 23  # 0x77
DG1_TAG = 1  # 0x61
DG2_TAG = 21  # 0x75
MRZ_TAG = 31  # 0x5F1F
BIOMETRIC_GROUP_TAG = 97  # 0x7F61
BIOMETRIC_TEMPLATE_TAG = 96  # 0x7F60
BIOMETRIC_DATA_TAG = 46  # 0x5F2E (or 0x7F2E, constructed)
APPLICATION = 1
CONSTRUCTED = 1

# ISO/IEC 19794-5 image data types.
JPEG, JPEG2000 = 0, 1


class ChipDataError(ValueError):
    """A chip file that is not what it claims to be (wrong tags, truncated, not DER)."""


class DataGroupHash(core.Sequence):
    """One data group's number and the hash the document signer signed."""

    _fields: ClassVar[list[Any]] = [
        ("data_group_number", core.Integer),
        ("data_group_hash_value", core.OctetString),
    ]


class DataGroupHashValues(core.SequenceOf):
    """The hashes of every data group on the chip."""

    _child_spec = DataGroupHash


class LDSVersionInfo(core.Sequence):
    """The LDS and Unicode versions (LDSSecurityObject version 1 only)."""

    _fields: ClassVar[list[Any]] = [
        ("lds_version", core.PrintableString),
        ("unicode_version", core.PrintableString),
    ]


class LDSSecurityObject(core.Sequence):
    """The content the SOD signs: a hash algorithm and the hash of each data group."""

    _fields: ClassVar[list[Any]] = [
        ("version", core.Integer),
        ("hash_algorithm", algos.DigestAlgorithm),
        ("data_group_hash_values", DataGroupHashValues),
        ("lds_version_info", LDSVersionInfo, {"optional": True}),
    ]


class CertificateSet(core.SetOf):
    """A SET OF Certificate."""

    _child_spec = x509.Certificate


class CscaMasterList(core.Sequence):
    """The content of an ICAO master list: the CSCA certificates a state vouches for."""

    _fields: ClassVar[list[Any]] = [("version", core.Integer), ("cert_list", CertificateSet)]


def _tlv(data: bytes, class_: int, tag: int, what: str) -> bytes:
    """The contents of one BER TLV with this class and tag (the whole of `data`)."""
    try:
        got_class, _method, got_tag, _header, contents, _trailer = parser.parse(data, strict=True)
    except ValueError as error:
        raise ChipDataError(f"{what} is not a BER-TLV value ({error})") from None
    if (got_class, got_tag) != (class_, tag):
        raise ChipDataError(f"{what} has tag class {got_class} number {got_tag}")
    return contents


def _children(contents: bytes, what: str) -> list[tuple[int, int, int, bytes]]:
    """The TLVs one after another in a constructed value: (class, method, tag, contents)."""
    out = []
    pointer = 0
    while pointer < len(contents):
        try:
            length = parser.peek(contents[pointer:])
            class_, method, tag, _header, value, _trailer = parser.parse(
                contents[pointer : pointer + length], strict=True
            )
        except ValueError as error:
            raise ChipDataError(f"{what} holds a malformed TLV ({error})") from None
        out.append((class_, method, tag, value))
        pointer += length
    return out


@dataclass(frozen=True)
class Sod:
    """EF.SOD read: the CMS SignedData and the LDS security object it carries."""

    signed_data: cms.SignedData
    content: bytes  # the encapsulated content's octets, as signed
    security_object: LDSSecurityObject

    @property
    def hash_algorithm(self) -> str:
        """The data groups' hash algorithm (asn1crypto's name: sha256, sha384...)."""
        return str(self.security_object["hash_algorithm"]["algorithm"].native)

    def hashes(self) -> dict[int, bytes]:
        """The signed hash of each data group, by number."""
        return {
            int(item["data_group_number"].native): bytes(item["data_group_hash_value"].native)
            for item in self.security_object["data_group_hash_values"]
        }


def read_sod(data: bytes) -> Sod:
    """EF.SOD (0x77 around a CMS ContentInfo) read; ChipDataError when it is not one."""
    contents = _tlv(data, APPLICATION, SOD_TAG, "EF.SOD")
    try:
        info = cms.ContentInfo.load(contents, strict=True)
        if info["content_type"].native != "signed_data":
            raise ChipDataError("EF.SOD does not hold a CMS SignedData")
        signed = info["content"]
        encap = signed["encap_content_info"]
        if encap["content_type"].dotted != LDS_SECURITY_OBJECT:
            raise ChipDataError("EF.SOD does not sign an LDS security object")
        content = bytes(encap["content"].native)
        security_object = LDSSecurityObject.load(content, strict=True)
        security_object.native  # parse it all now: a malformed field fails here, not later  # noqa: B018
        len(signed["signer_infos"])
    except ChipDataError:
        raise
    except (ValueError, TypeError, KeyError) as error:
        raise ChipDataError(f"EF.SOD is malformed ({type(error).__name__})") from None
    return Sod(signed, content, security_object)


def read_mrz(dg1: bytes) -> str:
    """The MRZ that DG1 holds (0x61 around 0x5F1F), as one string without line breaks."""
    for class_, _method, tag, value in _children(_tlv(dg1, APPLICATION, DG1_TAG, "DG1"), "DG1"):
        if (class_, tag) == (APPLICATION, MRZ_TAG):
            try:
                return value.decode("ascii")
            except UnicodeDecodeError:
                raise ChipDataError("DG1's MRZ is not ASCII") from None
    raise ChipDataError("DG1 holds no MRZ (tag 5F1F)")


@dataclass(frozen=True, slots=True)
class FacialImage:
    """The first facial image of DG2: its encoding (JPEG or JPEG2000) and bytes."""

    image_type: int
    width: int
    height: int
    data: bytes


# ISO/IEC 19794-5:2005: general header (format "FAC\0", version, record length, image count),
# facial record header, feature points, image information.
_GENERAL = struct.Struct(">4s4sIH")
_FACIAL = struct.Struct(">IHBBB3sH3s3s")
_FEATURE_POINT_SIZE = 8
_IMAGE_INFO = struct.Struct(">BBHHBBHH")


def _facial_record(block: bytes) -> FacialImage:
    """The first image of an ISO/IEC 19794-5 facial record."""
    try:
        fmt, _version, _length, count = _GENERAL.unpack_from(block, 0)
        if fmt != b"FAC\0" or count < 1:
            raise ChipDataError("DG2's biometric data is not an ISO/IEC 19794-5 facial record")
        offset = _GENERAL.size
        block_length, points, *_ = _FACIAL.unpack_from(block, offset)
        info_at = offset + _FACIAL.size + points * _FEATURE_POINT_SIZE
        _face_type, image_type, width, height, *_ = _IMAGE_INFO.unpack_from(block, info_at)
    except struct.error:
        raise ChipDataError("DG2's facial record is truncated") from None
    start = info_at + _IMAGE_INFO.size
    end = offset + block_length
    if image_type not in (JPEG, JPEG2000) or end > len(block) or end <= start:
        raise ChipDataError("DG2's facial record holds no JPEG or JPEG2000 image")
    return FacialImage(image_type, width, height, block[start:end])


def read_face(dg2: bytes) -> FacialImage:
    """The first facial image of DG2 (0x75 ▸ 0x7F61 ▸ 0x7F60 ▸ 0x5F2E ▸ ISO 19794-5 record)."""
    for class_, _m, tag, group in _children(_tlv(dg2, APPLICATION, DG2_TAG, "DG2"), "DG2"):
        if (class_, tag) != (APPLICATION, BIOMETRIC_GROUP_TAG):
            continue
        for class2, _m2, tag2, template in _children(group, "DG2's biometric group"):
            if (class2, tag2) != (APPLICATION, BIOMETRIC_TEMPLATE_TAG):
                continue
            for class3, _m3, tag3, value in _children(template, "DG2's biometric template"):
                if (class3, tag3) == (APPLICATION, BIOMETRIC_DATA_TAG):
                    return _facial_record(value)
    raise ChipDataError("DG2 holds no biometric data block (tag 5F2E)")


def emit(class_: int, method: int, tag: int, contents: bytes) -> bytes:
    """One BER-TLV value (asn1crypto's encoder): for building data groups in tests and tools."""
    return bytes(parser.emit(class_, method, tag, contents))
