"""The identity settings as one value, read from the app's configuration (ETA_PHOTO_*)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from eta.identity.image import ImageLimits
from eta.identity.quality import GateLimits
from eta.identity.sealing import parse_key


@dataclass(frozen=True, slots=True)
class IndexSettings:
    """How the 1:N index (eta.identity.index) searches (ETA_FACE_INDEX_*)."""

    ann_from: int = 50_000
    nprobe: int = 64
    rebuild_seconds: float = 24 * 3600.0

    @classmethod
    def from_config(cls, config: Any) -> IndexSettings:
        """The settings of the app's configuration."""
        return cls(
            ann_from=int(config["ETA_FACE_INDEX_ANN_FROM"]),
            nprobe=int(config["ETA_FACE_INDEX_NPROBE"]),
            rebuild_seconds=float(config["ETA_FACE_INDEX_REBUILD_HOURS"]) * 3600.0,
        )


@dataclass(frozen=True, slots=True)
class PhotoSettings:
    """Everything the photo intake and the face check need from configuration."""

    key: bytes | None
    required: bool = False
    image: ImageLimits = field(default_factory=ImageLimits)
    gate: GateLimits = field(default_factory=GateLimits)
    detect_side: int = 640
    match_threshold: float = 0.55
    index: IndexSettings = field(default_factory=IndexSettings)

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> PhotoSettings:
        """The settings of the app's configuration (config/settings.py)."""
        text = config.get("ETA_PHOTO_KEY")
        return cls(
            key=parse_key(text) if text else None,
            required=bool(config["ETA_PHOTO_REQUIRED"]),
            image=ImageLimits(
                max_bytes=int(config["ETA_PHOTO_MAX_BYTES"]),
                max_pixels=int(config["ETA_PHOTO_MAX_PIXELS"]),
                min_side=int(config["ETA_PHOTO_MIN_SIDE"]),
                stored_side=int(config["ETA_PHOTO_STORED_SIDE"]),
            ),
            gate=GateLimits.from_config(config),
            detect_side=int(config["ETA_PHOTO_DETECT_SIDE"]),
            match_threshold=float(config["ETA_FACE_MATCH_THRESHOLD"]),
            index=IndexSettings.from_config(config),
        )
