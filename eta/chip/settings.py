"""The chip settings as one value, read from the app's configuration (ETA_CHIP_*)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class ChipSettings:
    """A chip file's size limit and the 1:1 face match threshold."""

    max_bytes: int = 256 * 1024
    face_threshold: float = 0.6

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> ChipSettings:
        """The settings of the app's configuration (config/settings.py)."""
        return cls(
            max_bytes=int(config["ETA_CHIP_MAX_BYTES"]),
            face_threshold=float(config["ETA_CHIP_FACE_THRESHOLD"]),
        )
