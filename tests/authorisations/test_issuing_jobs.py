"""Issuance in the app: the job after approval, revocation, rotation and signed links."""

from __future__ import annotations

import datetime as dt
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import arabic_reshaper
import pytest
import zxingcpp
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from PIL import Image
from redis import Redis
from rq.job import Job
from rq.serializers import JSONSerializer
from sqlalchemy import func, select

from eta import applications, authorisations
from eta.authorisations import links
from eta.issuance.qr import read_qr
from eta.issuance.revocations import read_revocation_list, revocation_hash
from eta.models import Actor, Application, ApplicationStatus, Authorisation, RevocationListVersion
from eta.outbox import enqueue
from eta.tasks import ISSUANCE
from eta.timeutil import today, utcnow
from tests.factories import submitted_application


def approved(session: Any, **overrides: Any) -> Application:
    """A committed application that screening has approved."""
    application = submitted_application(session, **overrides)
    applications.start_screening(session, application)
    applications.approve(session, application)
    return application


@pytest.fixture
def issue(
    session: Any, redis: Redis, run_jobs: Callable[..., bool]
) -> Callable[[Application], Authorisation]:
    """Run the real issuance job for an application through a real worker."""

    def run(application: Application) -> Authorisation:
        enqueue(
            redis,
            ISSUANCE,
            "workers.issuance.issue_authorisation",
            application.id,
            job_id=f"issue-{application.id}",
        )
        run_jobs((ISSUANCE,))
        session.expire_all()
        authorisation = session.scalar(
            select(Authorisation).where(Authorisation.application_id == application.id)
        )
        assert authorisation is not None
        return authorisation

    return run


