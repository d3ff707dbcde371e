"""Shared machinery: paths, the non-root user, process
lifecycle and the readiness wait. Standard library only."""

from __future__ import annotations

import atexit
import contextlib
import dataclasses
import fcntl
import json
import os
import pwd
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections import deque
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

ENGINE_DIR = Path(__file__).resolve().parent
ENGINE_USER = "meridian-engine"
START_TIMEOUT = float(os.environ.get("MERIDIAN_ENGINE_START_TIMEOUT", "120"))
LOG_TAIL_LINES = 40

Progress = Callable[[str], None]


def _quiet(_msg: str) -> None:
    pass


class EngineStartError(RuntimeError):
    """An engine could not be fetched, built or started.

    The message says what failed and, when there is one, ends with the last
    ~40 lines of the engine's log (or of the Maven output)."""

    def __init__(self, message: str, *, log_path: Path | None = None, tail: str | None = None):
        self.log_path = log_path
        if tail is None and log_path is not None:
            tail = log_tail(log_path)
        self.tail = tail or ""
        full = message
        if log_path is not None:
            full += f"\nlog: {log_path}"
        if self.tail:
            full += f"\n--- last {LOG_TAIL_LINES} log lines ---\n{self.tail}"
        super().__init__(full)


class EngineUnavailable(EngineStartError):
    """A prerequisite is missing (Maven, a Java 21+ JDK, the download failed):
    the engine cannot run on this machine as it is."""


# --------------------------------------------------------------------------- paths


def cache_dir(override: str | os.PathLike[str] | None = None) -> Path:
    """Where downloads are extracted and the OpenSearch launcher is built.

    MERIDIAN_ENGINE_CACHE wins, then ``engine/.cache`` inside the repository
    (git-ignored). Maven's own downloads stay in ~/.m2 as usual."""
    raw = override or os.environ.get("MERIDIAN_ENGINE_CACHE") or (ENGINE_DIR / ".cache")
    path = Path(raw).expanduser().resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


