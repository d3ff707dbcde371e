"""Cluster reindex: a new versioned index, an atomic alias swap, the old index dropped."""

from __future__ import annotations

import uuid

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
def test_ensure_index_adds_new_fields_to_an_index_built_before_them(request: pytest.FixtureRequest, kind: str,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    url = request.getfixturevalue(f"{kind}_url")
    backend = create_backend(kind, url=url, index_prefix=f"upgrade-{uuid.uuid4().hex[:8]}")
    assert isinstance(backend, ClusterBackend)
    older = {**cluster.MAPPINGS, "properties": {k: v for k, v in cluster.MAPPINGS["properties"].items()
                                                 if k not in ("open_hours", "open_dated", "closed_dated")}}
    try:
        with monkeypatch.context() as patched:
            patched.setattr(cluster, "MAPPINGS", older)
            backend.ensure_index()
        # The mapping is strict: without the new field, the engine would refuse every current document.
        backend.ensure_index()
        result = backend.apply([Change(1, DOCS[0])])
        assert result.acknowledged == [1] and not result.failed
        assert DOCS[0]["open_hours"]
        mapped = dict(backend.engine.admin.indices.get_mapping(index=backend.alias))
        assert {"open_hours", "open_dated", "closed_dated"} <= set(next(iter(mapped.values()))["mappings"]["properties"])
    finally:
        backend.close()
