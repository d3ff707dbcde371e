"""On a runtime without jdk.jdi / jdk.jlink, Elasticsearch runs from a twin whose entitlement module needs
them only where they exist; the verified distribution itself is never changed."""

from __future__ import annotations

import struct
import zipfile
from pathlib import Path

import pytest

from engine import _elasticsearch, _module_info
from engine._common import EngineStartError

SLIM = "java.base java.se jdk.attach jdk.net"
FULL = SLIM + " jdk.jdi jdk.jlink"
REQUIRES = ("java.base", "jdk.attach", "jdk.jdi", "jdk.jlink")


def _utf8(text: str) -> bytes:
    raw = text.encode()
    return b"\x01" + struct.pack(">H", len(raw)) + raw


def module_info(name: str, requires: tuple[str, ...]) -> bytes:
    """A module-info.class as javac writes it: ``module name { requires ...; }`` (java.base mandated)."""
    pool = [_utf8("module-info"), b"\x07" + struct.pack(">H", 1), _utf8("Module"), _utf8(name)]
    pool.append(b"\x13" + struct.pack(">H", 4))  # 5: the module itself
    required = []
    for module in requires:
        pool.append(_utf8(module))
        pool.append(b"\x13" + struct.pack(">H", len(pool)))
        required.append(len(pool))
    body = struct.pack(">HHH", 5, 0, 0) + struct.pack(">H", len(required))
    for module, index in zip(requires, required, strict=True):
        body += struct.pack(">HHH", index, 0x8000 if module == "java.base" else 0, 0)
    body += struct.pack(">HHHH", 0, 0, 0, 0)  # exports, opens, uses, provides
    head = b"\xca\xfe\xba\xbe" + struct.pack(">HHH", 0, 65, len(pool) + 1) + b"".join(pool)
    return head + struct.pack(">HHHHHHH", 0x8000, 2, 0, 0, 0, 0, 1) + struct.pack(">HI", 3, len(body)) + body


def _runtime(root: Path, modules: str) -> Path:
    home = root / "java"
    (home / "bin").mkdir(parents=True)
    (home / "bin" / "java").write_text("#!/bin/sh\n")
    (home / "release").write_text(f'JAVA_VERSION="25.0.2"\nMODULES="{modules}"\n')
    return home


def _distribution(root: Path, version: str = "9.9.9") -> Path:
    home = root / f"elasticsearch-{version}"
    (home / "lib").mkdir(parents=True)
    (home / "bin").mkdir()
    (home / "bin" / "elasticsearch").write_text("#!/bin/sh\n")
    with zipfile.ZipFile(home / "lib" / f"elasticsearch-entitlement-{version}.jar", "w") as jar:
        jar.writestr("module-info.class", module_info("org.elasticsearch.entitlement", REQUIRES))
        jar.writestr("org/elasticsearch/entitlement/Policy.class", b"\xca\xfe\xba\xbe untouched")
    (home / _elasticsearch.READY_MARKER).write_text("verified\n")
    return home


def _requires_of(jar: Path) -> dict[str, int]:
    with zipfile.ZipFile(jar) as zf:
        return _module_info.requires(zf.read("module-info.class"))


def test_only_the_named_requires_become_static() -> None:
    patched = _module_info.make_requires_static(module_info("m", REQUIRES), ("jdk.jdi", "jdk.jlink"))
    assert _module_info.requires(patched) == {"java.base": 0x8000, "jdk.attach": 0, "jdk.jdi": 0x40, "jdk.jlink": 0x40}


def test_a_descriptor_that_no_longer_requires_them_is_an_error() -> None:
    with pytest.raises(ValueError, match="does not require jdk.jdi"):
        _module_info.make_requires_static(module_info("m", ("java.base",)), ("jdk.jdi",))


def test_a_full_jdk_runs_the_distribution_as_verified(tmp_path: Path) -> None:
    home = _distribution(tmp_path)
    assert _elasticsearch.runnable_home(home, _runtime(tmp_path, FULL), "9.9.9") == home


def test_a_slim_runtime_gets_a_twin_with_optional_jdi_and_jlink(tmp_path: Path) -> None:
    home = _distribution(tmp_path)
    jar_name = "lib/elasticsearch-entitlement-9.9.9.jar"
    original = (home / jar_name).read_bytes()
    twin = _elasticsearch.runnable_home(home, _runtime(tmp_path, SLIM), "9.9.9")
    assert twin == tmp_path / "elasticsearch-9.9.9-slim-jre"
    assert _requires_of(twin / jar_name)["jdk.jdi"] & 0x40 and _requires_of(twin / jar_name)["jdk.jlink"] & 0x40
    assert _requires_of(twin / jar_name)["jdk.attach"] == 0
    with zipfile.ZipFile(twin / jar_name) as zf:
        assert zf.read("org/elasticsearch/entitlement/Policy.class") == b"\xca\xfe\xba\xbe untouched"
    assert (home / jar_name).read_bytes() == original  # the verified distribution is unchanged
    assert (twin / "bin" / "elasticsearch").samefile(home / "bin" / "elasticsearch")  # the rest is hard links
    assert (home / _elasticsearch.READY_MARKER).read_text() == "verified\n"
    assert _elasticsearch.runnable_home(home, _runtime(tmp_path / "again", SLIM), "9.9.9") == twin


def test_a_jar_that_is_not_a_zip_fails_clearly(tmp_path: Path) -> None:
    jar = tmp_path / "elasticsearch-entitlement-9.9.9.jar"
    jar.write_bytes(b"not a zip")
    with pytest.raises(EngineStartError, match="cannot make jdk.jdi optional"):
        _module_info.patch_jar(jar, jar, ("jdk.jdi",))
    assert jar.read_bytes() == b"not a zip"
