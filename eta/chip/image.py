"""The chip's facial image (DG2) as a picture: opened within limits, or re-encoded as JPEG."""

from __future__ import annotations

import io
import warnings

from PIL import Image, UnidentifiedImageError

from eta.chip import lds

# A chip's image is about 420×525: anything far larger is not a passport's DG2.
MAX_CHIP_IMAGE_PIXELS = 4_000_000
JPEG_QUALITY = 90


def open_face(image: lds.FacialImage) -> Image.Image:
    """DG2's image (JPEG, or JPEG2000 through Pillow's OpenJPEG) as RGB; ChipDataError if not."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            opened = Image.open(io.BytesIO(image.data))
            if opened.width * opened.height > MAX_CHIP_IMAGE_PIXELS:
                raise lds.ChipDataError("DG2's image is far larger than a passport's")
            opened.load()
    except lds.ChipDataError:
        raise
    except (
        UnidentifiedImageError,
        OSError,
        ValueError,
        SyntaxError,
        Image.DecompressionBombWarning,
        Image.DecompressionBombError,
    ):
        raise lds.ChipDataError("DG2's image does not decode") from None
    return opened.convert("RGB")


def face_jpeg(dg2: bytes) -> bytes:
    """DG2's face re-encoded as a JPEG, for a browser to show (browsers show no JPEG2000)."""
    out = io.BytesIO()
    open_face(lds.read_face(dg2)).save(out, "JPEG", quality=JPEG_QUALITY)
    return out.getvalue()
