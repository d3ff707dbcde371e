"""Cluster reindex: a new versioned index, an atomic alias swap, the old index dropped."""

from __future__ import annotations

import uuid

import pytest

from search import create_backend
from search.backends.cluster import ClusterBackend
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