@contextlib.contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """An exclusive lock so that two processes never fetch/build into the same dir."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def log_tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    try:
        with open(path, errors="replace") as fh:
            return "".join(deque(fh, maxlen=lines)).rstrip()
    except OSError:
        return ""


# --------------------------------------------------------------------------- maven (Java: see _java.py)


# --------------------------------------------------------------------------- user


def running_as_root() -> bool:
    return os.geteuid() == 0


def ensure_engine_user() -> pwd.struct_passwd:
    """The unprivileged system user Elasticsearch runs as when we are root."""
    try:
        return pwd.getpwnam(ENGINE_USER)
    except KeyError:
        pass
    useradd = shutil.which("useradd") or "/usr/sbin/useradd"
    proc = subprocess.run(
        [
            useradd,
            "--system",
            "--user-group",
            "--no-create-home",
            "--home-dir",
            "/nonexistent",
            "--shell",
            "/usr/sbin/nologin",
            ENGINE_USER,
        ],
        capture_output=True,
        text=True,
    )
    try:
        return pwd.getpwnam(ENGINE_USER)
    except KeyError:
        raise EngineUnavailable(
            f"running as root and could not create the system user {ENGINE_USER!r} "
            f"(useradd exit {proc.returncode}: {proc.stderr.strip()})"
        ) from None


def chown_tree(path: Path, user: pwd.struct_passwd) -> None:
    for root, dirs, files in os.walk(path):
        os.chown(root, user.pw_uid, user.pw_gid)
        for name in dirs + files:
            os.lchown(os.path.join(root, name), user.pw_uid, user.pw_gid)


def user_can_access(user: pwd.struct_passwd, *paths: Path) -> bool:
    """True if ``user`` can traverse to and read every path (checked as that user)."""
    runuser = shutil.which("runuser")
    if not runuser:
        return False
    test = " && ".join(f"test -r {shlex.quote(str(p))}" for p in paths)
    proc = subprocess.run(
        [runuser, "-u", user.pw_name, "--", "/bin/sh", "-c", test], capture_output=True, stdin=subprocess.DEVNULL
    )
    return proc.returncode == 0


# --------------------------------------------------------------------------- ports / http


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def free_port(host: str = "127.0.0.1", avoid: tuple[int, ...] = ()) -> int:
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind((host, 0))
            port = s.getsockname()[1]
        if port not in avoid:
            return port
    raise EngineStartError("could not find a free TCP port")


def transport_port_for(http_port: int) -> int:
    """http+100 (9200->9300, 9201->9301, the engines' own convention) when free,
    else any free port."""
    preferred = http_port + 100
    if preferred < 65536 and port_is_free(preferred):
        return preferred
    return free_port(avoid=(http_port,))


def http_json(url: str, timeout: float = 5.0) -> dict | None:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return json.loads(resp.read().decode("utf-8"))
    except (urllib.error.URLError, OSError, ValueError):
        return None


def probe_product(url: str, timeout: float = 3.0) -> tuple[str, str]:
    """("elasticsearch"|"opensearch"|"?", version) of the node at ``url``. Uses the
    nodes-info API: the integ-test Elasticsearch has no `GET /` handler."""
    try:
        with urllib.request.urlopen(f"{url}/_nodes/_local?filter_path=nodes.*.version", timeout=timeout) as resp:
            body = json.loads(resp.read().decode("utf-8"))
            product = "elasticsearch" if resp.headers.get("X-Elastic-Product") else "opensearch"
    except (urllib.error.URLError, OSError, ValueError):
        return "?", ""
    versions = [n.get("version", "") for n in (body.get("nodes") or {}).values()]
    return product, ",".join(sorted(set(versions)))


def cluster_health(url: str, timeout: float = 5.0) -> dict | None:
    """Cluster health if the node answers with yellow or green, else None."""
    health = http_json(f"{url}/_cluster/health?wait_for_status=yellow&timeout=1s", timeout=timeout)
    if health and health.get("status") in ("yellow", "green"):
        return health
    return None


# --------------------------------------------------------------------------- handle


@dataclasses.dataclass
class EngineHandle:
    """A running node. ``stop()`` (or leaving a ``with`` block) shuts it down."""

    kind: str  # "elasticsearch" | "opensearch"
    version: str
    url: str
    http_port: int
    transport_port: int
    process: subprocess.Popen
    log_path: Path
    data_dir: Path
    run_dir: Path
    cluster_name: str
    persistent: bool = False
    started_in: float = 0.0
    _watchdog: subprocess.Popen | None = dataclasses.field(default=None, repr=False)
    _stopped: bool = dataclasses.field(default=False, repr=False)

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def health(self) -> dict | None:
        return cluster_health(self.url)

    def rss_bytes(self) -> int:
        """Resident memory of every process in the engine's process group."""
        return group_rss_bytes(self.process.pid)

    def stop(self, timeout: float = 30.0) -> None:
        if self._stopped:
            return
        self._stopped = True
        terminate_group(self.process, timeout=timeout)
        if self._watchdog is not None and self._watchdog.poll() is None:
            self._watchdog.kill()
            self._watchdog.wait()
        if not self.persistent:
            shutil.rmtree(self.run_dir, ignore_errors=True)

    def __enter__(self) -> EngineHandle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def group_rss_bytes(pgid: int) -> int:
    total = 0
    page = os.sysconf("SC_PAGE_SIZE")
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            fields = stat[stat.rindex(")") + 2 :].split()
            if int(fields[2]) != pgid:  # field 5 of stat: pgrp
                continue
            total += int((entry / "statm").read_text().split()[1]) * page
        except (OSError, ValueError, IndexError):
            continue
    return total


def terminate_group(proc: subprocess.Popen, timeout: float = 30.0) -> None:
    """SIGTERM the process group (engines shut down cleanly on it), SIGKILL after ``timeout``."""
    pgid = proc.pid  # started with start_new_session=True: pid == pgid
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None and not _group_exists(pgid):
            return
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=10)


