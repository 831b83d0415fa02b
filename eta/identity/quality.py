"""The photo quality gate: measures in the spirit of ISO/IEC 29794-5, each with an instruction.

Every measure that fails gives the traveller one plain instruction and a retake, never a
rejection. Measures are taken on the face's box (scaled to a fixed size, so they do not depend
on the picture's resolution): exactly one face; its size (inter-eye distance in pixels and the
face's share of the picture's width); centred and not cut off; roughly frontal (from the five
landmarks: the nose between the eyes, the eyes level); exposure and contrast; sharpness (the
variance of the Laplacian); a strong shadow (the left and right halves' brightness apart).

Exposure is judged by the share of burnt-out and black pixels and a wide band of mean
brightness, not by a narrow target: a narrow one would fail dark skin in good light.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from flask_babel import lazy_gettext as _
from PIL import Image

from eta.identity.faces import Face

# The face box is measured at this size (pixels square): sharpness and the brightness figures
# then mean the same at any resolution.
MEASURE_SIDE = 128


@dataclass(frozen=True, slots=True)
class GateLimits:
    """The gate's thresholds (config/settings.py, ETA_PHOTO_*)."""

    min_eye_distance: float = 50.0
    min_face_width: float = 0.2
    max_face_width: float = 0.8
    max_off_centre: float = 0.2
    margin: float = 0.15
    max_yaw: float = 0.25
    max_roll_degrees: float = 12.0
    min_brightness: float = 45.0
    max_brightness: float = 215.0
    max_clipped: float = 0.15
    min_contrast: float = 18.0
    min_sharpness: float = 40.0
    max_shadow: float = 0.3

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> GateLimits:
        """The limits set in the app's configuration."""
        return cls(
            min_eye_distance=float(config["ETA_PHOTO_MIN_EYE_DISTANCE"]),
            min_face_width=float(config["ETA_PHOTO_MIN_FACE_WIDTH"]),
            max_face_width=float(config["ETA_PHOTO_MAX_FACE_WIDTH"]),
            max_off_centre=float(config["ETA_PHOTO_MAX_OFF_CENTRE"]),
            margin=float(config["ETA_PHOTO_MARGIN"]),
            max_yaw=float(config["ETA_PHOTO_MAX_YAW"]),
            max_roll_degrees=float(config["ETA_PHOTO_MAX_ROLL_DEGREES"]),
            min_brightness=float(config["ETA_PHOTO_MIN_BRIGHTNESS"]),
            max_brightness=float(config["ETA_PHOTO_MAX_BRIGHTNESS"]),
            max_clipped=float(config["ETA_PHOTO_MAX_CLIPPED"]),
            min_contrast=float(config["ETA_PHOTO_MIN_CONTRAST"]),
            min_sharpness=float(config["ETA_PHOTO_MIN_SHARPNESS"]),
            max_shadow=float(config["ETA_PHOTO_MAX_SHADOW"]),
        )


@dataclass(frozen=True, slots=True)
class Measures:
    """What the gate measured on one face (stored with the photo, shown to officers)."""

    eye_distance: float
    face_width: float
    off_centre: float
    yaw: float
    roll_degrees: float
    brightness: float
    clipped: float
    contrast: float
    sharpness: float
    shadow: float

    def as_json(self) -> dict[str, float]:
        """The measures rounded for storage."""
        return {name: round(float(getattr(self, name)), 3) for name in self.__slots__}


@dataclass(frozen=True, slots=True)
class Failure:
    """One failed measure: its code and the instruction the traveller reads."""

    code: str
    instruction: Any  # a lazy string, translated when shown


NO_FACE = "no_face"
SEVERAL_FACES = "several_faces"


def face_count_failure(count: int) -> Failure | None:
    """Exactly one face, or the instruction to get there."""
    if count == 0:
        return Failure(
            NO_FACE,
            _(
                "We could not find a face: take the photo facing the camera, with your whole "
                "face in the picture and nothing covering it"
            ),
        )
    if count > 1:
        return Failure(
            SEVERAL_FACES,
            _("Only you should be in the photo: take it again with no one else in the picture"),
        )
    return None


def _face_pixels(gray: np.ndarray, face: Face) -> np.ndarray:
    """The face box's grey levels, clipped to the picture and scaled to MEASURE_SIDE square."""
    height, width = gray.shape
    left, top, right, bottom = face.box
    box = (
        max(0, math.floor(left)),
        max(0, math.floor(top)),
        min(width, math.ceil(right)),
        min(height, math.ceil(bottom)),
    )
    region = (
        Image.fromarray(gray)
        .crop(box)
        .resize((MEASURE_SIDE, MEASURE_SIDE), Image.Resampling.BILINEAR)
    )
    return np.asarray(region, dtype=np.float32)


