"""The downloaded authorisation PDF is signed with the configured certificate; production
refuses to start without one; `eta keys pdf-certificate` makes the development chain.
"""

from __future__ import annotations

import io
import logging
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from pyhanko.keys import load_cert_from_pemder
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext

from config import ConfigurationError, load_settings
from eta import authorisations
from eta.authorisations import pdf_signing
from eta.issuance.pdfsign import (
    DevelopmentChain,
    development_paths,
    make_development_chain,
    outside_event_loop,
)
from eta.models import Application, Authorisation
from tests.authorisations.test_issuing_jobs import _path, approved, issue  # noqa: F401

ROOT = Path(__file__).resolve().parents[2]
ORGANISATION = "Example Border Agency"


@pytest.fixture
def signing_chain(app: Flask, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> DevelopmentChain:
    """A development chain the app is configured to sign with."""
    chain = make_development_chain(tmp_path / "pdf", ORGANISATION)
    monkeypatch.setitem(app.config, "ETA_PDF_SIGNING_CERT", str(chain.certificate))
    monkeypatch.setitem(app.config, "ETA_PDF_SIGNING_KEY", str(chain.key))
    monkeypatch.setitem(app.config, "ETA_PDF_SIGNING_CHAIN", str(chain.chain))
    return chain


def _signatures(pdf: bytes) -> list[Any]:
    return list(PdfFileReader(io.BytesIO(pdf)).embedded_signatures)


def test_the_downloaded_pdf_is_signed_by_the_configured_certificate(
    session: Any,
    client: FlaskClient,
    issue: Callable[[Application], Authorisation],  # noqa: F811
    signing_chain: DevelopmentChain,
) -> None:
    application = approved(session)
    authorisation = issue(application)
    response = client.get(_path(authorisations.download_url(authorisation, "pdf")))
    assert response.status_code == 200
    (signature,) = _signatures(response.data)
    context = ValidationContext(
        trust_roots=[load_cert_from_pemder(str(signing_chain.root))], allow_fetching=False
    )
    status = outside_event_loop(lambda: validate_pdf_signature(signature, context))
    assert status.bottom_line and status.trusted
    assert status.coverage is SignatureCoverageLevel.ENTIRE_FILE
    assert status.signing_cert.subject.native["organization_name"] == ORGANISATION
    assert application.reference in str(signature.sig_object["/Reason"])


def test_without_a_certificate_a_test_deployment_issues_unsigned_with_a_warning(
    session: Any,
    client: FlaskClient,
    issue: Callable[[Application], Authorisation],  # noqa: F811
    app: Flask,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setitem(app.config, "ETA_PDF_SIGNING_CERT", str(tmp_path / "none.pem"))
    monkeypatch.setitem(app.config, "ETA_PDF_SIGNING_KEY", str(tmp_path / "none-key.pem"))
    pdf_signing._warned_unsigned.clear()
    authorisation = issue(approved(session))
    with caplog.at_level(logging.WARNING, logger=pdf_signing.__name__):
        response = client.get(_path(authorisations.download_url(authorisation, "pdf")))
    assert response.status_code == 200 and response.data.startswith(b"%PDF-")
    assert _signatures(response.data) == []
    assert any("issued unsigned" in record.getMessage() for record in caplog.records)


def test_a_renewed_certificate_is_used_without_a_restart(
    app_ctx: Flask, signing_chain: DevelopmentChain
) -> None:
    first = pdf_signing.signing_identity()
    assert first is not None
    renewed = make_development_chain(signing_chain.root.parent, ORGANISATION)
    second = pdf_signing.signing_identity()
    assert second is not None and second is not first
    pem = second.certificate.public_bytes(serialization.Encoding.PEM)
    assert pem == renewed.certificate.read_bytes()
    assert pdf_signing.signing_identity() is second  # cached while the files stay the same


# --- configuration ------------------------------------------------------------------------


def _production(**extra: str) -> dict[str, str]:
    return {
        "ETA_ENV": "production",
        "ETA_SECRET_KEY": "s" * 40,
        "ETA_DATABASE_URL": "postgresql+psycopg://db/eta",
        "ETA_REDIS_URL": "redis://redis:6379/0",
        **extra,
    }


def test_production_without_a_certificate_starts_unsigned_and_half_a_pair_is_refused(
    tmp_path: Path,
) -> None:
    # SPEC §2 lists what production refuses to start without; the certificate is not on it.
    unsigned = load_settings(tmp_path, _production())
    assert unsigned["ETA_PDF_SIGNING_CERT"] == unsigned["ETA_PDF_SIGNING_KEY"] == ""
    assert pdf_signing.load_configured(unsigned) is None
    with pytest.raises(ConfigurationError, match="ETA_PDF_SIGNING_CERT"):
        load_settings(tmp_path, _production(ETA_PDF_SIGNING_CERT="/etc/eta/cert.pem"))
    settings = load_settings(
        tmp_path,
        _production(
            ETA_PDF_SIGNING_CERT="/etc/eta/cert.pem",
            ETA_PDF_SIGNING_KEY="/etc/eta/key.pem",
            ETA_PDF_SIGNING_CHAIN="/etc/eta/chain.pem",
        ),
    )
    assert settings["ETA_PDF_SIGNING_CERT"] == "/etc/eta/cert.pem"
    assert settings["ETA_PDF_SIGNING_CHAIN"] == "/etc/eta/chain.pem"


def test_development_defaults_to_the_development_chain(tmp_path: Path) -> None:
    settings = load_settings(tmp_path, {})
    expected = development_paths(tmp_path / "keys" / "pdf")
    assert settings["ETA_PDF_SIGNING_CERT"] == str(expected.certificate)
    assert settings["ETA_PDF_SIGNING_KEY"] == str(expected.key)
    assert settings["ETA_PDF_SIGNING_CHAIN"] == str(expected.chain)


def test_production_with_an_unreadable_certificate_exits_with_one_line(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ETA_")}
    env.update(
        _production(
            ETA_PDF_SIGNING_CERT=str(tmp_path / "missing-cert.pem"),
            ETA_PDF_SIGNING_KEY=str(tmp_path / "missing-key.pem"),
        )
    )
    result = subprocess.run(
        [sys.executable, "-c", "import wsgi"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "cannot read the PDF signing certificate" in lines[0]


# --- eta keys pdf-certificate -------------------------------------------------------------


@pytest.fixture
def development_dir(app: Flask, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path / "dev-pdf"
    paths = development_paths(directory)
    monkeypatch.setitem(app.config, "ETA_PDF_DEVELOPMENT_DIR", str(directory))
    monkeypatch.setitem(app.config, "ETA_PDF_SIGNING_CERT", str(paths.certificate))
    monkeypatch.setitem(app.config, "ETA_PDF_SIGNING_KEY", str(paths.key))
    monkeypatch.setitem(app.config, "ETA_PDF_SIGNING_CHAIN", str(paths.chain))
    monkeypatch.setitem(app.config, "ETA_PDF_SIGNING_ORGANISATION", ORGANISATION)
    return directory


def test_pdf_certificate_makes_a_chain_once_and_keeps_it(
    runner: FlaskCliRunner, development_dir: Path
) -> None:
    result = runner.invoke(args=["keys", "pdf-certificate"])
    assert result.exit_code == 0, result.output
    assert f"PDF signing certificate for {ORGANISATION} made" in result.output
    paths = development_paths(development_dir)
    assert paths.key.stat().st_mode & 0o777 == 0o600
    root = paths.root.read_bytes()
    again = runner.invoke(args=["keys", "pdf-certificate"])
    assert again.exit_code == 0 and "kept" in again.output
    assert paths.root.read_bytes() == root  # a reader told to trust it goes on trusting it
    forced = runner.invoke(args=["keys", "pdf-certificate", "--force"])
    assert forced.exit_code == 0 and "made" in forced.output
    assert paths.root.read_bytes() != root


def test_pdf_certificate_replaces_a_chain_for_another_organisation(
    runner: FlaskCliRunner, development_dir: Path
) -> None:
    make_development_chain(development_dir, "Another Agency")
    result = runner.invoke(args=["keys", "pdf-certificate"])
    assert result.exit_code == 0 and f"for {ORGANISATION} made" in result.output


def test_pdf_certificate_is_refused_in_production(
    app: Flask, runner: FlaskCliRunner, development_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app.config, "ETA_ENV", "production")
    result = runner.invoke(args=["keys", "pdf-certificate"])
    assert result.exit_code == 2
    assert "ETA_ENV=production" in result.output
    assert not development_dir.exists()
