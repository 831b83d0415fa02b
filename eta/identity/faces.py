"""Face detection, 5-point landmarks and face templates, through dlib's own API.

The models are the CC0 files of the `face-recognition-models` wheel: dlib's HOG frontal face
detector, the 5-point landmark model (not the 68-point one, whose training data excludes
commercial use) and the ResNet recognition network, which maps a face to a 128-d template
where two photos of one person lie within about 0.6 of each other (Euclidean distance).

Detection is the slow part and grows with the picture (160 ms at 512², 2.2 s at 1434×2333):
it runs on a copy scaled down to `detect_side`, and the box and landmarks are scaled back.
"""

from __future__ import annotations

import functools
import importlib.util
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

# Bump when the models or the way a template is computed change: templates of another
# version are not compared with this one's.
TEMPLATE_VERSION = "dlib-resnet-v1/5pt"
TEMPLATE_DIMENSIONS = 128
LANDMARK_MODEL = "shape_predictor_5_face_landmarks.dat"
RECOGNITION_MODEL = "dlib_face_recognition_resnet_model_v1.dat"
# One pass of upsampling: faces down to about 40 px wide are found on the scaled copy.
UPSAMPLE = 1


class FaceModelError(RuntimeError):
    """The face models could not be loaded or run: the caller fails closed."""


@dataclass(frozen=True, slots=True)
class Face:
    """One detected face in the coordinates of the full picture.

    `box` is (left, top, right, bottom), possibly outside the picture when the face is cut off;
    `landmarks` are dlib's five points: two corners of one eye, two of the other, the nose.
    """

    box: tuple[float, float, float, float]
    landmarks: tuple[tuple[float, float], ...]
    score: float

    @property
    def eyes(self) -> tuple[tuple[float, float], tuple[float, float]]:
        """The two eye centres, the one further left in the picture first."""
        p = self.landmarks
        a = ((p[0][0] + p[1][0]) / 2, (p[0][1] + p[1][1]) / 2)
        b = ((p[2][0] + p[3][0]) / 2, (p[2][1] + p[3][1]) / 2)
        return (a, b) if a[0] <= b[0] else (b, a)

    @property
    def nose(self) -> tuple[float, float]:
        """The base of the nose."""
        return self.landmarks[4]

    def as_json(self) -> dict[str, Any]:
        """The face as stored beside the photo (no biometric template, only geometry)."""
        return {
            "box": [round(v, 1) for v in self.box],
            "landmarks": [[round(x, 1), round(y, 1)] for x, y in self.landmarks],
            "score": round(self.score, 3),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Face:
        """The face `as_json()` stored."""
        box = tuple(float(v) for v in data["box"])
        landmarks = tuple((float(x), float(y)) for x, y in data["landmarks"])
        return cls(box, landmarks, float(data.get("score", 0.0)))  # type: ignore[arg-type]


def _models_dir() -> Path:
    # find_spec locates the wheel without importing it: its __init__ imports pkg_resources,
    # which is deprecated (a warning, an error under the tests' filterwarnings).
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise FaceModelError("the face-recognition-models package is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "models"


class _Models:
    """dlib's detector, landmark model and recognition network, loaded once per process."""

    def __init__(self) -> None:
        try:
            import dlib

            folder = _models_dir()
            self.detector = dlib.get_frontal_face_detector()
            self.landmarks = dlib.shape_predictor(str(folder / LANDMARK_MODEL))
            self.recogniser = dlib.face_recognition_model_v1(str(folder / RECOGNITION_MODEL))
            self.dlib = dlib
        except FaceModelError:
            raise
        except Exception as error:  # dlib raises RuntimeError, ImportError...: all fail closed
            raise FaceModelError(f"the face models could not be loaded ({error})") from error
        # dlib's objects are not documented as safe to share between threads (gunicorn may
        # run threads): one caller at a time per process.
        self.lock = threading.Lock()


@functools.cache
def models() -> _Models:
    """The loaded models (about 0.3 s the first time, then cached for the process)."""
    return _Models()


def _pixels(image: Image.Image) -> np.ndarray:
    return np.asarray(image.convert("RGB"), dtype=np.uint8)


def detect(image: Image.Image, detect_side: int) -> list[Face]:
    """Every face in `image`, found on a copy whose longest side is at most `detect_side`."""
    m = models()
    scale = min(1.0, detect_side / max(image.size))
    small = image
    if scale < 1.0:
        size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
        small = image.resize(size, Image.Resampling.BILINEAR)
    pixels = _pixels(small)
    try:
        with m.lock:
            rects, scores, _ = m.detector.run(pixels, UPSAMPLE, 0.0)
            shapes = [m.landmarks(pixels, rect) for rect in rects]
    except Exception as error:
        raise FaceModelError(f"face detection failed ({type(error).__name__})") from error
    back = 1.0 / scale
    faces = []
    for rect, score, shape in zip(rects, scores, shapes, strict=True):
        box = (rect.left() * back, rect.top() * back, rect.right() * back, rect.bottom() * back)
        points = tuple((p.x * back, p.y * back) for p in shape.parts())
        faces.append(Face(box, points, float(score)))
    return faces


def template(image: Image.Image, face: Face) -> np.ndarray:
    """The 128-d template of `face` in `image` (float32), from its box and five landmarks."""
    m = models()
    dlib = m.dlib
    left, top, right, bottom = (round(v) for v in face.box)
    rect = dlib.rectangle(left, top, right, bottom)
    points = [dlib.point(round(x), round(y)) for x, y in face.landmarks]
    try:
        shape = dlib.full_object_detection(rect, points)
        with m.lock:
            values = m.recogniser.compute_face_descriptor(_pixels(image), shape)
    except Exception as error:
        raise FaceModelError(f"the face template failed ({type(error).__name__})") from error
    vector = np.asarray(values, dtype=np.float32)
    if vector.shape != (TEMPLATE_DIMENSIONS,) or not np.all(np.isfinite(vector)):
        raise FaceModelError("the face template is not a finite 128-d vector")
    return vector