def _laplacian_variance(pixels: np.ndarray) -> float:
    """Variance of the 4-neighbour Laplacian: low on a blurred face, high on a sharp one."""
    centre = pixels[1:-1, 1:-1]
    laplacian = (
        pixels[:-2, 1:-1] + pixels[2:, 1:-1] + pixels[1:-1, :-2] + pixels[1:-1, 2:] - 4 * centre
    )
    return float(laplacian.var())


def measure(image: Image.Image, face: Face) -> Measures:
    """Every measure of the gate for one face of `image`."""
    gray = np.asarray(image.convert("L"), dtype=np.uint8)
    pixels = _face_pixels(gray, face)
    (ax, ay), (bx, by) = face.eyes
    eye_distance = math.hypot(bx - ax, by - ay)
    left, _top, right, _bottom = face.box
    face_width = (right - left) / image.width
    off_centre = abs((left + right) / 2 - image.width / 2) / image.width
    # Yaw: how far the nose sits from the point between the eyes along the eye line, in
    # inter-eye distances (0 facing the camera; about 0.5 at a three-quarter view), so a tilted
    # head is not also taken for a turned one. Roll: the eye line's slope.
    span = max(eye_distance, 1.0)
    along = (face.nose[0] - (ax + bx) / 2) * (bx - ax) + (face.nose[1] - (ay + by) / 2) * (by - ay)
    yaw = abs(along) / (span * span)
    roll = abs(math.degrees(math.atan2(by - ay, bx - ax)))
    brightness = float(pixels.mean())
    clipped = float(((pixels <= 8) | (pixels >= 247)).mean())
    contrast = float(pixels.std())
    half = MEASURE_SIDE // 2
    # The central band of each half (forehead to chin, not the background at the corners).
    band = pixels[MEASURE_SIDE // 8 : MEASURE_SIDE * 7 // 8]
    left_mean, right_mean = float(band[:, :half].mean()), float(band[:, half:].mean())
    shadow = abs(left_mean - right_mean) / max(left_mean, right_mean, 1.0)
    return Measures(
        eye_distance=eye_distance,
        face_width=face_width,
        off_centre=off_centre,
        yaw=yaw,
        roll_degrees=roll,
        brightness=brightness,
        clipped=clipped,
        contrast=contrast,
        sharpness=_laplacian_variance(pixels),
        shadow=shadow,
    )


def cut_off(image: Image.Image, face: Face, margin: float) -> bool:
    """True when the face box, grown by `margin` of its width on every side, leaves the picture."""
    left, top, right, bottom = face.box
    grow = margin * (right - left)
    return (
        left - grow < 0
        or top - grow < 0
        or right + grow > image.width
        or bottom + grow > image.height
    )


def failures(image: Image.Image, face: Face, m: Measures, limits: GateLimits) -> list[Failure]:
    """The instructions for every measure of `m` outside `limits`, most basic first."""
    out: list[Failure] = []
    if m.eye_distance < limits.min_eye_distance or m.face_width < limits.min_face_width:
        out.append(Failure("face_too_small", _("Move closer: your face is too small")))
    elif m.face_width > limits.max_face_width:
        out.append(
            Failure("face_too_large", _("Move further away: your face fills the whole photo"))
        )
    if cut_off(image, face, limits.margin):
        out.append(
            Failure(
                "face_cut_off",
                _(
                    "Your face is cut off at the edge: make sure your whole head is in the "
                    "photo, with some space around it"
                ),
            )
        )
    elif m.off_centre > limits.max_off_centre:
        out.append(Failure("face_off_centre", _("Centre your face: it is too far to one side")))
    if m.yaw > limits.max_yaw:
        out.append(Failure("face_turned", _("Look straight at the camera: your head is turned")))
    if m.roll_degrees > limits.max_roll_degrees:
        out.append(Failure("head_tilted", _("Keep your head straight: it is tilted")))
    if m.brightness < limits.min_brightness:
        out.append(Failure("too_dark", _("The photo is too dark: face a window or a light")))
    elif m.brightness > limits.max_brightness or m.clipped > limits.max_clipped:
        out.append(
            Failure(
                "too_bright",
                _("The photo is too bright: move away from direct light or turn off the flash"),
            )
        )
    if m.contrast < limits.min_contrast:
        out.append(
            Failure(
                "low_contrast",
                _("The photo is washed out: take it in even light against a plain background"),
            )
        )
    if m.sharpness < limits.min_sharpness:
        out.append(
            Failure(
                "blurred",
                _("The photo is blurred: hold the camera still and make sure it is in focus"),
            )
        )
    if m.shadow > limits.max_shadow:
        out.append(
            Failure(
                "shadow",
                _(
                    "There is a strong shadow on one side of your face: face the light so "
                    "both sides are evenly lit"
                ),
            )
        )
    return out
