"""Passive authentication on chips built here, one also checked by OpenSSL (an independent tool)."""

from __future__ import annotations

import datetime as dt
import hashlib
import shutil
import subprocess
from pathlib import Path

import pytest
from asn1crypto import cms, x509

from eta.chip import lds, passive
from eta.chip.csca import CscaFileError, read_file
from tests.chip import builder

FACE = b"\xff\xd8\xff\xe0 a face"
NOW = dt.datetime.now(dt.UTC)


def _verdict(chip: builder.Chip, cscas=None, groups=None, at=NOW) -> passive.Verdict:
    trusted = [chip.authority.certificate] if cscas is None else cscas
    return passive.verify(lds.read_sod(chip.sod), groups or chip.files(), trusted, at)


def test_a_genuine_chip_is_verified_and_says_who_signed_it():
    chip = builder.chip(FACE)
    verdict = _verdict(chip)
    assert verdict.outcome is passive.Outcome.VERIFIED
    assert verdict.details["document_signer"] == "CN=Document Signer 7,O=Passport Office,C=SE"
    assert verdict.details["csca"] == "CN=CSCA Test,O=Passport Office,C=SE"
    assert verdict.details["hash_algorithm"] == "sha256"


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl is not installed")
def test_openssl_verifies_the_same_sod_against_the_csca(tmp_path: Path):
    chip = builder.chip(FACE)
    # EF.SOD is 0x77 around the CMS ContentInfo: OpenSSL reads the ContentInfo.
    (tmp_path / "sod.der").write_bytes(lds._tlv(chip.sod, lds.APPLICATION, lds.SOD_TAG, "SOD"))
    (tmp_path / "csca.pem").write_bytes(chip.authority.pem)
    command = [
        "openssl", "cms", "-verify", "-inform", "DER", "-in", str(tmp_path / "sod.der"),
        "-CAfile", str(tmp_path / "csca.pem"), "-binary", "-purpose", "any",
        "-out", str(tmp_path / "content.der"),
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert "Verification successful" in done.stderr
    # What OpenSSL says was signed is the LDS security object eta reads the hashes from.
    signed = (tmp_path / "content.der").read_bytes()
    assert signed == lds.read_sod(chip.sod).content
    (_, dg2_hash) = lds.LDSSecurityObject.load(signed)["data_group_hash_values"].native
    assert dg2_hash["data_group_hash_value"] == hashlib.sha256(chip.dg2).digest()
    # ...and refuses it under another CSCA, as eta does.
    (tmp_path / "other.pem").write_bytes(builder.csca().pem)
    command[command.index(str(tmp_path / "csca.pem"))] = str(tmp_path / "other.pem")
    assert subprocess.run(command, capture_output=True, check=False).returncode != 0
    assert _verdict(chip, [builder.csca().certificate]).outcome is passive.Outcome.UNKNOWN_CSCA


def test_a_changed_data_group_is_tampered_and_named():
    chip = builder.chip(FACE)
    other_face = builder.dg2(b"\xff\xd8\xff\xe0 another face")
    verdict = _verdict(chip, groups={1: chip.dg1, 2: other_face})
    assert verdict.outcome is passive.Outcome.TAMPERED
    assert verdict.details["data_groups"] == [2]
    assert "DG2" in verdict.reason


def test_a_changed_mrz_is_tampered():
    chip = builder.chip(FACE)
    forged = builder.dg1(builder.td3("Other", "Name", "L898902C3", "SWE", "740812", "F", "320415"))
    verdict = _verdict(chip, groups={1: forged, 2: chip.dg2})
    assert (verdict.outcome, verdict.details["data_groups"]) == (passive.Outcome.TAMPERED, [1])


def test_a_sod_re_signed_by_a_stranger_is_tampered():
    chip = builder.chip(FACE)
    stranger = builder.document_signer(builder.csca())
    # The stranger's signature over hashes of forged data, with the genuine signer's certificate.
    forged = builder.sod(chip.files(), stranger)
    content_info = lds._tlv(forged, lds.APPLICATION, lds.SOD_TAG, "SOD")
    info = cms.ContentInfo.load(content_info)
    genuine = x509.Certificate.load(chip.signer.der)
    info["content"]["certificates"] = [genuine]
    sid = info["content"]["signer_infos"][0]["sid"].chosen
    sid["issuer"] = genuine.issuer
    sid["serial_number"] = genuine.serial_number
    chip.sod = lds.emit(lds.APPLICATION, lds.CONSTRUCTED, lds.SOD_TAG, info.dump(force=True))
    verdict = _verdict(chip)
    assert verdict.outcome is passive.Outcome.TAMPERED
    assert verdict.details == {"failed": "sod_signature"}


def test_a_flipped_signature_byte_is_tampered():
    chip = builder.chip(FACE)
    sod = lds.read_sod(chip.sod)
    signer = sod.signed_data["signer_infos"][0]
    signature = bytearray(signer["signature"].native)
    signature[-1] ^= 1
    signer["signature"] = bytes(signature)
    verdict = passive.verify(sod, chip.files(), [chip.authority.certificate], NOW)
    assert verdict.outcome is passive.Outcome.TAMPERED


def test_a_signer_from_another_csca_is_unknown():
    chip = builder.chip(FACE)
    verdict = _verdict(chip, [builder.csca(common="CSCA Test").certificate])  # same name
    assert verdict.outcome is passive.Outcome.UNKNOWN_CSCA
    assert "eta chip import-csca" in verdict.reason
    assert _verdict(chip, []).outcome is passive.Outcome.UNKNOWN_CSCA


def test_an_expired_document_signer():
    authority = builder.csca()
    signer = builder.document_signer(
        authority,
        not_before=NOW - dt.timedelta(days=4000),
        not_after=NOW - dt.timedelta(days=1),
    )
    chip = builder.chip(FACE, authority=authority, signer=signer)
    verdict = _verdict(chip)
    assert verdict.outcome is passive.Outcome.SIGNER_EXPIRED
    assert verdict.details["expired"] == "document signer"
    # The same chip on a day its signer was valid verifies.
    assert _verdict(chip, at=NOW - dt.timedelta(days=2)).outcome is passive.Outcome.VERIFIED


def test_an_expired_csca():
    authority = builder.csca(valid_until=NOW - dt.timedelta(hours=1))
    signer = builder.document_signer(authority, not_before=NOW - dt.timedelta(days=60))
    verdict = _verdict(builder.chip(FACE, authority=authority, signer=signer))
    assert (verdict.outcome, verdict.details["expired"]) == (passive.Outcome.SIGNER_EXPIRED, "CSCA")


def test_the_files_are_read_with_their_tags_checked():
    chip = builder.chip(FACE)
    assert lds.read_mrz(chip.dg1) == builder.SPECIMEN_MRZ
    assert lds.read_face(chip.dg2).data == FACE
    for reader, wrong in (
        (lds.read_sod, chip.dg1),
        (lds.read_mrz, chip.dg2),
        (lds.read_face, chip.dg1),
        (lds.read_sod, b"\x77\x05\x30\x03\x02\x01"),  # truncated
        (lds.read_face, builder.dg2(b"")[:-3]),
        (lds.read_sod, b""),
    ):
        with pytest.raises(lds.ChipDataError):
            reader(wrong)


def test_a_jpeg2000_face_is_read_as_such():
    record = lds.read_face(builder.dg2(b"\x00\x00\x00\x0cjP  ", lds.JPEG2000))
    assert record.image_type == lds.JPEG2000


def test_csca_files_pem_der_and_master_list():
    first, second = builder.csca("SE"), builder.csca("FR", "CSCA France")
    pem = read_file(first.pem + second.pem)
    assert (pem.kind, len(pem.certificates)) == ("pem", 2)
    assert read_file(first.der).kind == "der"
    signer = builder.document_signer(first, common="Master List Signer")
    listed = read_file(builder.master_list([first, second], signer))
    assert listed.kind == "master list"
    assert {c.subject.rfc4514_string() for c in listed.certificates} == {
        "CN=CSCA Test,O=Passport Office,C=SE",
        "CN=CSCA France,O=Passport Office,C=FR",
    }
    assert listed.signer == "CN=Master List Signer,O=Passport Office,C=SE"


def test_an_altered_master_list_is_refused():
    first, second = builder.csca("SE"), builder.csca("FR", "CSCA France")
    signer = builder.document_signer(first, common="Master List Signer")
    info = cms.ContentInfo.load(builder.master_list([first], signer))
    content = lds.CscaMasterList({"version": 0, "cert_list": [x509.Certificate.load(second.der)]})
    info["content"]["encap_content_info"]["content"] = content.dump()
    with pytest.raises(CscaFileError, match="signature does not verify"):
        read_file(info.dump(force=True))
    with pytest.raises(CscaFileError):
        read_file(b"not a certificate at all")
