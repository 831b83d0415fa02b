"""The fast QR encoding (computed version, fixed mask) agrees with qrcode and still decodes."""

from __future__ import annotations

import secrets

import qrcode
import qrcode.util
import zxingcpp
from PIL import Image

from eta.issuance.qr import MAX_TOKEN_BYTES, MAX_VERSION, _smallest_version, encode


def _qrcode_fit(byte_count: int) -> int:
    code = qrcode.QRCode(version=None, error_correction=qrcode.ERROR_CORRECT_M)
    code.add_data(qrcode.util.QRData(b"a" * byte_count, mode=qrcode.util.MODE_8BIT_BYTE), 0)
    return int(code.best_fit())


def test_computed_version_is_the_one_qrcode_would_choose() -> None:
    # Every boundary up to version 18 lies in this range; qrcode's own search is the reference.
    for byte_count in (1, 14, 15, 16, 100, 211, 212, 213, 400, 500, 530, 531, 532, 560, 561, 600):
        assert _smallest_version(byte_count) == _qrcode_fit(byte_count), byte_count
    assert _smallest_version(10_000) is None
    assert _smallest_version(MAX_TOKEN_BYTES) == MAX_VERSION
    assert _smallest_version(MAX_TOKEN_BYTES + 1) == MAX_VERSION + 1


def test_random_tokens_decode_exactly_with_the_fixed_mask() -> None:
    for length in (300, 450, 520, 560):
        token = "eyJ" + secrets.token_urlsafe(600)[: length - 3]
        symbol = encode(token)
        assert symbol.version <= MAX_VERSION
        image = Image.frombytes(
            "L",
            (symbol.size, symbol.size),
            bytes(0 if dark else 255 for row in symbol.modules for dark in row),
        ).resize((symbol.size * 4, symbol.size * 4), Image.Resampling.NEAREST)
        found = zxingcpp.read_barcodes(image, formats=zxingcpp.barcode_formats_from_str("QRCode"))
        assert [barcode.text for barcode in found] == [token]
