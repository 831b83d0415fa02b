"""Flask-WTF form classes for the public pages: the /verify form."""

from __future__ import annotations

import io
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from PIL import Image
from wtforms import Field, TextAreaField
from wtforms.validators import StopValidation

from eta.issuance.qr import read_qr

MAX_TOKEN_CHARS = 4000  # far above any token of ours; refuses pasted novels before parsing
MAX_IMAGE_PIXELS = 25_000_000  # a phone photo; bigger uploads are refused before decoding


class VerifyForm(FlaskForm):
    """Check an authorisation: a picture of its QR code, or its token pasted.

    After `validate_on_submit()`, `token` is the token to verify (from the picture first).
    """

    qr = FileField(_l("Upload a picture of the QR code"), id="qr")
    token = TextAreaField(_l("Or paste the authorisation code"), id="token")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.found: str | None = None

    def pasted(self) -> str:
        """The pasted code as typed (trimmed), for showing it again."""
        return (self.token.data or "").strip()

    def validate_qr(self, field: Field) -> None:
        """A picture must be an image of reasonable size holding exactly one QR code."""
        upload = field.data
        if upload is None or not getattr(upload, "filename", None):
            return
        data = upload.read()
        try:
            with Image.open(io.BytesIO(data)) as picture:
                too_big = picture.width * picture.height > MAX_IMAGE_PIXELS
        except (OSError, Image.DecompressionBombError, ValueError):
            raise StopValidation(_l("The selected file must be a picture (PNG or JPEG)")) from None
        if too_big:
            raise StopValidation(
                _l("The selected picture is too large: take it at a lower resolution")
            )
        try:
            self.found = read_qr(data)
        except ValueError:
            raise StopValidation(
                _l("We could not find one QR code in the picture: try a clearer one")
            ) from None

    def validate_token(self, field: Field) -> None:
        """Without a picture, a code must be pasted, and be no longer than any token."""
        if self.found is not None or self.qr.errors:
            return
        pasted = self.pasted()
        if not pasted:
            raise StopValidation(_l("Enter the authorisation code, or upload a picture of its QR"))
        if len(pasted) > MAX_TOKEN_CHARS:
            raise StopValidation(
                _l("The authorisation code must be %(n)s characters or fewer", n=MAX_TOKEN_CHARS)
            )
        self.found = "".join(pasted.split())  # line breaks from copying a wrapped code

    def errors_by_field(self) -> dict[str, str]:
        """The first message of each field with a problem (the page shows one per field)."""
        return {name: str(self[name].errors[0]) for name in ("qr", "token") if self[name].errors}
