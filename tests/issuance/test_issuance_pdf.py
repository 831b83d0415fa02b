"""Tests for the printable authorisation: the QR in the rendered PDF decodes to the token."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import zxingcpp
from PIL import Image

from eta.issuance.keys import Keyring
from eta.issuance.pdf import DEFAULT_LABELS, FRENCH_LABELS, AuthorisationDocument, authorisation_pdf
from eta.issuance.tokens import AuthorisationClaims, issue

ISSUER = "https://eta.travel-authorisation.example.gov"
QR_ONLY = zxingcpp.barcode_formats_from_str("QRCode")
VALID_FROM = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def _require_poppler(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        if os.environ.get("ETA_REQUIRE_BROWSER"):
            pytest.fail(f"{tool} (poppler-utils) is required when ETA_REQUIRE_BROWSER is set")
        pytest.skip(f"{tool} not found: install poppler-utils to render PDFs in tests")
    return path


@pytest.fixture
def document(
    keyring: Keyring, make_claims: Callable[..., AuthorisationClaims]
) -> AuthorisationDocument:
    claims = make_claims(
        surname_mrz="WOLFESCHLEGELSTEINHAUSEN",
        given_names_mrz="HUBERT BLAINE",
        reference="ETA-ABCD-EFGH-JKLM",
    )
    return AuthorisationDocument(
        service_name="Example Border Agency",
        reference=claims.reference,
        surname_mrz=claims.surname_mrz,
        given_names_mrz=claims.given_names_mrz,
        surname="Вольфешлегельштайнхаузен",
        given_names="Χούμπερτ Μπλέιν",
        date_of_birth=date(1974, 8, 12),
        passport_number="L898902C3",
        issuing_country="Sweden",
        valid_from=VALID_FROM,
        valid_until=VALID_FROM + timedelta(days=730),
        token=issue(claims, keyring.active(), ISSUER),
        verify_url="https://eta.travel-authorisation.example.gov/verify",
    )


def _render(pdf: bytes, tmp_path: Path, dpi: int = 200) -> Image.Image:
    pdftoppm = _require_poppler("pdftoppm")
    source = tmp_path / "authorisation.pdf"
    source.write_bytes(pdf)
    subprocess.run(
        [pdftoppm, "-r", str(dpi), "-png", "-singlefile", str(source), str(tmp_path / "page")],
        check=True,
        timeout=60,
    )
    return Image.open(tmp_path / "page.png")


def _text(pdf: bytes, tmp_path: Path) -> str:
    pdftotext = _require_poppler("pdftotext")
    source = tmp_path / "text.pdf"
    source.write_bytes(pdf)
    result = subprocess.run(
        [pdftotext, "-enc", "UTF-8", str(source), "-"],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return result.stdout.decode("utf-8")


def test_qr_in_the_rendered_pdf_decodes_to_the_exact_token(
    document: AuthorisationDocument, tmp_path: Path
) -> None:
    page = _render(authorisation_pdf(document), tmp_path)
    assert page.size == (1654, 2339)  # A4 at 200 dpi
    found = zxingcpp.read_barcodes(page, formats=QR_ONLY)
    assert [barcode.text for barcode in found] == [document.token]


def test_qr_is_at_least_40_mm_wide(document: AuthorisationDocument, tmp_path: Path) -> None:
    dpi = 200
    page = _render(authorisation_pdf(document), tmp_path, dpi)
    (barcode,) = zxingcpp.read_barcodes(page, formats=QR_ONLY)
    corners = barcode.position
    width_px = corners.top_right.x - corners.top_left.x
    assert width_px / dpi * 25.4 >= 40


def test_page_shows_every_field_in_english(document: AuthorisationDocument, tmp_path: Path) -> None:
    text = _text(authorisation_pdf(document), tmp_path)
    for expected in (
        "Example Border Agency",
        "Electronic Travel Authorisation",
        "ETA-ABCD-EFGH-JKLM",
        "WOLFESCHLEGELSTEINHAUSEN",
        "HUBERT BLAINE",
        "Χούμπερτ Μπλέιν",  # names as typed, in non-Latin scripts (wrapped over two lines)
        "Вольфешлегельштайнхаузен",
        "1974-08-12",
        "L898902C3",
        "Sweden",
        "2026-11-28 12:00 UTC",
        "2028-11-27 12:00 UTC",  # 730 days, across 29 February 2028
        DEFAULT_LABELS["entries"],
        "Multiple",
        "https://eta.travel-authorisation.example.gov/verify",
    ):
        assert expected in text, expected


def test_labels_are_translatable(document: AuthorisationDocument, tmp_path: Path) -> None:
    french = _text(authorisation_pdf(document, "fr"), tmp_path)
    assert FRENCH_LABELS["document_title"] in french
    assert FRENCH_LABELS["entries_multiple"] in french
    assert "Electronic Travel Authorisation" not in french
    custom = _text(authorisation_pdf(document, {"passport_number": "Numéro du document"}), tmp_path)
    assert "Numéro du document" in custom
    assert DEFAULT_LABELS["valid_until"] in custom  # missing labels fall back to English


def test_dates_follow_the_given_formatter(document: AuthorisationDocument, tmp_path: Path) -> None:
    text = _text(
        authorisation_pdf(document, "fr", format_date=lambda d: d.strftime("%d/%m/%Y")), tmp_path
    )
    assert "12/08/1974" in text


def test_same_input_gives_the_same_bytes(document: AuthorisationDocument) -> None:
    first = authorisation_pdf(document)
    assert first.startswith(b"%PDF-")
    assert authorisation_pdf(document) == first
    assert b"Wolfe" not in first and b"WOLFE" not in first.split(b"stream")[0]  # no PII in info


@pytest.mark.parametrize(
    ("given", "family", "extracted", "unshaped"),
    [
        # Arabic: letters joined in their contextual forms (U+FExx), not standing apart.
        ("محمد", "علي", "\ufee3\ufea4\ufee4\ufeaa \ufecb\ufee0\ufef2", "محمد علي"),
        # Hebrew: drawn right to left, so a reader (pdftotext applies the bidirectional
        # algorithm too) gets it back in logical order; drawn as typed, it reads backwards.
        ("דוד", "כהן", "דוד כהן", "ןהכ דוד"),
    ],
)
def test_right_to_left_names_are_shaped_and_in_visual_order(
    document: AuthorisationDocument,
    tmp_path: Path,
    given: str,
    family: str,
    extracted: str,
    unshaped: str,
) -> None:
    pdf = authorisation_pdf(replace(document, given_names=given, surname=family))
    text = _text(pdf, tmp_path).replace("\u202b", "").replace("\u202c", "")
    assert extracted in text
    assert unshaped not in text


def test_a_name_in_a_script_the_font_lacks_is_not_printed_as_boxes(
    document: AuthorisationDocument, tmp_path: Path
) -> None:
    pdf = authorisation_pdf(replace(document, given_names="太郎", surname="山田"))
    text = " ".join(_text(pdf, tmp_path).split())
    assert "山" not in text and "太" not in text
    assert DEFAULT_LABELS["name_not_printable"] in text
    assert "WOLFESCHLEGELSTEINHAUSEN" in text  # the passport's names are always there
