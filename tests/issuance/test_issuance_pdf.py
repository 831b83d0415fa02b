"""Tests for the printable authorisation: the QR in the rendered PDF decodes to the token."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import arabic_reshaper
import pytest
import zxingcpp
from PIL import Image

from eta.issuance.keys import Keyring
from eta.issuance.pdf import (
    ARABIC_LABELS,
    CHINESE_LABELS,
    CJK_FONT_FILES,
    DEFAULT_LABELS,
    FRENCH_LABELS,
    AuthorisationDocument,
    authorisation_pdf,
)
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


def test_a_name_in_a_script_no_font_has_is_not_printed_as_boxes(
    document: AuthorisationDocument, tmp_path: Path
) -> None:
    # Javanese script: neither DejaVu Sans nor the CJK font has it.
    pdf = authorisation_pdf(replace(document, given_names="ꦱꦸꦏꦂꦤꦺꦴ", surname="ꦱꦸꦏꦂꦤꦺꦴ"))
    text = " ".join(_text(pdf, tmp_path).split())
    assert "ꦱ" not in text
    assert DEFAULT_LABELS["name_not_printable"] in text
    assert "WOLFESCHLEGELSTEINHAUSEN" in text  # the passport's names are always there


MIRRORED = str.maketrans("()", ")(")


def _without_bidi_marks(text: str) -> str:
    """pdftotext's text without the embedding marks it puts round right-to-left runs."""
    return re.sub("[\u202a-\u202e\u200e\u200f]", "", text)


def _require_cjk_font() -> None:
    if not any(path.is_file() for path in CJK_FONT_FILES):
        if os.environ.get("ETA_REQUIRE_BROWSER"):
            pytest.fail("fonts-wqy-microhei is required when ETA_REQUIRE_BROWSER is set")
        pytest.skip("no CJK font: install fonts-wqy-microhei to print Chinese")


def test_a_han_name_prints_in_the_cjk_font(document: AuthorisationDocument, tmp_path: Path) -> None:
    _require_cjk_font()
    pdf = authorisation_pdf(replace(document, given_names="太郎", surname="山田"))
    text = " ".join(_text(pdf, tmp_path).split())
    assert "太郎 山田" in text
    assert DEFAULT_LABELS["name_not_printable"] not in text


def test_the_arabic_document_is_shaped_and_reads_right_to_left(
    document: AuthorisationDocument, tmp_path: Path
) -> None:
    pdf = authorisation_pdf(replace(document, given_names="محمد", surname="العلي"), "ar")
    text = _without_bidi_marks(_text(pdf, tmp_path))
    for key in ("document_title", "reference", "surname", "date_of_birth", "entries_multiple"):
        label = ARABIC_LABELS[key]
        # Joined letters (the contextual forms, U+FExx), in reading order; never the letters
        # standing apart as typed. Brackets are drawn mirrored, as a right-to-left reader sees
        # them: pdftotext puts the run back in logical order but leaves the mirrored brackets.
        assert arabic_reshaper.reshape(label).translate(MIRRORED) in text, key
        assert label not in text, key
    assert arabic_reshaper.reshape("محمد العلي") in text
    for latin in ("L898902C3", "WOLFESCHLEGELSTEINHAUSEN", "ETA-ABCD-EFGH-JKLM"):
        assert latin in text  # left-to-right values stay as they are
    # Mirrored: the labels end at the right margin, the QR code stands on the left.
    boxes = _words(pdf, tmp_path)
    page_width = boxes["page"]
    title_right = max(x_max for word, _x, x_max in boxes["words"] if word == "ETA-ABCD-EFGH-JKLM")
    assert title_right > page_width * 0.85
    qr = _render(pdf, tmp_path, dpi=50).convert("L")
    left_half = qr.crop((0, qr.height // 4, qr.width // 2, qr.height // 2))
    right_half = qr.crop((qr.width // 2, qr.height // 4, qr.width, qr.height // 2))
    assert _dark_share(left_half) > 2 * _dark_share(right_half)  # the QR's black modules


def test_the_chinese_document_prints_in_the_cjk_font(
    document: AuthorisationDocument, tmp_path: Path
) -> None:
    _require_cjk_font()
    pdf = authorisation_pdf(document, "zh")
    text = "".join(_text(pdf, tmp_path).split())
    for key in ("document_title", "reference", "valid_until", "entries_multiple", "notice"):
        assert "".join(CHINESE_LABELS[key].split()) in text, key
    assert "L898902C3" in text and "WOLFESCHLEGELSTEINHAUSEN" in text
    assert "Electronic Travel Authorisation" not in text
    # The font is embedded (a subset), so the page reads the same on any reader.
    assert b"/FontFile2" in pdf


def _words(pdf: bytes, tmp_path: Path) -> dict[str, Any]:
    """Words with their horizontal extent, from pdftotext's bounding-box output."""
    source = tmp_path / "boxes.pdf"
    source.write_bytes(pdf)
    html = subprocess.run(
        [_require_poppler("pdftotext"), "-bbox", str(source), "-"],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    page = re.search(r'<page width="([\d.]+)"', html)
    assert page is not None
    words = [
        (word, float(x_min), float(x_max))
        for x_min, x_max, word in re.findall(
            r'<word xMin="([\d.]+)" yMin="[\d.]+" xMax="([\d.]+)" yMax="[\d.]+">([^<]*)</word>',
            html,
        )
    ]
    return {"page": float(page.group(1)), "words": words}


def _dark_share(image: Image.Image) -> float:
    counts = image.histogram()  # of a greyscale image: one count per level, 0 (black) to 255
    return sum(counts[:128]) / sum(counts)


def test_the_title_prints_once_and_verify_asks_for_no_reference(
    document: AuthorisationDocument, tmp_path: Path
) -> None:
    """Issue 15: with the default service name the title printed twice, and the page told
    readers to enter the reference at /verify, which takes only a QR code or its token."""
    same_name = replace(document, service_name="Electronic Travel Authorisation")
    text = " ".join(_text(authorisation_pdf(same_name), tmp_path).split())
    assert text.count("Electronic Travel Authorisation") == 1
    assert "entering the reference" not in text
    assert "uploading a picture of it" in text
    # A service with a name of its own still shows it above the title.
    assert "Example Border Agency" in _text(authorisation_pdf(document), tmp_path)
