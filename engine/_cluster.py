"""Multi-node clusters: N separate JVMs on 127.0.0.1, one per node, so that any node can be killed alone.

Each node is its own process group with its own config, data and log dir under one cluster dir; the nodes find
each other through ``discovery.seed_hosts`` (the transport ports are chosen before any node starts) and elect
the first cluster manager among the names in ``cluster.initial_master_nodes`` (Elasticsearch) /
``cluster.initial_cluster_manager_nodes`` (OpenSearch 2+). Standard library only.
"""

from __future__ import annotations

import atexit
import contextlib
import dataclasses
import os
import shutil
import signal
import time
from pathlib import Path
from typing import Any

from . import _common as c
from . import _elasticsearch, _opensearch

NODE_SPECS = {"elasticsearch": _elasticsearch.node_spec, "opensearch": _opensearch.node_spec}
# The setting naming the nodes that may bootstrap the first election (OpenSearch renamed master to cluster manager).
INITIAL_MANAGERS = {"elasticsearch": "cluster.initial_master_nodes", "opensearch": "cluster.initial_cluster_manager_nodes"}
SHORT = {"elasticsearch": "es", "opensearch": "os"}
STATUS_RANK = {"red": 0, "yellow": 1, "green": 2}


@dataclasses.dataclass
class ClusterNode:
    """One node of a Cluster: kill it, freeze it, restart it on the same data."""

    name: str
    index: int
    spec: dict[str, Any]
    cleanup_dir: Path | None
    handle: c.EngineHandle | None = None

    @property
    def url(self) -> str:
        """Return the node's HTTP URL (the same across restarts)."""
        return f"http://127.0.0.1:{self.spec['http_port']}"

    @property
    def pid(self) -> int | None:
        """Return the pid (= process group) of the running node, None if it is not running."""
        return self.handle.pid if self.handle is not None and self.handle.alive() else None

    @property
    def log_path(self) -> Path:
        """Return the node's console log."""
        return Path(self.spec["log_path"])

    def alive(self) -> bool:
        """Tell whether the node's process is running (a frozen node is running)."""
        return self.handle is not None and self.handle.alive()

    def spawn(self, progress: c.Progress = c._quiet, *, again: bool = False) -> c.EngineHandle:
        """Start the node's process (on the data it has) without waiting for it to join."""
        self.handle = c.spawn(**self.spec, persistent=True, progress=progress, watchdog_cleanup=self.cleanup_dir,
                              check_port=not again)
        return self.handle

    def kill(self) -> None:
        """SIGKILL the node's whole process group, as a crash would; its data dir stays."""
        handle = self._running()
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(handle.pid, signal.SIGKILL)
        handle.process.wait(timeout=30)
        while c._group_exists(handle.pid):
            time.sleep(0.05)
        handle._stopped = True
        if handle._watchdog is not None:
            with contextlib.suppress(Exception):
                handle._watchdog.wait(timeout=5)

    def freeze(self) -> None:
        """SIGSTOP the node (a slow or stuck node: connections stay open, nothing answers)."""
        os.killpg(self._running().pid, signal.SIGSTOP)

    def thaw(self) -> None:
        """SIGCONT a frozen node."""
        os.killpg(self._running().pid, signal.SIGCONT)

    def stop(self, timeout: float = 30.0) -> None:
        """Shut the node down cleanly (SIGTERM, SIGKILL after ``timeout``)."""
        if self.handle is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.handle.pid, signal.SIGCONT)  # a frozen node cannot act on SIGTERM
            self.handle.stop(timeout=timeout)

    def restart(self, cluster_size: int, timeout: float = c.START_TIMEOUT, progress: c.Progress = c._quiet) -> float:
        """Start the node again on its data dir and wait until the cluster counts ``cluster_size`` nodes; return s."""
        if self.alive():
            self.stop()
        started = time.monotonic()
        handle = self.spawn(progress, again=True)
        c.wait_healthy(handle, started + timeout, f"wait_for_nodes={cluster_size}&timeout=1s")
        handle.started_in = time.monotonic() - started
        return handle.started_in

    def _running(self) -> c.EngineHandle:
        if self.handle is None or not self.handle.alive():
            raise c.EngineStartError(f"{self.name} is not running")
        return self.handle


