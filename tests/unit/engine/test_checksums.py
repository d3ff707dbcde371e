"""The Elasticsearch zip is unpacked only when its SHA-256 matches the pinned one."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from engine import _elasticsearch as es
from engine._common import EngineStartError


def test_a_zip_with_the_pinned_hash_is_accepted(tmp_path: Path) -> None:
    zip_path = tmp_path / "elasticsearch-1.0.0.zip"
    zip_path.write_bytes(b"the real distribution")
    es.verify_sha256(zip_path, hashlib.sha256(b"the real distribution").hexdigest())


def test_a_tampered_zip_is_refused_with_both_hashes(tmp_path: Path) -> None:
    zip_path = tmp_path / "elasticsearch-1.0.0.zip"
    zip_path.write_bytes(b"something else")
    pinned = hashlib.sha256(b"the real distribution").hexdigest()
    with pytest.raises(EngineStartError, match=f"does not match the pinned {pinned}"):
        es.verify_sha256(zip_path, pinned)


def test_the_default_version_is_pinned_and_an_unpinned_one_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MERIDIAN_ES_SHA256", raising=False)
    assert len(es.expected_sha256(es.ES_VERSION)) == 64
    with pytest.raises(EngineStartError, match="no pinned SHA-256"):
        es.expected_sha256("0.0.1")
    monkeypatch.setenv("MERIDIAN_ES_SHA256", "AB" * 32)
    assert es.expected_sha256("0.0.1") == "ab" * 32
