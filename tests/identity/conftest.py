"""Fixtures for the identity tests: real faces (tests/data/faces) and transformations of them.

Portraits are crops of the shipped pictures around the head, as a passport photo frames it;
the boxes are fixed here (not found by the detector under test).
"""

from __future__ import annotations

import base64
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageFilter

from tests.factories import valid_payload
from tests.officer.conftest import make_officer, password_hash, signed_in  # noqa: F401  (fixtures)
from tests.traveller.conftest import _compiled_catalogues  # noqa: F401  (French messages)

FACES = Path(__file__).resolve().parent.parent / "data" / "faces"
# Head-and-shoulders crops (left, top, right, bottom) of the shipped pictures.
PORTRAITS = {
    "obama-1": (150, 0, 550, 500),
    "obama-2": (40, 100, 380, 520),
    "collins": None,  # already a head crop (tests/data/faces/README.md)
}
BASELINE_LIST = "id,full_name,date_of_birth,nationality\nB-1,Quentin Zebulon Halvorsen,1931,ISL\n"


def portrait(name: str) -> Image.Image:
    """A passport-style crop of one of the test faces."""
    picture = Image.open(FACES / f"{name.split('+')[0]}.jpg").convert("RGB")
    box = PORTRAITS[name]
    return picture.crop(box) if box else picture


def blurred(picture: Image.Image, radius: float = 3) -> Image.Image:
    """The picture out of focus."""
    return picture.filter(ImageFilter.GaussianBlur(radius))


def cut_off_left() -> Image.Image:
    """obama-1 framed so that the left part of his face is outside the picture."""
    return Image.open(FACES / "obama-1.jpg").convert("RGB").crop((280, 0, 600, 500))


def encoded(picture: Image.Image, fmt: str = "JPEG", **options: Any) -> bytes:
    """The picture as a file's bytes."""
    out = io.BytesIO()
    picture.save(out, fmt, **options)
    return out.getvalue()


def b64(picture: Image.Image, fmt: str = "JPEG", **options: Any) -> str:
    """The picture as the API's `photo` field carries it."""
    return base64.b64encode(encoded(picture, fmt, **options)).decode()


@pytest.fixture
def payload() -> dict[str, Any]:
    """A fresh valid application payload per test."""
    return valid_payload()


@pytest.fixture
def no_rate_limits() -> Iterator[None]:
    """Many requests from one test client: switch the limiter off for the test."""
    from eta.extensions import limiter

    limiter.enabled = False
    yield
    limiter.enabled = True


@pytest.fixture
def baseline_watchlist(session, tmp_path: Path) -> None:
    """One unrelated listed person: with no list loaded, screening refers everyone."""
    from eta.screening import lists

    path = tmp_path / "baseline.csv"
    path.write_text(BASELINE_LIST, encoding="utf-8")
    lists.import_watchlist(session, source="BASELINE", fmt="csv", path=path, actor="test")
