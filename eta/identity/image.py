"""A photo as sent (base64 JPEG or PNG) made safe: limits, decoding, and a clean re-encoding.

The bytes a client sends are never stored or shown: the picture is decoded with Pillow within
size and pixel limits, turned upright by its EXIF orientation, scaled down to the stored size
and re-encoded as a fresh JPEG, which carries no EXIF (no location, no camera serial) and none
of the sender's other metadata.
"""

from __future__ import annotations

import base64
import binascii
import io
import warnings
from dataclasses import dataclass

from flask_babel import lazy_gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

ACCEPTED_FORMATS = ("JPEG", "PNG")
STORED_MEDIA_TYPE = "image/jpeg"
STORED_QUALITY = 90


@dataclass(frozen=True, slots=True)
class ImageLimits:
    """Size limits of a photo (config/settings.py, ETA_PHOTO_*)."""

    max_bytes: int = 5 * 1024 * 1024
    max_pixels: int = 24_000_000
    min_side: int = 300
    stored_side: int = 1024


class PhotoUnreadable(ValueError):
    """The photo cannot be used at all; `instruction` says what to send instead."""

    def __init__(self, code: str, instruction: object) -> None:
        super().__init__(code)
        self.code = code
        self.instruction = instruction


@dataclass(frozen=True, slots=True)
class CleanPhoto:
    """The photo as eta keeps it: a re-encoded JPEG and the picture it decodes to."""

    jpeg: bytes
    image: Image.Image

    @property
    def size(self) -> tuple[int, int]:
        """Width and height in pixels."""
        return self.image.size


def decode_base64(text: object, limits: ImageLimits) -> bytes:
    """The bytes of a base64 photo, refusing anything over `max_bytes` before decoding it."""
    if not isinstance(text, str) or not text.strip():
        raise PhotoUnreadable(
            "not_base64", _("Send the photo as a JPEG or PNG file encoded in base64")
        )
    compact = "".join(text.split())
    if compact.startswith("data:") and "," in compact:  # a data: URL, as browsers make them
        compact = compact.split(",", 1)[1]
    if len(compact) > (limits.max_bytes + 2) // 3 * 4:
        raise PhotoUnreadable("too_large", _too_large(limits))
    try:
        raw = base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError):
        raise PhotoUnreadable(
            "not_base64", _("Send the photo as a JPEG or PNG file encoded in base64")
        ) from None
    if len(raw) > limits.max_bytes:
        raise PhotoUnreadable("too_large", _too_large(limits))
    return raw


def megabytes(limits: ImageLimits) -> str:
    """The largest photo accepted, in MB as people read it (one decimal at most)."""
    return f"{max(0.1, round(limits.max_bytes / (1024 * 1024), 1)):g}"


def too_large_instruction(limits: ImageLimits) -> object:
    """What a traveller whose photo is over the size limit reads."""
    return _(
        "The photo is too large: send one of at most %(megabytes)s MB", megabytes=megabytes(limits)
    )


_too_large = too_large_instruction


def clean(raw: bytes, limits: ImageLimits) -> CleanPhoto:
    """Decode a JPEG or PNG within the limits and re-encode it; PhotoUnreadable otherwise."""
    not_an_image = PhotoUnreadable("not_an_image", _("Send a photo in JPEG or PNG format"))
    try:
        with warnings.catch_warnings():
            # Pillow warns, then raises, on decompression bombs: the pixel limit below is ours.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            opened = Image.open(io.BytesIO(raw))
            if opened.format not in ACCEPTED_FORMATS:
                raise not_an_image
            width, height = opened.size
            if width * height > limits.max_pixels:
                raise PhotoUnreadable(
                    "too_many_pixels",
                    _(
                        "The photo has too many pixels: send one of at most %(megapixels)s "
                        "megapixels",
                        megapixels=round(limits.max_pixels / 1_000_000),
                    ),
                )
            opened.load()
            upright = ImageOps.exif_transpose(opened)
    except PhotoUnreadable:
        raise
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError, SyntaxError):
        # A truncated or malformed file: Pillow raises OSError, SyntaxError or ValueError.
        raise not_an_image from None
    if min(upright.size) < limits.min_side:
        raise PhotoUnreadable(
            "too_small",
            _(
                "The photo is too small: send one at least %(pixels)s pixels wide and high",
                pixels=limits.min_side,
            ),
        )
    picture = upright.convert("RGB")
    if max(picture.size) > limits.stored_side:
        picture.thumbnail((limits.stored_side, limits.stored_side), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    picture.save(out, "JPEG", quality=STORED_QUALITY, optimize=True)
    return CleanPhoto(out.getvalue(), picture)


def open_stored(jpeg: bytes) -> Image.Image:
    """The picture of a stored (already cleaned) photo."""
    picture = Image.open(io.BytesIO(jpeg))
    picture.load()
    return picture.convert("RGB")
