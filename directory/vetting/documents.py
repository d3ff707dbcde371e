"""Evidence documents: PDF/PNG/JPEG recognised by their content, size-capped, stored outside static/."""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from flask import current_app

from directory.errors import InvalidParameter

# File signatures ("magic bytes"); the extension and the browser's Content-Type are not trusted.
SIGNATURES = (
    (b"%PDF-", "application/pdf", "pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png", "png"),
    (b"\xff\xd8\xff", "image/jpeg", "jpg"),
)
DEFAULT_MAX_BYTES = 5 * 1024 * 1024
CHUNK = 64 * 1024


class InvalidDocument(InvalidParameter):
    """An upload that is not really a PDF/PNG/JPEG, or is too big."""

    code = "invalid_document"


@dataclass(frozen=True)
class StoredDocument:
    """A stored document: where (relative to the documents directory), what, and its digest."""

    name: str
    mime: str
    size: int
    sha256: str

    def as_evidence(self) -> dict[str, object]:
        """Return the document's description as recorded in a check's evidence."""
        return {"stored_as": self.name, "mime": self.mime, "size": self.size, "sha256": self.sha256}


def sniff(head: bytes) -> tuple[str, str] | None:
    """Return (mime type, extension) for a document's first bytes, or None when not accepted."""
    for magic, mime, ext in SIGNATURES:
        if head.startswith(magic):
            return mime, ext
    return None


def documents_dir() -> Path:
    """Return the directory documents are stored in (VETTING_DOCUMENT_DIR, default instance/documents)."""
    configured = current_app.config.get("VETTING_DOCUMENT_DIR")
    return Path(configured) if configured else Path(current_app.config["INSTANCE_DIR"]) / "documents"


def max_bytes() -> int:
    """Return the size cap of one document (VETTING_DOCUMENT_MAX_BYTES)."""
    return int(current_app.config.get("VETTING_DOCUMENT_MAX_BYTES", DEFAULT_MAX_BYTES))


def store_document(stream: IO[bytes]) -> StoredDocument:
    """Check and store an uploaded document under its SHA-256 name; raise InvalidDocument when refused."""
    directory, cap = documents_dir(), max_bytes()
    directory.mkdir(parents=True, exist_ok=True)
    digest, size, head = hashlib.sha256(), 0, b""
    fd, tmp_name = tempfile.mkstemp(dir=directory, prefix=".upload-")
    try:
        with os.fdopen(fd, "wb") as out:
            while chunk := stream.read(CHUNK):
                size += len(chunk)
                if size > cap:
                    raise InvalidDocument(f"The document is larger than {_size(cap)}.", field="document")
                head += chunk[:16 - len(head)]
                digest.update(chunk)
                out.write(chunk)
        kind = sniff(head)
        if kind is None:
            raise InvalidDocument("Only PDF, PNG and JPEG documents are accepted (checked by content).",
                                  field="document")
        name = f"{digest.hexdigest()}.{kind[1]}"
        os.replace(tmp_name, directory / name)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    return StoredDocument(name=name, mime=kind[0], size=size, sha256=digest.hexdigest())


def _size(n: int) -> str:
    """Return a byte count as "5 MB", "100 KB" or "900 bytes"."""
    if n >= 1024 * 1024:
        return f"{n // (1024 * 1024)} MB"
    return f"{n // 1024} KB" if n >= 1024 else f"{n} bytes"


def document_path(name: str) -> Path | None:
    """Return the path of a stored document, or None for a missing file or a name that is not one of ours."""
    directory = documents_dir().resolve()
    path = (directory / name).resolve()
    if not name or name.startswith(".") or path.parent != directory or not path.is_file():
        return None
    return path


def store_form_upload(form: Any) -> tuple[bool, StoredDocument | None]:
    """Store a form's uploaded ``document`` (None when there is none); on a refusal say why on the field."""
    upload = form.document.data
    try:
        return True, store_document(upload.stream) if upload and upload.filename else None
    except InvalidDocument as exc:
        form.document.errors = [exc.message]
        return False, None
    finally:
        if upload:
            upload.close()  # large uploads are spooled to a temporary file
