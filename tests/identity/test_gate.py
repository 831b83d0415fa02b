"""The photo quality gate on real faces: a good portrait passes, each fault gets its instruction."""

from __future__ import annotations

import base64

import numpy as np
import pytest
from PIL import Image, ImageOps

from eta.identity import image
from eta.identity.gate import PhotoRejected, check_photo
from eta.identity.settings import PhotoSettings
from tests.identity.conftest import b64, blurred, cut_off_left, encoded, portrait

SETTINGS = PhotoSettings(key=None)


def _codes(picture: Image.Image, **options) -> list[str]:
    try:
        check_photo(b64(picture, **options), SETTINGS)
    except PhotoRejected as rejected:
        return rejected.codes
    return []


@pytest.mark.parametrize("name", ["obama-1", "obama-2", "collins"])
def test_good_portraits_pass(name):
    accepted = check_photo(b64(portrait(name)), SETTINGS)
    assert accepted.measures.sharpness > SETTINGS.gate.min_sharpness
    assert accepted.photo.jpeg[:2] == b"\xff\xd8"


def test_a_blurred_photo_is_refused_as_blurred():
    assert _codes(blurred(portrait("obama-1"))) == ["blurred"]


def test_a_face_cut_off_at_the_edge_is_refused_as_cut_off():
    assert "face_cut_off" in _codes(cut_off_left())


def test_two_people_are_refused():
    left, right = portrait("obama-1"), portrait("collins").resize((400, 400))
    both = Image.new("RGB", (800, 500), "white")
    both.paste(left, (0, 0))
    both.paste(right, (400, 50))
    assert _codes(both) == ["several_faces"]


def test_no_face_is_refused():
    assert _codes(Image.new("RGB", (400, 500), (120, 140, 160))) == ["no_face"]


def test_a_small_face_in_a_large_picture_is_too_small():
    framed = Image.new("RGB", (1600, 2000), (200, 200, 200))
    framed.paste(portrait("obama-1").resize((200, 250)), (700, 800))
    assert "face_too_small" in _codes(framed)


def test_a_tilted_head_is_refused():
    assert "head_tilted" in _codes(portrait("obama-1").rotate(22, fillcolor=(200, 200, 200)))


def test_a_dark_photo_and_a_shadowed_face_are_refused():
    dark = Image.fromarray((np.asarray(portrait("obama-1")) * 0.25).astype(np.uint8))
    assert "too_dark" in _codes(dark)
    pixels = np.asarray(portrait("collins")).astype(np.float32)
    pixels[:, : pixels.shape[1] // 2 + 30] *= 0.35  # her right half in deep shadow
    assert "shadow" in _codes(Image.fromarray(pixels.astype(np.uint8)))


def test_a_png_passes_and_is_stored_as_a_jpeg():
    accepted = check_photo(b64(portrait("collins"), "PNG"), SETTINGS)
    assert accepted.photo.jpeg[:2] == b"\xff\xd8"


def test_exif_is_stripped_and_the_orientation_applied():
    upright = portrait("obama-1")
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: the camera was turned, display rotated 90° clockwise
    exif[0x010F] = "Traveller's phone maker"
    sideways = upright.transpose(Image.Transpose.ROTATE_90)
    accepted = check_photo(b64(sideways, exif=exif.tobytes()), SETTINGS)
    assert accepted.photo.size == upright.size  # turned upright by its orientation
    stored = Image.open(__import__("io").BytesIO(accepted.photo.jpeg))
    assert not stored.getexif()
    assert b"phone maker" not in accepted.photo.jpeg
    assert ImageOps.exif_transpose(stored).size == upright.size


@pytest.mark.parametrize(
    ("sent", "code"),
    [
        ("not base64 at all!", "not_base64"),
        (base64.b64encode(b"GIF89a" + b"\0" * 200).decode(), "not_an_image"),
        (base64.b64encode(b"\xff\xd8\xff\xe0" + b"\0" * 50).decode(), "not_an_image"),
        (12345, "not_base64"),
    ],
)
def test_what_is_not_a_jpeg_or_png_is_refused(sent, code):
    with pytest.raises(PhotoRejected) as rejected:
        check_photo(sent, SETTINGS)
    assert rejected.value.codes == [code]


def test_a_gif_is_refused():
    raw = encoded(portrait("collins"), "GIF")
    with pytest.raises(PhotoRejected) as rejected:
        check_photo(base64.b64encode(raw).decode(), SETTINGS)
    assert rejected.value.codes == ["not_an_image"]


def test_size_and_pixel_limits():
    small = PhotoSettings(key=None, image=image.ImageLimits(max_bytes=10_000))
    with pytest.raises(PhotoRejected) as rejected:
        check_photo(b64(portrait("collins")), small)
    assert rejected.value.codes == ["too_large"]
    few = PhotoSettings(key=None, image=image.ImageLimits(max_pixels=100_000))
    with pytest.raises(PhotoRejected) as rejected:
        check_photo(b64(portrait("collins")), few)
    assert rejected.value.codes == ["too_many_pixels"]
    with pytest.raises(PhotoRejected) as rejected:
        check_photo(b64(portrait("collins").resize((200, 200))), SETTINGS)
    assert rejected.value.codes == ["too_small"]