def _group_exists(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


_WATCHDOG = r"""
import os, shutil, signal, sys, time
parent, pgid, cleanup = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
def exists(kill, pid):
    try:
        kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
while exists(os.kill, parent) and exists(os.killpg, pgid):
    time.sleep(1)
if exists(os.killpg, pgid):
    try:
        os.killpg(pgid, signal.SIGTERM)
        for _ in range(200):
            time.sleep(0.1)
            if not exists(os.killpg, pgid):
                break
        else:
            os.killpg(pgid, signal.SIGKILL)
            time.sleep(1)
    except ProcessLookupError:
        pass
    if cleanup:
        shutil.rmtree(cleanup, ignore_errors=True)
"""


def start_watchdog(engine_pgid: int, cleanup_dir: Path | None) -> subprocess.Popen:
    """A tiny detached process that kills the engine (and removes its temporary
    run dir) if this Python process dies without stopping it (pytest killed...),
    so no JVM is orphaned."""
    return subprocess.Popen(
        [sys.executable, "-c", _WATCHDOG, str(os.getpid()), str(engine_pgid), str(cleanup_dir or "")],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        close_fds=True,
    )


def spawn(
    *,
    kind: str,
    version: str,
    cmd: list[str],
    env: dict[str, str],
    cwd: Path,
    log_path: Path,
    http_port: int,
    transport_port: int,
    data_dir: Path,
    run_dir: Path,
    cluster_name: str,
    persistent: bool,
    progress: Progress,
    watchdog: bool = True,
    watchdog_cleanup: Path | None = None,
    check_port: bool = True,
) -> EngineHandle:
    """Start ``cmd`` in its own process group, without waiting for it (a cluster node needs its peers first).

    ``check_port=False`` for a node restarting on its own port: the port may still have connections in TIME_WAIT
    (which the JVM's SO_REUSEADDR ignores but a plain bind does not); wait_healthy still checks the cluster name.
    """
    if check_port and not port_is_free(http_port):
        raise EngineStartError(
            f"{kind}: port {http_port} on 127.0.0.1 is already in use (another node? `python -m engine status`)"
        )
    url = f"http://127.0.0.1:{http_port}"
    log = open(log_path, "ab")
    try:
        proc = subprocess.Popen(
            cmd,
            env=env,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            close_fds=True,
        )
    except OSError as exc:
        log.close()
        raise EngineStartError(f"{kind}: could not run {cmd[0]}: {exc}", log_path=log_path) from exc
    log.close()
    handle = EngineHandle(
        kind=kind,
        version=version,
        url=url,
        http_port=http_port,
        transport_port=transport_port,
        process=proc,
        log_path=log_path,
        data_dir=data_dir,
        run_dir=run_dir,
        cluster_name=cluster_name,
        persistent=persistent,
    )
    if watchdog:
        cleanup = watchdog_cleanup if watchdog_cleanup is not None else (None if persistent else run_dir)
        handle._watchdog = start_watchdog(proc.pid, cleanup)
    progress(f"{kind} {version}: starting on {url} (pid {proc.pid}, log {log_path})")
    return handle


def wait_healthy(handle: EngineHandle, deadline: float, query: str = "wait_for_status=yellow&timeout=1s") -> dict:
    """Wait until ``handle``'s node answers cluster health for its own cluster; raise EngineStartError otherwise."""
    while True:
        if handle.process.poll() is not None:
            raise EngineStartError(
                f"{handle.kind} {handle.version} exited with code {handle.process.returncode} before it was ready",
                log_path=handle.log_path,
            )
        health = http_json(f"{handle.url}/_cluster/health?{query}", timeout=5.0)
        if health is not None and health.get("cluster_name") not in (None, handle.cluster_name):
            raise EngineStartError(
                f"{handle.kind}: {handle.url} answered for cluster {health.get('cluster_name')!r}, "
                f"not ours ({handle.cluster_name!r}): another node owns the port",
                log_path=handle.log_path,
            )
        if health is not None and not health.get("timed_out") and health.get("status") in ("yellow", "green"):
            return health
        if time.monotonic() > deadline:
            raise EngineStartError(
                f"{handle.kind} {handle.version} not healthy on {handle.url} ({query})", log_path=handle.log_path
            )
        time.sleep(0.25)


def stop_for_post_mortem(handle: EngineHandle) -> None:
    """Stop a node that failed to start, keeping its run dir to look at."""
    keep = handle.persistent
    handle.persistent = True
    handle.stop(timeout=15)
    handle.persistent = keep


def launch(
    *,
    timeout: float,
    progress: Progress,
    **spec: Any,
) -> EngineHandle:
    """Start ``cmd`` in its own process group and wait for yellow/green health."""
    started = time.monotonic()
    handle = spawn(progress=progress, **spec)
    try:
        wait_healthy(handle, started + timeout)
    except BaseException as exc:
        tail = log_tail(handle.log_path)
        stop_for_post_mortem(handle)
        if isinstance(exc, EngineStartError) and not exc.tail:
            raise EngineStartError(str(exc), tail=tail) from None
        raise
    handle.started_in = time.monotonic() - started
    atexit.register(handle.stop)
    progress(f"{handle.kind} {handle.version}: ready on {handle.url} in {handle.started_in:.1f}s")
    return handle


def make_run_dir(kind: str, base_dir: str | os.PathLike[str] | None) -> tuple[Path, bool]:
    """Return (run_dir, persistent). A fresh temporary directory unless
    ``base_dir`` is given, in which case ``base_dir/<kind>`` keeps its data."""
    if base_dir is None:
        return Path(tempfile.mkdtemp(prefix=f"meridian-{kind}-")), False
    path = Path(base_dir).expanduser().resolve() / kind
    path.mkdir(parents=True, exist_ok=True)
    return path, True


def cluster_name_for(kind: str, port: int, persistent: bool) -> str:
    """A stable name for a persistent data dir (its on-disk state belongs to that
    cluster); a unique one for a temporary node, so that the readiness check can
    tell our node from a stranger on the same port."""
    if persistent:
        return f"meridian-dev-{kind}"
    return f"meridian-{kind}-{port}-{os.getpid()}-{int(time.time() * 1000) % 100000}"
