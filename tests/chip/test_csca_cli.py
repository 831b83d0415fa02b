"""`eta chip import-csca`: PEM bundles, DER certificates and ICAO master lists, all or nothing."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from eta.models import AuditEvent, CscaCertificate
from tests.chip import builder


def _import(runner, path: Path):
    return runner.invoke(args=["chip", "import-csca", str(path)])


def test_a_master_list_is_imported_once_with_an_audit_event(runner, session, tmp_path: Path):
    sweden, france = builder.csca("SE"), builder.csca("FR", "CSCA France")
    signer = builder.document_signer(sweden, common="Master List Signer")
    path = tmp_path / "list.ml"
    path.write_bytes(builder.master_list([sweden, france], signer))
    result = _import(runner, path)
    assert result.exit_code == 0, result.output
    assert "master list, signed by CN=Master List Signer" in result.output
    assert "2 CSCA certificate(s) added, 0 already held" in result.output
    rows = session.scalars(select(CscaCertificate).order_by(CscaCertificate.country)).all()
    assert [(r.country, r.subject) for r in rows] == [
        ("FR", "CN=CSCA France,O=Passport Office,C=FR"),
        ("SE", "CN=CSCA Test,O=Passport Office,C=SE"),
    ]
    assert rows[1].der == sweden.der and rows[1].source == "list.ml (master list)"
    # Again, with one more in a PEM bundle: only the new one is added.
    bundle = tmp_path / "bundle.pem"
    bundle.write_bytes(sweden.pem + builder.csca("NO", "CSCA Norway").pem)
    assert "1 CSCA certificate(s) added, 1 already held" in _import(runner, bundle).output
    events = session.scalars(select(AuditEvent).where(AuditEvent.action == "csca.imported")).all()
    assert [e.details["added"] for e in events] == [2, 1]
    listing = runner.invoke(args=["chip", "list-csca"]).output.splitlines()
    assert [line.split("\t")[0] for line in listing] == ["FR", "NO", "SE"]


def test_a_der_certificate(runner, session, tmp_path: Path):
    path = tmp_path / "csca.cer"
    path.write_bytes(builder.csca().der)
    assert _import(runner, path).exit_code == 0
    assert session.scalar(select(CscaCertificate.country)) == "SE"


def test_a_file_that_is_no_csca_imports_nothing(runner, session, tmp_path: Path):
    authority = builder.csca()
    signer = builder.document_signer(authority)  # not a CA
    path = tmp_path / "mixed.pem"
    path.write_bytes(authority.pem + signer.pem)
    result = _import(runner, path)
    assert result.exit_code != 0 and "is not a CA certificate" in result.output
    garbage = tmp_path / "garbage.bin"
    garbage.write_bytes(b"\x30\x03\x02\x01\x00")
    result = _import(runner, garbage)
    assert result.exit_code != 0 and "garbage.bin:" in result.output
    assert session.scalar(select(CscaCertificate)) is None
    assert session.scalar(select(AuditEvent).where(AuditEvent.action == "csca.imported")) is None
