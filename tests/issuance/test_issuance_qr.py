"""Tests for the QR code: byte mode, ECC M, version ≤ 18, decodes back to the exact token."""

from __future__ import annotations

import io
import re
from collections.abc import Callable

import pytest
import zxingcpp
from PIL import Image, ImageDraw

from eta.issuance.keys import Keyring
from eta.issuance.qr import (
    MAX_VERSION,
    QRTooLargeError,
    dark_runs,
    encode,
    qr_png,
    qr_svg,
    read_qr,
)
from eta.issuance.tokens import AuthorisationClaims, issue

ISSUER = "https://eta.travel-authorisation.example.gov"
QR_ONLY = zxingcpp.barcode_formats_from_str("QRCode")


@pytest.fixture
def long_token(keyring: Keyring, make_claims: Callable[..., AuthorisationClaims]) -> str:
    # The longest realistic token: a 39-character MRZ name field and a long issuer URL.
    claims = make_claims(
        surname_mrz="WOLFESCHLEGELSTEINHAUSEN",
        given_names_mrz="HUBERT BLAINE",
        reference="ETA-ABCD-EFGH-JKLM",
    )
    return issue(claims, keyring.active(), ISSUER)


def _decode(image: Image.Image) -> zxingcpp.Barcode:
    found = zxingcpp.read_barcodes(image, formats=QR_ONLY)
    assert len(found) == 1
    return found[0]


def test_png_decodes_to_the_exact_token(long_token: str) -> None:
    png = qr_png(long_token, box_size=4)
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG"
    barcode = _decode(image)
    assert barcode.text == long_token
    assert barcode.bytes == long_token.encode("ascii")
    assert barcode.ec_level == "M"


def test_long_name_token_fits_version_18(long_token: str) -> None:
    symbol = encode(long_token)
    assert symbol.version <= MAX_VERSION
    assert symbol.size == 17 + 4 * symbol.version + 2 * 4  # modules plus the quiet zone


def test_quiet_zone_is_four_modules(long_token: str) -> None:
    box = 3
    image = Image.open(io.BytesIO(qr_png(long_token, box_size=box))).convert("L")
    symbol = encode(long_token)
    assert image.size == (symbol.size * box, symbol.size * box)
    border = 4 * box
    width = image.size[0]
    # The quiet zone is white all round, and the finder pattern starts right after it.
    assert image.crop((0, 0, width, border)).getextrema() == (255, 255)
    assert image.crop((0, 0, border, width)).getextrema() == (255, 255)
    assert image.getpixel((border, border)) == 0


def test_token_too_long_for_version_18_is_refused() -> None:
    with pytest.raises(QRTooLargeError, match="version"):
        encode("A" * 700)
    with pytest.raises(QRTooLargeError):
        encode("A" * 5000)  # beyond version 40


def _rasterise_svg(svg: str, scale: int) -> Image.Image:
    size = int(re.search(r'viewBox="0 0 (\d+) \d+"', svg).group(1))  # type: ignore[union-attr]
    image = Image.new("L", (size * scale, size * scale), 255)
    draw = ImageDraw.Draw(image)
    path = re.search(r'<path d="([^"]*)"', svg).group(1)  # type: ignore[union-attr]
    for x, y, length in re.findall(r"M(\d+) (\d+)h(\d+)v1h-\d+z", path):
        left, top = int(x) * scale, int(y) * scale
        draw.rectangle((left, top, left + int(length) * scale - 1, top + scale - 1), fill=0)
    return image


def test_svg_draws_the_same_symbol(long_token: str) -> None:
    svg = qr_svg(long_token)
    assert svg.startswith("<svg xmlns=") and svg.endswith("</svg>")
    assert _decode(_rasterise_svg(svg, 4)).text == long_token


def test_dark_runs_cover_exactly_the_dark_modules(long_token: str) -> None:
    symbol = encode(long_token)
    dark = {(y, x + i) for y, x, length in dark_runs(symbol) for i in range(length)}
    expected = {
        (y, x) for y, row in enumerate(symbol.modules) for x, module in enumerate(row) if module
    }
    assert dark == expected


def test_read_qr_returns_the_token_from_a_png(long_token: str) -> None:
    assert read_qr(qr_png(long_token, box_size=3)) == long_token


def test_read_qr_refuses_images_without_a_code() -> None:
    blank = io.BytesIO()
    Image.new("L", (200, 200), 255).save(blank, format="PNG")
    with pytest.raises(ValueError, match="found 0"):
        read_qr(blank.getvalue())
    with pytest.raises(ValueError, match="not a readable image"):
        read_qr(b"not an image")
