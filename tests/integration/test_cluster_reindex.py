"""Cluster reindex: a new versioned index, an atomic alias swap, the old index dropped."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from search import create_backend
from search.backends import cluster
from search.backends.cluster import ClusterBackend
from search.types import Change
from tests.integration.test_search_parity import DOCS


@pytest.mark.parametrize("kind", ["elasticsearch", "opensearch"])
def test_reindex_swaps_the_alias_and_drops_the_old_index(request: pytest.FixtureRequest, kind: str) -> None:
    url = request.getfixturevalue(f"{kind}_url")
    backend = create_backend(kind, url=url, index_prefix=f"swap-{uuid.uuid4().hex[:8]}")
    assert isinstance(backend, ClusterBackend)
    try:
        backend.ensure_index()
        first = backend.engine.alias_targets(backend.alias)
        assert len(first) == 1 and first[0].startswith(f"{backend.alias}-v")
        assert backend.reindex(iter(DOCS[:5])) == 5
        second = backend.engine.alias_targets(backend.alias)
        assert len(second) == 1 and second != first
        assert not backend.engine.client.indices.exists(index=first[0])
        assert backend.count() == 5
        backend.ensure_index()  # idempotent: the alias exists, nothing changes
        assert backend.engine.alias_targets(backend.alias) == second
    finally:
        backend.close()


@pytest.mark.parametrize("kind", ["elasticsearch", "opensearch"])
def test_a_rebuilt_index_is_merged_into_one_segment(request: pytest.FixtureRequest, kind: str,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    url = request.getfixturevalue(f"{kind}_url")
    monkeypatch.setattr(cluster, "REINDEX_CHUNK", 3)
    backend = create_backend(kind, url=url, index_prefix=f"merge-{uuid.uuid4().hex[:8]}")
    assert isinstance(backend, ClusterBackend)
    client = backend.engine.client

    def documents() -> Iterator[dict[str, Any]]:
        """Yield two chunks; make the first one a segment of its own before the second is sent."""
        yield from DOCS[:3]
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            loading = [name for name in client.indices.get(index=f"{backend.alias}-v*") if name not in old]
            if loading:
                client.indices.refresh(index=loading[0])
                if client.count(index=loading[0])["count"] == 3:
                    break
            time.sleep(0.05)
        yield from DOCS[3:6]

    try:
        backend.ensure_index()
        old = backend.engine.alias_targets(backend.alias)
        assert backend.reindex(documents()) == 6
        (index,) = backend.engine.alias_targets(backend.alias)
        (shard,) = client.indices.segments(index=index)["indices"][index]["shards"]["0"]
        assert len(shard["segments"]) == 1
        assert backend.count() == 6
    finally:
        backend.close()


@pytest.mark.parametrize("kind", ["elasticsearch", "opensearch"])
def test_ensure_index_adds_new_fields_to_an_index_built_before_them(request: pytest.FixtureRequest, kind: str,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    url = request.getfixturevalue(f"{kind}_url")
    backend = create_backend(kind, url=url, index_prefix=f"upgrade-{uuid.uuid4().hex[:8]}")
    assert isinstance(backend, ClusterBackend)
    older = {**cluster.MAPPINGS, "properties": {k: v for k, v in cluster.MAPPINGS["properties"].items()
                                                 if k != "open_hours"}}
    try:
        with monkeypatch.context() as patched:
            patched.setattr(cluster, "MAPPINGS", older)
            backend.ensure_index()
        # The mapping is strict: without the new field, the engine would refuse every current document.
        backend.ensure_index()
        result = backend.apply([Change(1, DOCS[0])])
        assert result.acknowledged == [1] and not result.failed
        assert DOCS[0]["open_hours"]
    finally:
        backend.close()
