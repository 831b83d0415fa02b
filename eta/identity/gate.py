"""The photo intake: a base64 photo in, an accepted photo (or the instructions to retake) out."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from eta.identity import faces, image, quality
from eta.identity.settings import PhotoSettings


@dataclass(frozen=True, slots=True)
class AcceptedPhoto:
    """A photo that passed the gate: the clean copy, its one face and what was measured."""

    photo: image.CleanPhoto
    face: faces.Face
    measures: quality.Measures


class PhotoRejected(ValueError):
    """The photo cannot be used; `instructions` tell the traveller how to take a better one."""

    def __init__(self, codes: list[str], instructions: list[Any]) -> None:
        super().__init__(", ".join(codes))
        self.codes = codes
        self.instructions = instructions


def check_photo(sent: object, settings: PhotoSettings) -> AcceptedPhoto:
    """Decode, clean and measure a sent photo; PhotoRejected with every instruction otherwise.

    FaceModelError (the models failed) propagates: that is not the traveller's fault.
    """
    try:
        clean = image.clean(image.decode_base64(sent, settings.image), settings.image)
    except image.PhotoUnreadable as unreadable:
        raise PhotoRejected([unreadable.code], [unreadable.instruction]) from None
    found = faces.detect(clean.image, settings.detect_side)
    count = quality.face_count_failure(len(found))
    if count is not None:
        raise PhotoRejected([count.code], [count.instruction])
    face = found[0]
    measures = quality.measure(clean.image, face)
    failed = quality.failures(clean.image, face, measures, settings.gate)
    if failed:
        raise PhotoRejected([f.code for f in failed], [f.instruction for f in failed])
    return AcceptedPhoto(clean, face, measures)


def template_of(accepted: AcceptedPhoto) -> np.ndarray:
    """The face template of an accepted photo (FaceModelError when the network fails)."""
    return faces.template(accepted.photo.image, accepted.face)
