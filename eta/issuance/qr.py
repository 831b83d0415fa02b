"""The authorisation's QR code: the compact JWS as is, byte mode, ECC level M, version ≤ 18."""

from __future__ import annotations

import io
from dataclasses import dataclass
from functools import lru_cache

import qrcode
import qrcode.exceptions
import qrcode.util
import zxingcpp
from PIL import Image

MAX_VERSION = 18  # SPEC §5: keeps the printed symbol small enough for every scanner
QUIET_ZONE = 4  # modules of white around the symbol, as ISO/IEC 18004 requires
MAX_TOKEN_BYTES = 560  # what a version-18 symbol holds in byte mode at ECC level M


class QRTooLargeError(ValueError):
    """The token does not fit in a version-18, ECC-M QR code."""


@dataclass(frozen=True)
class QRSymbol:
    """An encoded QR code: its version and module matrix (quiet zone included)."""

    version: int
    modules: tuple[tuple[bool, ...], ...]

    @property
    def size(self) -> int:
        """Width in modules, quiet zone included."""
        return len(self.modules)


# The qrcode library spends most of its time trying all eight masks (ISO/IEC 18004's penalty
# rules) and, before that, finding the version by re-encoding the data for each candidate: about
# 130 ms a symbol here. Both are skipped: the version is computed from the byte count, and one
# fixed mask is used. Every decoder reads any of the eight masks; the penalty rules only make
# a symbol a little easier for poor scanners, which a printed version-18 symbol at 52 mm and
# ECC level M does not need. Measured: 130 ms → 15 ms (bench/issuance.py).
FIXED_MASK = 0
_BYTE_MODE_HEADER_BITS = 4  # mode indicator


def _smallest_version(byte_count: int) -> int | None:
    """The smallest QR version holding ``byte_count`` bytes in byte mode at ECC level M."""
    limits = qrcode.util.BIT_LIMIT_TABLE[qrcode.ERROR_CORRECT_M]
    for version in range(1, 41):
        needed = (
            _BYTE_MODE_HEADER_BITS
            + qrcode.util.length_in_bits(qrcode.util.MODE_8BIT_BYTE, version)
            + 8 * byte_count
        )
        if needed <= limits[version]:
            return version
    return None


# One issuance renders the same token as PNG, SVG and PDF; a few recent symbols are worth keeping.
@lru_cache(maxsize=16)
def encode(token: str) -> QRSymbol:
    """Encode ``token`` (ASCII) in byte mode at ECC level M in the smallest version that fits.

    Raises :class:`QRTooLargeError` above version 18.
    """
    data = token.encode("ascii")
    version = _smallest_version(len(data))
    if version is None or version > MAX_VERSION:
        raise QRTooLargeError(
            f"a {len(data)}-byte token needs QR version {version or '> 40'} (at most {MAX_VERSION})"
        )
    code = qrcode.QRCode(
        version=version,
        error_correction=qrcode.ERROR_CORRECT_M,
        border=QUIET_ZONE,
        mask_pattern=FIXED_MASK,
    )
    # One explicit byte-mode segment: qrcode would otherwise split the JWS into mixed-mode
    # segments, and verifiers expect the token back byte for byte.
    code.add_data(qrcode.util.QRData(data, mode=qrcode.util.MODE_8BIT_BYTE), optimize=0)
    try:
        code.make(fit=False)
    except (qrcode.exceptions.DataOverflowError, ValueError) as error:
        raise QRTooLargeError(
            f"a {len(data)}-byte token does not fit in version {version}"
        ) from error
    return QRSymbol(version=version, modules=tuple(tuple(row) for row in code.get_matrix()))


def qr_png(token: str, box_size: int = 8) -> bytes:
    """The QR code as a black-and-white PNG, ``box_size`` pixels per module."""
    if box_size < 1:
        raise ValueError("box_size must be at least 1")
    symbol = encode(token)
    # One pixel per module, scaled without smoothing: far faster than drawing each module.
    image = Image.frombytes(
        "L",
        (symbol.size, symbol.size),
        bytes(0 if dark else 255 for row in symbol.modules for dark in row),
    )
    image = image.resize(
        (symbol.size * box_size, symbol.size * box_size), Image.Resampling.NEAREST
    ).convert("1")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def dark_runs(symbol: QRSymbol) -> list[tuple[int, int, int]]:
    """Horizontal runs of dark modules as (row, first column, length), for vector drawing."""
    runs: list[tuple[int, int, int]] = []
    for y, row in enumerate(symbol.modules):
        x = 0
        while x < len(row):
            if row[x]:
                start = x
                while x < len(row) and row[x]:
                    x += 1
                runs.append((y, start, x - start))
            else:
                x += 1
    return runs


def qr_svg(token: str) -> str:
    """The QR code as a standalone SVG that scales to any size (one unit per module)."""
    symbol = encode(token)
    path = "".join(f"M{x} {y}h{length}v1h-{length}z" for y, x, length in dark_runs(symbol))
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" version="1.1" '
        f'viewBox="0 0 {symbol.size} {symbol.size}" shape-rendering="crispEdges">'
        f'<rect width="{symbol.size}" height="{symbol.size}" fill="#fff"/>'
        f'<path d="{path}" fill="#000"/></svg>'
    )


def read_qr(image: bytes) -> str:
    """The text of the single QR code in an image file (PNG, JPEG...), e.g. a scanned token.

    Raises ``ValueError`` when the image holds no readable QR code or more than one.
    """
    try:
        picture = Image.open(io.BytesIO(image))
        picture.load()
    except (OSError, Image.DecompressionBombError) as error:
        raise ValueError("not a readable image") from error
    found = zxingcpp.read_barcodes(picture, formats=zxingcpp.barcode_formats_from_str("QRCode"))
    if len(found) != 1:
        raise ValueError(f"expected one QR code in the image, found {len(found)}")
    return found[0].text