@dataclasses.dataclass
class Cluster:
    """A running multi-node cluster. ``stop()`` (or leaving a ``with`` block) shuts every node down."""

    kind: str
    version: str
    cluster_name: str
    nodes: list[ClusterNode]
    root: Path
    persistent: bool
    started_in: float = 0.0
    _stopped: bool = dataclasses.field(default=False, repr=False)

    @property
    def urls(self) -> list[str]:
        """Return every node's URL, in node order."""
        return [n.url for n in self.nodes]

    @property
    def url(self) -> str:
        """Return the node URLs comma-separated, as SEARCH_URL takes them."""
        return ",".join(self.urls)

    def health(self, query: str = "timeout=1s") -> dict[str, Any] | None:
        """Return cluster health from the first live node that answers, or None."""
        for node in self.nodes:
            if node.alive():
                health = c.http_json(f"{node.url}/_cluster/health?{query}", timeout=5.0)
                if health is not None and "status" in health:
                    return health
        return None

    def wait_for_status(self, status: str = "green", timeout: float = 180.0, nodes: int | None = None) -> float:
        """Wait until the cluster is at least ``status`` with ``nodes`` nodes (default: all); return the seconds taken.

        Raises EngineStartError with the last health seen when the time runs out.
        """
        want = len(self.nodes) if nodes is None else nodes
        started = time.monotonic()
        last: dict[str, Any] | None = None
        while time.monotonic() - started < timeout:
            last = self.health(f"wait_for_status={status}&wait_for_nodes={want}&timeout=2s")
            if (last is not None and not last.get("timed_out")
                    and STATUS_RANK.get(last["status"], -1) >= STATUS_RANK[status]):
                return time.monotonic() - started
            time.sleep(0.25)
        raise c.EngineStartError(f"{self.kind} cluster not {status} with {want} nodes after {timeout:.0f}s: {last}")

    def stop(self) -> None:
        """Stop every node; remove the cluster dir unless it was given as persistent."""
        if self._stopped:
            return
        self._stopped = True
        for node in self.nodes:
            node.stop()
        if not self.persistent:
            shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> Cluster:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _ports(count: int, first: int) -> tuple[list[int], list[int]]:
    """Return (http, transport) ports: from ``first`` upwards (and +100) when it is set, else free ephemeral ones."""
    if first:
        return [first + i for i in range(count)], [first + 100 + i for i in range(count)]
    chosen: list[int] = []
    while len(chosen) < 2 * count:
        chosen.append(c.free_port(avoid=(9200, 9201, *chosen)))
    return chosen[:count], chosen[count:]


def start_cluster(
    kind: str,
    nodes: int = 3,
    *,
    port: int = 0,
    base_dir: str | os.PathLike[str] | None = None,
    heap: str = "512m",
    settings: dict[str, object] | None = None,
    timeout: float = c.START_TIMEOUT,
    progress: c.Progress = c._quiet,
) -> Cluster:
    """Start ``nodes`` nodes of ``kind`` as one cluster and wait until all have joined (yellow or green)."""
    started = time.monotonic()
    http, transport = _ports(nodes, port)
    root, persistent = c.make_run_dir(f"{kind}-cluster", base_dir)
    cluster_name = c.cluster_name_for(f"{kind}-cluster", http[0], persistent)
    os.chmod(root, 0o755)  # mkdtemp's 0700 would keep Elasticsearch's user (when we are root) out of its node dirs
    names = [f"{SHORT[kind]}-{i}" for i in range(nodes)]
    discovery = (
        f"discovery.seed_hosts: [{', '.join(f'127.0.0.1:{t}' for t in transport)}]",
        f"{INITIAL_MANAGERS[kind]}: [{', '.join(names)}]",
    )
    members = []
    for i, name in enumerate(names):
        node_dir = root / name
        node_dir.mkdir(parents=True, exist_ok=True)
        spec = NODE_SPECS[kind](http[i], transport[i], node_dir, cluster_name, heap=heap, progress=progress,
                                node_name=name, discovery=discovery, settings=settings)
        members.append(ClusterNode(name, i, spec, cleanup_dir=None if persistent else root))
    cluster = Cluster(kind, members[0].spec["version"], cluster_name, members, root, persistent)
    try:
        handles = [node.spawn(progress) for node in members]
        for handle in handles:
            c.wait_healthy(handle, started + timeout, f"wait_for_nodes={nodes}&timeout=1s")
    except BaseException as exc:
        tails = "\n".join(f"--- {n.name} ---\n{c.log_tail(n.log_path, 15)}" for n in members)
        cluster.persistent = True  # keep the dirs for a post-mortem
        cluster.stop()
        raise c.EngineStartError(f"{kind} cluster of {nodes} did not form in {root}: {exc}", tail=tails) from None
    cluster.started_in = time.monotonic() - started
    atexit.register(cluster.stop)
    progress(f"{kind} cluster {cluster_name}: {nodes} nodes on {cluster.url} in {cluster.started_in:.1f}s")
    return cluster
