"""Fixtures for the chip tests: chips of the shipped test faces (tests/data/faces), and the
identity tests' fixtures (payload, rate limits off, a baseline watchlist, French messages)."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

from PIL import Image

from tests.chip import builder
from tests.identity.conftest import (  # noqa: F401  (fixtures)
    _compiled_catalogues,
    baseline_watchlist,
    encoded,
    no_rate_limits,
    payload,
    portrait,
)
from tests.officer.conftest import make_officer, password_hash, signed_in  # noqa: F401


def chip_image(name: str) -> bytes:
    """A face as a chip holds it: a small JPEG (ICAO 9303 Part 9: about 420×525)."""
    picture = portrait(name)
    picture.thumbnail((420, 525), Image.Resampling.LANCZOS)
    return encoded(picture, "JPEG", quality=75)


def chip_json(chip: builder.Chip) -> dict[str, str]:
    """The API's `chip` object of a chip."""
    return {
        name: base64.b64encode(value).decode()
        for name, value in (("sod", chip.sod), ("dg1", chip.dg1), ("dg2", chip.dg2))
    }


def import_csca(runner: Any, tmp_path: Path, *authorities: builder.Authority) -> str:
    """Import the authorities' certificates with `eta chip import-csca` (a PEM bundle)."""
    path = tmp_path / "csca.pem"
    path.write_bytes(b"".join(a.pem for a in authorities))
    result = runner.invoke(args=["chip", "import-csca", str(path)])
    assert result.exit_code == 0, result.output
    return result.output
