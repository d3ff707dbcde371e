"""Profile photos: what is accepted is decided by the decoded content, and what is stored carries pixels only."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest
from flask import Flask
from PIL import Image

from directory.practitioners.photos import InvalidPhoto, photo_file, store_photo


@pytest.fixture
def photos(app: Flask, tmp_path: object, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Store photos in a fresh directory, inside an app context."""
    monkeypatch.setitem(app.config, "PRACTITIONER_PHOTO_DIR", str(tmp_path))
    with app.app_context():
        yield


def _encoded(image: Image.Image, fmt: str, **options: object) -> io.BytesIO:
    out = io.BytesIO()
    image.save(out, fmt, **options)
    out.seek(0)
    return out


def test_a_transparent_png_keeps_its_transparency(photos: None) -> None:
    stored = photo_file(store_photo(_encoded(Image.new("RGBA", (100, 50), (0, 0, 0, 0)), "PNG")))
    assert stored is not None
    with Image.open(stored) as image:
        assert image.format == "WEBP" and image.mode == "RGBA" and image.size == (100, 50)


def test_a_webp_is_accepted_and_a_small_photo_is_not_enlarged(photos: None) -> None:
    stored = photo_file(store_photo(_encoded(Image.new("RGB", (120, 90), (10, 20, 30)), "WEBP")))
    assert stored is not None
    with Image.open(stored) as image:
        assert image.size == (120, 90)


def test_the_same_photo_is_stored_once(photos: None) -> None:
    picture = Image.new("RGB", (64, 64), (1, 2, 3))
    assert store_photo(_encoded(picture, "JPEG")) == store_photo(_encoded(picture, "JPEG"))


@pytest.mark.parametrize(("upload", "words"), [
    (_encoded(Image.new("RGB", (10, 10)), "GIF"), "must be a JPEG, PNG or WebP image"),
    (io.BytesIO(_encoded(Image.new("RGB", (300, 300), (9, 9, 9)), "JPEG").getvalue()[:200]), "could not be read"),
    (io.BytesIO(b""), "The photo is empty"),
    (io.BytesIO(b"<svg xmlns='http://www.w3.org/2000/svg'/>"), "could not be read"),
    (_encoded(Image.new("1", (10_000, 5_000)), "PNG"), "too many pixels"),
], ids=["gif", "truncated jpeg", "empty", "svg", "50 megapixels"])
def test_what_is_not_a_photo_we_accept_is_refused_in_words(photos: None, upload: io.BytesIO, words: str) -> None:
    with pytest.raises(InvalidPhoto, match=words):
        store_photo(upload)


def test_only_our_own_names_are_served(photos: None) -> None:
    assert photo_file("../../etc/passwd") is None and photo_file("a" * 64 + ".png") is None