def _path(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def test_approved_application_gets_a_verifying_authorisation_and_email(
    session: Any, redis: Redis, issue: Callable[[Application], Authorisation]
) -> None:
    application = approved(session)
    authorisation = issue(application)

    assert authorisation.kid == authorisations.keyring().active().kid
    assert authorisation.passport_number_normalised == "L898902C3"
    assert authorisation.passport_issuing_country == "SWE"
    assert authorisation.valid_from <= utcnow() < authorisation.valid_until
    result = authorisations.verify_token(
        authorisation.token, expected_passport_number="L898902C3", expected_country="SWE"
    )
    assert result.ok, result
    assert result.claims is not None
    assert result.claims["sub"] == application.reference
    assert result.claims["nam"] == {"fn": "ERIKSSON", "gn": "ANNA MARIA"}
    assert result.claims["jti"] == authorisation.jti
    notify = Job.fetch(
        f"notify-approved-{application.id}", connection=redis, serializer=JSONSerializer
    )
    assert notify.func_name == "workers.notifications.notify_traveller"
    assert notify.args == [application.id, "approved"]


def test_issuing_twice_keeps_one_authorisation(
    session: Any, issue: Callable[[Application], Authorisation]
) -> None:
    application = approved(session)
    first = issue(application)
    token = first.token
    second = issue(application)
    assert second.id == first.id
    assert second.token == token
    count = session.scalar(select(func.count()).select_from(Authorisation))
    assert count == 1


def test_unapproved_application_gets_nothing(session: Any, app: Flask) -> None:
    from workers.issuance import issue_authorisation

    application = submitted_application(session)
    assert issue_authorisation(application.id) is None
    assert issue_authorisation(999_999) is None
    assert session.scalar(select(func.count()).select_from(Authorisation)) == 0


def test_validity_never_outlasts_the_passport(
    session: Any, issue: Callable[[Application], Authorisation]
) -> None:
    expiry = today() + dt.timedelta(days=100)
    authorisation = issue(approved(session, passport_expiry_date=expiry))
    assert authorisation.valid_until == dt.datetime.combine(expiry, dt.time.min, tzinfo=dt.UTC)


def test_validity_years_from_configuration(
    session: Any, app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app.config, "ETA_VALIDITY_YEARS", 1)
    application = approved(session)
    now = dt.datetime(2026, 11, 28, 12, 0, tzinfo=dt.UTC)
    authorisation = authorisations.issue_for(session, application, now=now)
    assert authorisation is not None
    assert authorisation.valid_until == dt.datetime(2027, 11, 28, 12, 0, tzinfo=dt.UTC)


def test_expired_passport_is_not_issued(session: Any) -> None:
    application = approved(session, passport_expiry_date=today() - dt.timedelta(days=1))
    with pytest.raises(authorisations.IssuanceError):
        authorisations.issue_for(session, application)


def test_revoked_authorisation_is_published_at_once_and_fails_verification(
    session: Any,
    client: FlaskClient,
    redis: Redis,
    issue: Callable[[Application], Authorisation],
) -> None:
    application = approved(session)
    authorisation = issue(application)
    other = issue(approved(session, passport_number="XA0000001", email="b@example.org"))
    jwks = client.get("/.well-known/jwks.json").get_json()
    before = read_revocation_list(client.get("/api/v1/revocations").text, jwks, "http://eta.test")
    assert before.version == 0
    assert authorisations.verify_token(authorisation.token).ok  # warms the per-process cache

    authorisations.revoke(
        session, authorisation, reason_code="new_information", officer_id=None, actor=Actor.SYSTEM
    )

    served = client.get("/api/v1/revocations")
    listed = read_revocation_list(served.text, jwks, "http://eta.test")
    assert listed.version == before.version + 1
    assert listed.revoked == {revocation_hash(authorisation.jti)}
    result = authorisations.verify_token(authorisation.token)
    assert (result.ok, result.reason) == (False, "revoked")
    assert authorisations.verify_token(other.token).ok
    assert authorisations.revoked_hashes(session) == {revocation_hash(authorisation.jti)}
    session.refresh(application)
    assert application.status == ApplicationStatus.REVOKED
    assert authorisation.revocation_reason == "new_information"
    assert authorisations.authorisation_summary(application) is None
    assert session.scalar(select(func.count()).select_from(RevocationListVersion)) == 1
    notify = Job.fetch(
        f"notify-revoked-{application.id}", connection=redis, serializer=JSONSerializer
    )
    assert notify.args == [application.id, "revoked"]

    # Revoking again changes nothing (no second list version).
    authorisations.revoke(
        session, authorisation, reason_code="other", officer_id=None, actor="system"
    )
    assert session.scalar(select(func.count()).select_from(RevocationListVersion)) == 1


def test_a_token_signed_before_rotation_still_verifies(
    session: Any,
    client: FlaskClient,
    runner: FlaskCliRunner,
    issue: Callable[[Application], Authorisation],
) -> None:
    old = issue(approved(session))
    result = runner.invoke(args=["keys", "rotate"])
    assert result.exit_code == 0, result.output
    assert old.kid not in {
        info.kid for info in authorisations.keyring().list() if info.state == "active"
    }

    assert authorisations.verify_token(old.token).ok
    new = issue(approved(session, passport_number="XA0000002", email="c@example.org"))
    assert new.kid != old.kid
    assert authorisations.verify_token(new.token).ok
    served = {key["kid"] for key in client.get("/.well-known/jwks.json").get_json()["keys"]}
    assert {old.kid, new.kid} <= served


def test_removed_key_no_longer_verifies(
    session: Any, app: Flask, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app.config, "ETA_KEYS_DIR", str(tmp_path / "keys"))
    authorisation = authorisations.issue_for(session, approved(session))
    assert authorisation is not None
    ring = authorisations.keyring()
    ring.rotate()
    assert authorisations.verify_token(authorisation.token).ok
    ring.remove(authorisation.kid)
    result = authorisations.verify_token(authorisation.token)
    assert (result.ok, result.detail) == (False, "unknown_kid")


def test_pdf_link_renders_a_pdf_whose_qr_is_the_exact_token(
    session: Any, client: FlaskClient, issue: Callable[[Application], Authorisation], tmp_path: Path
) -> None:
    application = approved(session)
    authorisation = issue(application)
    summary = authorisations.authorisation_summary(application)
    assert summary is not None
    assert set(summary) == {"token", "pdf_url", "qr_png_url", "valid_until"}
    assert summary["token"] == authorisation.token
    assert dt.datetime.fromisoformat(summary["valid_until"]) == authorisation.valid_until

    response = client.get(_path(summary["pdf_url"]))
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert "no-store" in response.headers["Cache-Control"]
    assert application.reference in response.headers["Content-Disposition"]
    (tmp_path / "eta.pdf").write_bytes(response.data)
    subprocess.run(
        [
            "pdftoppm",
            "-r",
            "150",
            "-png",
            "-singlefile",
            str(tmp_path / "eta.pdf"),
            str(tmp_path / "page"),
        ],
        check=True,
    )
    page = Image.open(tmp_path / "page.png")
    found = zxingcpp.read_barcodes(page, formats=zxingcpp.barcode_formats_from_str("QRCode"))
    assert [barcode.text for barcode in found] == [authorisation.token]

    png = client.get(_path(summary["qr_png_url"]))
    assert png.mimetype == "image/png"
    assert read_qr(png.data) == authorisation.token
    svg = client.get(_path(authorisations.download_url(authorisation, "svg")))
    assert svg.mimetype == "image/svg+xml"
    assert svg.text.startswith("<svg")


def test_links_are_signed_typed_and_expire(
    session: Any,
    app: Flask,
    client: FlaskClient,
    issue: Callable[[Application], Authorisation],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    authorisation = issue(approved(session))
    pdf_link = authorisations.link_token(authorisation, "pdf")
    assert client.get(f"/authorisation/{pdf_link}/eta.pdf").status_code == 200
    # A PDF link does not open the QR image, and a changed link opens nothing.
    assert client.get(f"/authorisation/{pdf_link}/qr.png").status_code == 404
    assert client.get(f"/authorisation/{pdf_link[:-2]}xx/eta.pdf").status_code == 404
    # A day later the link has expired.
    assert (
        authorisations.read_link(pdf_link, "pdf", max_age=authorisations.LINK_MAX_AGE) is not None
    )
    monkeypatch.setattr(links, "LINK_MAX_AGE", -1)
    assert client.get(f"/authorisation/{pdf_link}/eta.pdf").status_code == 404


def test_summary_links_use_the_public_base_outside_requests(
    session: Any, issue: Callable[[Application], Authorisation]
) -> None:
    application = approved(session)
    issue(application)
    summary = authorisations.authorisation_summary(application)
    assert summary is not None
    assert summary["pdf_url"].startswith("http://eta.test/authorisation/")


def test_french_application_gets_a_french_pdf(
    session: Any, client: FlaskClient, issue: Callable[[Application], Authorisation]
) -> None:
    application = approved(session, language="fr")
    authorisation = issue(application)
    pdf = client.get(_path(authorisations.download_url(authorisation, "pdf")))
    assert pdf.status_code == 200
    text = subprocess.run(
        ["pdftotext", "-", "-"], input=pdf.data, capture_output=True, check=True
    ).stdout.decode()
    assert "Autorisation de voyage électronique" in text


@pytest.mark.parametrize(
    ("language", "digits", "expected"),
    [
        # Shaped Arabic (joined letters); the country from pycountry's Arabic catalogue.
        ("ar", "latn", ["تصريح السفر الإلكتروني", "1974", "السويد"]),
        # ETA_ARABIC_DIGITS=arab: the date of birth in Arabic-Indic digits.
        ("ar", "arab", ["١٩٧٤"]),
        ("zh", "latn", ["电子旅行许可", "1974年8月12日", "瑞典"]),
    ],
)
def test_arabic_and_chinese_applications_get_their_pdf(
    session: Any,
    client: FlaskClient,
    app: Flask,
    monkeypatch: pytest.MonkeyPatch,
    issue: Callable[[Application], Authorisation],
    language: str,
    digits: str,
    expected: list[str],
) -> None:
    monkeypatch.setitem(app.config, "ETA_ARABIC_DIGITS", digits)
    application = approved(session, language=language)
    authorisation = issue(application)
    pdf = client.get(_path(authorisations.download_url(authorisation, "pdf")))
    assert pdf.status_code == 200
    text = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", "-", "-"], input=pdf.data, capture_output=True, check=True
    ).stdout.decode()
    for part in expected:
        # pdftotext gives Arabic back in its joined forms (U+FExx), harakat dropped.
        assert arabic_reshaper.reshape(part) in text, part
    assert "Passport number" not in text and "Sweden" not in text  # no English left


def test_an_issuer_too_long_for_the_qr_code_is_refused(
    session: Any, app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app.config, "ETA_ISSUER", "https://" + "x" * 120 + ".example")
    application = approved(session)
    with pytest.raises(authorisations.IssuanceError, match="ETA_ISSUER"):
        authorisations.issue_for(session, application)
    assert session.scalar(select(func.count()).select_from(Authorisation)) == 0


def test_periodic_job_removes_keys_whose_tokens_have_all_expired(
    app_ctx: Flask, app: Flask, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from workers.issuance import remove_expired_keys
    from workers.periodic import PERIODIC_JOBS

    monkeypatch.setitem(app.config, "ETA_KEYS_DIR", str(tmp_path / "keys"))
    ring = authorisations.keyring()
    long_ago = utcnow() - dt.timedelta(days=3 * 366)
    oldest = ring.active().kid
    ring.rotate(now=long_ago)  # retired three years ago: its tokens are all expired
    recent = ring.active().kid
    ring.rotate()  # retired just now: its tokens may still be valid
    assert remove_expired_keys() == [oldest]
    assert remove_expired_keys() == []
    states = {info.kid: info.state for info in ring.list()}
    assert (states[oldest], states[recent]) == ("removed", "retired")
    assert "remove-expired-keys" in {periodic.id for periodic in PERIODIC_JOBS}


@pytest.mark.parametrize(
    ("language", "title", "country", "born"),
    [
        ("es", "Autorización electrónica de viaje", "Suecia (SWE)", "12 de agosto de 1974"),
        ("de", "Elektronische Reisegenehmigung", "Schweden (SWE)", "12. August 1974"),
    ],
)
def test_spanish_and_german_applications_get_their_pdf(
    session: Any,
    client: FlaskClient,
    issue: Callable[[Application], Authorisation],
    language: str,
    title: str,
    country: str,
    born: str,
) -> None:
    application = approved(session, language=language)
    authorisation = issue(application)
    pdf = client.get(_path(authorisations.download_url(authorisation, "pdf")))
    assert pdf.status_code == 200
    text = subprocess.run(
        ["pdftotext", "-", "-"], input=pdf.data, capture_output=True, check=True
    ).stdout.decode()
    # The labels, the country name (CLDR's) and the dates are all in the applicant's language.
    assert title in text
    assert country in text
    assert born in text
    assert "Electronic Travel Authorisation" not in text  # the service's name too
    assert "Sweden" not in text
