"""Profile photos: JPEG/PNG/WebP recognised by their content, size-capped, resized, EXIF stripped, under instance/."""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
from pathlib import Path
from typing import IO

from flask import current_app
from PIL import Image, ImageOps, UnidentifiedImageError

from directory.errors import InvalidParameter

ACCEPTED_FORMATS = {"JPEG", "PNG", "WEBP"}  # Pillow's names for what the decoder found, not the file's extension
DEFAULT_MAX_BYTES = 5 * 1024 * 1024
DEFAULT_MAX_SIDE = 800
# A small file can still decode to a huge bitmap (a "decompression bomb"): refuse beyond this many pixels.
MAX_PIXELS = 40_000_000
CHUNK = 64 * 1024


class InvalidPhoto(InvalidParameter):
    """An upload that is not a JPEG, PNG or WebP image, or is too big."""

    code = "invalid_photo"


def photos_dir() -> Path:
    """Return the directory photos are stored in (PRACTITIONER_PHOTO_DIR, default instance/photos)."""
    configured = current_app.config.get("PRACTITIONER_PHOTO_DIR")
    return Path(configured) if configured else Path(current_app.config["INSTANCE_DIR"]) / "photos"


def max_bytes() -> int:
    """Return the size cap of one uploaded photo (PRACTITIONER_PHOTO_MAX_BYTES, 5 MB by default)."""
    return int(current_app.config.get("PRACTITIONER_PHOTO_MAX_BYTES", DEFAULT_MAX_BYTES))


def max_side() -> int:
    """Return the longest side, in pixels, a stored photo is resized to (PRACTITIONER_PHOTO_MAX_SIDE)."""
    return int(current_app.config.get("PRACTITIONER_PHOTO_MAX_SIDE", DEFAULT_MAX_SIDE))


def store_photo(stream: IO[bytes]) -> str:
    """Check, resize and store an uploaded photo; return its stored name, or raise InvalidPhoto."""
    image = _decoded(_read_capped(stream, max_bytes()))
    data = _normalised_webp(image, max_side())
    name = hashlib.sha256(data).hexdigest() + ".webp"
    directory = photos_dir()
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / name
    if not target.exists():
        fd, tmp_name = tempfile.mkstemp(dir=directory, prefix=".upload-")
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(tmp_name, target)  # atomic: a reader never sees half a photo
    return name


def photo_file(name: str) -> Path | None:
    """Return the stored photo's path, or None when the name is not one of ours."""
    if len(name) != 69 or not name.endswith(".webp") or not all(c in "0123456789abcdef" for c in name[:64]):
        return None
    path = photos_dir() / name
    return path if path.is_file() else None


def _read_capped(stream: IO[bytes], cap: int) -> bytes:
    """Read the upload, refusing it as soon as it passes ``cap`` bytes."""
    buffer, size = io.BytesIO(), 0
    while chunk := stream.read(CHUNK):
        size += len(chunk)
        if size > cap:
            raise InvalidPhoto(f"The photo is larger than {_size(cap)}. Choose a smaller one.", field="photo")
        buffer.write(chunk)
    if size == 0:
        raise InvalidPhoto("The photo is empty. Choose a JPEG, PNG or WebP image.", field="photo")
    return buffer.getvalue()


def _size(n: int) -> str:
    """Return a byte count in words ("5 MB", "100 KB")."""
    return f"{n / (1024 * 1024):g} MB" if n >= 1024 * 1024 else f"{n // 1024} KB"


def _decoded(data: bytes) -> Image.Image:
    """Decode the image fully (a truncated or disguised file fails here), checking its real format."""
    try:
        image = Image.open(io.BytesIO(data))
        if image.format not in ACCEPTED_FORMATS:
            raise InvalidPhoto("The photo must be a JPEG, PNG or WebP image; this file is not one, whatever its "
                               "name says.", field="photo")
        if image.width * image.height > MAX_PIXELS:
            raise InvalidPhoto("The photo has too many pixels. Choose one under 40 megapixels.", field="photo")
        image.load()
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError, SyntaxError, ValueError) as error:
        raise InvalidPhoto("The photo could not be read as a JPEG, PNG or WebP image; this file is not one, "
                           "whatever its name says.", field="photo") from error
    return image


def _normalised_webp(image: Image.Image, side: int) -> bytes:
    """Return the image upright, at most ``side`` pixels on its longest side, as WebP without any metadata."""
    upright = ImageOps.exif_transpose(image)  # the camera's rotation tag, applied before the tags are dropped
    upright.thumbnail((side, side))
    mode = "RGBA" if upright.mode in ("RGBA", "LA", "P") else "RGB"
    # A fresh image holds pixels only: EXIF (GPS, camera serial), XMP and ICC text never reach the file.
    clean = Image.new(mode, upright.size)
    clean.paste(upright.convert(mode))
    out = io.BytesIO()
    clean.save(out, format="WEBP", quality=85)
    return out.getvalue()
