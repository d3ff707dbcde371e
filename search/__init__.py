"""Everything about the search engine, and nothing about Flask or the directory app."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, Protocol

from search.types import (
    ApplyResult,
    Change,
    InvalidQuery,
    SearchHit,
    SearchPage,
    SearchQuery,
    SearchUnavailable,
)

__all__ = [
    "ApplyResult",
    "Change",
    "InvalidQuery",
    "SearchBackend",
    "SearchHit",
    "SearchPage",
    "SearchQuery",
    "SearchUnavailable",
    "create_backend",
]

Progress = Callable[[int], None]


class SearchBackend(Protocol):
    """What every backend offers; the application talks to nothing else."""

    name: str

    def ensure_index(self) -> bool:
        """Create the index (and its alias) if it does not exist yet; tell whether it needs a rebuild.

        True for a new (empty) index, and for one whose documents predate what writes now rely on (versions).
        """

    def apply(self, changes: Sequence[Change]) -> ApplyResult:
        """Write and delete documents; report per document what the engine acknowledged."""

    def search(self, query: SearchQuery) -> SearchPage:
        """Run one search; raise SearchUnavailable when the engine cannot answer."""

    def suggest(self, prefix: str, limit: int = 8) -> list[str]:
        """Return practitioner names starting with ``prefix``."""

    def count(self) -> int:
        """Return how many documents the live index holds."""

    def health(self) -> dict[str, Any]:
        """Return ``{"status": "ok"|"unavailable", ...}`` without raising."""

    def reindex(self, documents: Iterable[dict[str, Any]], progress: Progress | None = None) -> int:
        """Build a fresh index from ``documents`` and switch searches to it atomically."""

    def close(self) -> None:
        """Release connections."""


def create_backend(
    kind: str, *, url: str | None = None, path: str | None = None, index_prefix: str = "meridian", timeout: float = 5.0,
    threads: int = 1,
) -> SearchBackend:
    """Return the backend named ``kind`` ("embedded", "elasticsearch" or "opensearch").

    ``threads``: the embedded backend's shards per wide search (see EmbeddedBackend).
    """
    if kind == "embedded":
        from search.backends.embedded import EmbeddedBackend

        return EmbeddedBackend(path or ":memory:", threads=threads)
    from search.backends.cluster import ClusterBackend

    if not url:
        raise ValueError(f"{kind} needs a URL")
    return ClusterBackend(kind, url, index_prefix=index_prefix, timeout=timeout)
