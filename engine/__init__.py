"""Real Elasticsearch and OpenSearch nodes on 127.0.0.1, from Maven Central.

For development (``python -m engine start``, i.e. ``make engine``) and for the
integration tests (``tests/integration/conftest_engines.py``). Standard library
only: it shells out to ``mvn`` and ``java``. See engine/README.md.

    from engine import start_elasticsearch
    with start_elasticsearch(port=0) as es:      # 0 = any free port
        print(es.url)                             # http://127.0.0.1:NNNNN
"""

from __future__ import annotations

import os
from pathlib import Path

from . import _cluster, _elasticsearch, _opensearch
from ._cluster import Cluster, ClusterNode
from ._common import (
    START_TIMEOUT,
    EngineHandle,
    EngineStartError,
    EngineUnavailable,
    Progress,
    _quiet,
    cache_dir,
    cluster_health,
)

ES_VERSION = _elasticsearch.ES_VERSION
OS_VERSION = _opensearch.OS_VERSION

__all__ = [
    "ES_VERSION",
    "Cluster",
    "ClusterNode",
    "OS_VERSION",
    "EngineHandle",
    "EngineStartError",
    "EngineUnavailable",
    "cache_dir",
    "cluster_health",
    "fetch_elasticsearch",
    "fetch_opensearch",
    "start_elasticsearch",
    "start_elasticsearch_cluster",
    "start_opensearch",
    "start_opensearch_cluster",
]


def start_elasticsearch(
    port: int = 9200,
    *,
    base_dir: str | os.PathLike[str] | None = None,
    heap: str = "512m",
    timeout: float = START_TIMEOUT,
    progress: Progress = _quiet,
) -> EngineHandle:
    """Start Elasticsearch (fetching it first if needed) and wait for yellow/green.

    ``port=0`` picks a free port. ``base_dir=None`` runs on a fresh temporary
    data directory removed at ``stop()``; a ``base_dir`` keeps its data in
    ``base_dir/elasticsearch`` across starts. Raises EngineStartError (with the
    log tail) if the node is not healthy within ``timeout`` seconds."""
    return _elasticsearch.start(port, base_dir=base_dir, heap=heap, timeout=timeout, progress=progress)


def start_opensearch(
    port: int = 9201,
    *,
    base_dir: str | os.PathLike[str] | None = None,
    heap: str = "512m",
    timeout: float = START_TIMEOUT,
    progress: Progress = _quiet,
) -> EngineHandle:
    """Start OpenSearch (building its launcher first if needed); same contract
    as start_elasticsearch, data in ``base_dir/opensearch``."""
    return _opensearch.start(port, base_dir=base_dir, heap=heap, timeout=timeout, progress=progress)


def start_elasticsearch_cluster(
    nodes: int = 3,
    *,
    port: int = 0,
    base_dir: str | os.PathLike[str] | None = None,
    heap: str = "512m",
    settings: dict[str, object] | None = None,
    timeout: float = START_TIMEOUT,
    progress: Progress = _quiet,
) -> Cluster:
    """Start an Elasticsearch cluster of ``nodes`` separate JVMs and wait until every node has joined.

    ``port=0`` picks free ports; otherwise nodes take ``port``, ``port+1``... (transport +100). ``settings`` are
    added to every node's elasticsearch.yml (e.g. ``{"thread_pool.write.queue_size": 2}``). The Cluster gives
    ``urls``, ``nodes[i].kill()`` / ``.freeze()`` / ``.thaw()`` / ``.restart(n)``, ``wait_for_status()``, ``stop()``.
    """
    return _cluster.start_cluster("elasticsearch", nodes, port=port, base_dir=base_dir, heap=heap, settings=settings,
                                  timeout=timeout, progress=progress)


def start_opensearch_cluster(
    nodes: int = 3,
    *,
    port: int = 0,
    base_dir: str | os.PathLike[str] | None = None,
    heap: str = "512m",
    settings: dict[str, object] | None = None,
    timeout: float = START_TIMEOUT,
    progress: Progress = _quiet,
) -> Cluster:
    """Start an OpenSearch cluster of ``nodes`` separate JVMs; same contract as start_elasticsearch_cluster."""
    return _cluster.start_cluster("opensearch", nodes, port=port, base_dir=base_dir, heap=heap, settings=settings,
                                  timeout=timeout, progress=progress)


def fetch_elasticsearch(progress: Progress = _quiet) -> Path:
    """Download (mvn) and extract Elasticsearch into the cache; returns its home."""
    return _elasticsearch.fetch(progress=progress)


def fetch_opensearch(progress: Progress = _quiet) -> Path:
    """Build the OpenSearch launcher and its classpath into the cache; returns the dir."""
    return _opensearch.fetch(progress=progress)
