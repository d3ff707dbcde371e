"""Evidence documents are recognised by content, capped in size and stored under their hash."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from directory.vetting.documents import InvalidDocument, document_path, sniff, store_document


@pytest.mark.parametrize(("head", "kind"), [
    (b"%PDF-1.4\n", ("application/pdf", "pdf")), (b"\x89PNG\r\n\x1a\n\x00", ("image/png", "png")),
    (b"\xff\xd8\xff\xe0JFIF", ("image/jpeg", "jpg")), (b"GIF89a", None), (b"PK\x03\x04", None), (b"", None),
])
def test_sniff_by_magic_bytes(head: bytes, kind: tuple[str, str] | None) -> None:
    assert sniff(head) == kind


@pytest.fixture
def documents(app: Flask, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setitem(app.config, "VETTING_DOCUMENT_DIR", str(tmp_path / "docs"))
    monkeypatch.setitem(app.config, "VETTING_DOCUMENT_MAX_BYTES", 1000)
    with app.app_context():
        yield tmp_path / "docs"


def test_a_document_is_stored_under_its_hash(documents: Path) -> None:
    stored = store_document(io.BytesIO(b"%PDF-1.4 tiny"))
    assert stored.name == f"{stored.sha256}.pdf" and (documents / stored.name).read_bytes() == b"%PDF-1.4 tiny"
    assert document_path(stored.name) == (documents / stored.name).resolve()


def test_refused_documents_leave_no_file(documents: Path) -> None:
    with pytest.raises(InvalidDocument, match="larger than 1000 bytes"):
        store_document(io.BytesIO(b"%PDF-" + b"x" * 2000))
    with pytest.raises(InvalidDocument, match="Only PDF, PNG and JPEG"):
        store_document(io.BytesIO(b"MZ\x90\x00 an executable"))
    assert list(documents.iterdir()) == []


@pytest.mark.parametrize("name", ["../secret_key", ".upload-x", "", "missing.pdf"])
def test_only_stored_documents_can_be_read(documents: Path, name: str) -> None:
    documents.mkdir(exist_ok=True)
    (documents / ".upload-x").write_bytes(b"partial")
    assert document_path(name) is None
