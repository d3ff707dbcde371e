"""The cluster backend: Elasticsearch 8/9 or OpenSearch 2/3 through their official clients.

Request bodies come from search.query and are identical for both engines; the few
call-signature differences live in the two small adapters below.
"""

from __future__ import annotations

import contextlib
import json
import queue
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any
from urllib.parse import quote

from search.backends.bulk import bulk_until_acknowledged, retryable
from search.query import build_search_body
from search.types import ApplyResult, Change, SearchHit, SearchPage, SearchQuery, SearchUnavailable

MAPPINGS: dict[str, Any] = {
    "dynamic": "strict",
    "properties": {
        "id": {"type": "long"},
        "slug": {"type": "keyword"},
        "name": {"type": "text", "analyzer": "standard"},
        "display_name": {"type": "keyword", "index": False},
        "bio": {"type": "text", "analyzer": "standard"},
        "vocabulary": {"type": "text", "analyzer": "standard"},
        "places": {"type": "text", "analyzer": "standard"},
        "methods": {"type": "keyword"},
        "conditions": {"type": "keyword"},
        "languages": {"type": "keyword"},
        "gender": {"type": "keyword"},
        "accepting_new_patients": {"type": "boolean"},
        "telehealth": {"type": "boolean"},
        "wheelchair_accessible": {"type": "boolean"},
        "vetting_status": {"type": "keyword"},
        "verified": {"type": "boolean"},
        "visible": {"type": "boolean"},
        "rating_average": {"type": "double"},
        "rating_count": {"type": "integer"},
        "rating_bayes": {"type": "double"},
        "locations": {"type": "geo_point"},
        # The index's sort order (see ClusterBackend.settings): read from doc values only, never searched.
        "geo_cell": {"type": "long", "index": False},
        "open_hours": {"type": "long_range"},
        # Where dated exceptions make the weekly ranges wrong (search/hours.py dated_ranges).
        "open_dated": {"type": "long_range"},
        "closed_dated": {"type": "long_range"},
        "name_suggest": {"type": "completion", "analyzer": "simple"},
        # Also the engine's external _version of the document; kept in the source to compare with the database.
        "version": {"type": "long", "index": False},
    },
}
# Marks an index built since documents carry external versions and the Bayesian rating, stored in geo_cell order; set
# at creation only, so an index from before keeps asking for a rebuild (ensure_index) until one replaces it (its
# documents lack what the sorts need, or its order cannot be changed in place).
INDEX_META = {"document_versions": "external", "rating": "bayes", "order": "geo_cell"}
BULK_CHUNK = 1000
REINDEX_CHUNK = 2000
# What a search reads back; the engine leaves out the rest (_index, _ignored, shards, bucket bounds...).
# Empty arrays are dropped by filter_path too, so readers use .get().
SEARCH_FILTER_PATH = ("took,hits.total.value,hits.hits._id,hits.hits._score,hits.hits.sort,hits.hits.highlight,"
                      "aggregations.*.buckets.key,aggregations.*.buckets.doc_count")
# A shard whose copies all failed makes the search fail (503, retried) rather than answer with fewer hits.
SEARCH_PARAMS = {"filter_path": SEARCH_FILTER_PATH, "allow_partial_search_results": "false"}
JSON_HEADERS = {"accept": "application/json", "content-type": "application/json"}
# Threads sending a rebuild's bulk requests while the calling thread builds the next documents.
REINDEX_SENDERS = 2
# Bulk writes may take longer than a search; they get their own, longer timeout.
BULK_TIMEOUT_S = 120.0
# Merging a freshly loaded index into one segment: minutes per million documents on a busy 2-core box.
MERGE_TIMEOUT_S = 1800.0
# Index and alias management calls (create, alias swap, settings, refresh) get this timeout, searches their own.
ADMIN_TIMEOUT_S = 60.0
# A new index's replica starts only after its primary, and may wait its turn behind other recoveries: until it has
# started, the primary is the only copy, and losing its node would stop writes to it for good (nothing to promote).
COPIES_WAIT_S = 45.0
# Failures a search is resent to another node for: no answer (connection refused/reset, timeout) or a gateway /
# unavailable answer (a node shutting down, a shard with no copy yet). Never 4xx: the request itself was wrong, or
# (429) the cluster is overloaded, where resending adds load.
RETRY_ON_STATUS = (502, 503, 504)
# How long a node that failed is skipped before it is tried again (doubling per consecutive failure, up to the max):
# long enough that a frozen node costs one timed-out attempt per period, not one per search.
DEAD_NODE_BACKOFF_S = 5.0
MAX_DEAD_NODE_BACKOFF_S = 60.0
# How long apply() keeps resending items the cluster refused for now (429, 503...) before handing them back to the
# outbox, which retries them later: well inside the outbox claim's lease.
APPLY_RETRY_BUDGET_S = 30.0
# How long a rebuild keeps resending one chunk before it gives up (and the alias stays on the old index).
REINDEX_RETRY_BUDGET_S = 120.0


def node_urls(url: str | Sequence[str]) -> list[str]:
    """Return the node URLs of a SEARCH_URL: one URL, or several separated by commas."""
    parts = url.split(",") if isinstance(url, str) else list(url)
    urls = [u.strip().rstrip("/") for u in parts if u.strip()]
    if not urls:
        raise ValueError("no search node URL given")
    return urls


def attempt_timeout(total: float, nodes: int) -> tuple[float, int]:
    """Return (per-attempt timeout, retries) that fit one search into about ``total`` seconds.

    With one node there is nowhere to retry: one attempt gets the whole time. With several, a search may try up to
    three nodes, each for an equal share (at least half a second), so a frozen node costs one share and the next
    node answers within the same page load.
    """
    if nodes <= 1:
        return total, 0
    attempts = min(nodes, 3)
    return max(0.5, total / attempts), attempts - 1


class _ElasticsearchAdapter:
    """Calls in the `elasticsearch` client's keyword style."""

    def __init__(self, urls: list[str], timeout: float) -> None:
        from elastic_transport import ConnectionError as ESConnectionError
        from elastic_transport import ConnectionTimeout
        from elasticsearch import ApiError, Elasticsearch, helpers
        from elasticsearch import TransportError as ESTransportError

        per_attempt, retries = attempt_timeout(timeout, len(urls))
        self.client: Any = Elasticsearch(
            urls, request_timeout=per_attempt, max_retries=max(retries, 1), retry_on_timeout=len(urls) > 1,
            retry_on_status=RETRY_ON_STATUS, dead_node_backoff_factor=DEAD_NODE_BACKOFF_S,
            max_dead_node_backoff=MAX_DEAD_NODE_BACKOFF_S,
        )
        # Index and alias management: slower than a search on a busy cluster, and not all idempotent (a creation
        # that timed out and was resent answers "already exists"), so one long attempt per node.
        self.admin: Any = self.client.options(request_timeout=ADMIN_TIMEOUT_S)
        self.helpers: Any = helpers
        # elasticsearch-py 8+: an error answer (404 missing index, 5xx) is an ApiError, not a TransportError.
        self.errors: tuple[type[Exception], ...] = (ESConnectionError, ConnectionTimeout, ESTransportError, ApiError)
        # How the client serialises what plain JSON cannot (dates, decimals); reindex encodes bulk bodies itself.
        serializer: Any = self.client.transport.serializers.get_serializer("application/json")
        self.json_default: Callable[[Any], Any] = serializer.default

    def create_index(self, name: str, settings: dict[str, Any]) -> None:
        self.admin.indices.create(index=name, settings=settings, mappings={**MAPPINGS, "_meta": INDEX_META})

    def put_mappings(self, index: str) -> None:
        """Add fields of MAPPINGS that ``index`` lacks (the engine refuses changes to existing ones)."""
        self.admin.indices.put_mapping(index=index, **MAPPINGS)

    def index_meta(self, alias: str) -> dict[str, Any]:
        """Return the ``_meta`` of the index behind ``alias`` (the same call in both clients)."""
        mappings = dict(self.admin.indices.get_mapping(index=alias))
        return {key: value for index in mappings.values() for key, value in index["mappings"].get("_meta", {}).items()}

    def bulk_target(self) -> tuple[Any, dict[str, Any]]:
        """Return the client and extra arguments to send bulk requests with (a longer timeout)."""
        return self.client.options(request_timeout=BULK_TIMEOUT_S), {}

    def bulk_raw(self, client: Any, extra: dict[str, Any], index: str, body: bytes) -> dict[str, Any]:
        """Send one pre-encoded NDJSON bulk body to ``index``; return only ``errors`` and the items' errors."""
        return dict(client.bulk(index=index, operations=body, filter_path="errors,items.*.error", **extra))

    def put_settings(self, index: str, settings: dict[str, Any]) -> None:
        self.admin.indices.put_settings(index=index, settings=settings)

    def force_merge(self, index: str) -> None:
        """Merge ``index`` into one segment, waiting up to MERGE_TIMEOUT_S."""
        self.admin.options(request_timeout=MERGE_TIMEOUT_S).indices.forcemerge(index=index, max_num_segments=1)

    def exists_alias(self, alias: str) -> bool:
        return bool(self.admin.indices.exists_alias(name=alias))

    def alias_targets(self, alias: str) -> list[str]:
        result = self.admin.options(ignore_status=404).indices.get_alias(name=alias)
        return [k for k in dict(result) if k not in ("error", "status")]

    def update_aliases(self, actions: list[dict[str, Any]]) -> None:
        self.admin.indices.update_aliases(actions=actions)

    def delete_index(self, name: str) -> None:
        self.admin.options(ignore_status=404).indices.delete(index=name)

    def search(self, index: str, body: dict[str, Any]) -> dict[str, Any]:
        # The body encoded here and sent through the client's perform_request: the same node selection, retries and
        # errors as client.search(), without its per-call parameter rewriting (about 0.06 ms of a 0.8 ms call).
        payload = json.dumps(body, default=self.json_default, separators=(",", ":")).encode()
        response = self.client.perform_request("POST", f"/{quote(index, safe='')}/_search", params=SEARCH_PARAMS,
                                               headers=JSON_HEADERS, body=payload)
        return dict(response.body)

    def count(self, index: str) -> int:
        return int(self.client.count(index=index)["count"])

    def refresh(self, index: str) -> None:
        self.admin.indices.refresh(index=index)

    def health(self) -> dict[str, Any]:
        return dict(self.client.cluster.health())

    def wait_for_copies(self, index: str) -> bool:
        """Wait (up to COPIES_WAIT_S) until every copy of ``index`` has started; tell whether they all did."""
        health = self.admin.cluster.health(index=index, wait_for_status="green", timeout=f"{COPIES_WAIT_S:.0f}s")
        return not health.get("timed_out")

    def bulk_items(self, client: Any, extra: dict[str, Any], actions: Sequence[dict[str, Any]]) -> list[Any]:
        """Send ``actions`` in one bulk request; return streaming_bulk's (ok, item) per action, in order.

        No retries here (bulk_until_acknowledged does them with backoff); a failed request raises.
        """
        return list(self.helpers.streaming_bulk(client, actions, chunk_size=max(len(actions), 1),
                                                max_chunk_bytes=1 << 30, raise_on_error=False,
                                                raise_on_exception=True, max_retries=0, **extra))

    def suggest(self, index: str, body: dict[str, Any]) -> dict[str, Any]:
        return dict(self.client.search(index=index, body=body))

    def close(self) -> None:
        """Close the connections (the admin client shares the search client's)."""
        self.client.close()


class _OpenSearchAdapter(_ElasticsearchAdapter):
    """Calls in `opensearch-py`'s body style."""

    def __init__(self, urls: list[str], timeout: float) -> None:
        from opensearchpy import ConnectionError as OSConnectionError
        from opensearchpy import ConnectionTimeout, OpenSearch, TransportError, helpers

        per_attempt, retries = attempt_timeout(timeout, len(urls))
        # More than one pooled connection: the outbox worker and searches share the client.
        self.client = OpenSearch(
            urls, timeout=per_attempt, max_retries=max(retries, 1), retry_on_timeout=len(urls) > 1,
            retry_on_status=RETRY_ON_STATUS, dead_timeout=DEAD_NODE_BACKOFF_S, pool_maxsize=8,
        )
        self.admin = OpenSearch(urls, timeout=ADMIN_TIMEOUT_S, max_retries=max(retries, 1), retry_on_timeout=False,
                                retry_on_status=RETRY_ON_STATUS, dead_timeout=DEAD_NODE_BACKOFF_S)
        self.helpers = helpers
        self.errors = (OSConnectionError, ConnectionTimeout, TransportError)
        self.json_default = self.client.transport.serializer.default

    def create_index(self, name: str, settings: dict[str, Any]) -> None:
        self.admin.indices.create(index=name, body={"settings": settings, "mappings": {**MAPPINGS, "_meta": INDEX_META}})

    def search(self, index: str, body: dict[str, Any]) -> dict[str, Any]:
        # opensearch-py's transport takes a str body as it is (the client's serializer would encode a dict again).
        payload = json.dumps(body, default=self.json_default, separators=(",", ":"))
        return dict(self.client.transport.perform_request("POST", f"/{quote(index, safe='')}/_search",
                                                          params=SEARCH_PARAMS, body=payload))

    def put_mappings(self, index: str) -> None:
        self.admin.indices.put_mapping(index=index, body=MAPPINGS)

    def bulk_target(self) -> tuple[Any, dict[str, Any]]:
        return self.client, {"request_timeout": BULK_TIMEOUT_S}

    def bulk_raw(self, client: Any, extra: dict[str, Any], index: str, body: bytes) -> dict[str, Any]:
        return dict(client.bulk(index=index, body=body, filter_path="errors,items.*.error", **extra))

    def put_settings(self, index: str, settings: dict[str, Any]) -> None:
        self.admin.indices.put_settings(index=index, body=settings)

    def force_merge(self, index: str) -> None:
        self.admin.indices.forcemerge(index=index, max_num_segments=1, request_timeout=MERGE_TIMEOUT_S)

    def alias_targets(self, alias: str) -> list[str]:
        result = self.admin.indices.get_alias(name=alias, ignore=404)
        return [k for k in dict(result) if k not in ("error", "status")]

    def update_aliases(self, actions: list[dict[str, Any]]) -> None:
        self.admin.indices.update_aliases(body={"actions": actions})

    def delete_index(self, name: str) -> None:
        self.admin.indices.delete(index=name, ignore=404)

    def wait_for_copies(self, index: str) -> bool:
        # opensearch-py reads a bare `timeout` as the client's own request timeout unless request_timeout is given.
        health = self.admin.cluster.health(index=index, wait_for_status="green", timeout=f"{COPIES_WAIT_S:.0f}s",
                                           request_timeout=ADMIN_TIMEOUT_S)
        return not health.get("timed_out")

    def close(self) -> None:
        """Close both clients' connections."""
        self.client.close()
        self.admin.close()


class ClusterBackend:
    """SearchBackend over an Elasticsearch or OpenSearch cluster, read through an alias."""

    def __init__(self, kind: str, url: str | Sequence[str], *, index_prefix: str = "meridian", timeout: float = 5.0,
                 replicas: int | None = None) -> None:
        self.name = kind
        self.alias = f"{index_prefix}-practitioners"
        # gc_deletes: how long the engine remembers a deleted document's version, so that a late older write
        # cannot bring it back; well beyond a claim's lease (60 s by default).
        # sort: documents are stored in the order of their location's Z-order cell (search.geo.z_order_cell), so one
        # area's practitioners are neighbours on disk. A 50-100 km search matches up to 90k of 1M documents, and its
        # facet counts and distance sort read each match's doc values: in runs rather than scattered over the index,
        # the engine's own time over the bench mix went from p50/p95/p99 3/13/21 ms to 2/9/17 ms (1M, Elasticsearch),
        # with the same hits, totals and facet counts. Settable at creation only (an older index asks for a rebuild).
        self.settings = {"number_of_shards": 1, "max_result_window": 10_000, "gc_deletes": "10m",
                         "sort.field": "geo_cell", "sort.order": "asc"}
        # None: decided at each index creation from the cluster's size (see _index_settings).
        self.replicas = replicas
        adapter = _OpenSearchAdapter if kind == "opensearch" else _ElasticsearchAdapter
        self.engine = adapter(node_urls(url), timeout)

    def _call(self, what: str, fn: Any, *args: Any) -> Any:
        """Run one engine call, turning connection and transport failures into SearchUnavailable."""
        try:
            return fn(*args)
        except self.engine.errors as exc:
            raise SearchUnavailable(f"{self.name} {what} failed: {exc}") from exc

    def _index_settings(self, **extra: Any) -> dict[str, Any]:
        """Return the settings of a new index: one replica when the cluster has more than one data node, else none.

        A single node cannot hold a replica (the index would stay yellow); on a cluster, the replica is what keeps
        every document searchable and writable when the node holding the primary dies.
        """
        replicas = self.replicas
        if replicas is None:
            health = self._call("health", self.engine.health)
            replicas = 1 if int(health.get("number_of_data_nodes", 1)) > 1 else 0
        return {**self.settings, "number_of_replicas": replicas, **extra}

    def _new_index_name(self) -> str:
        """Return a fresh versioned index name (the alias points at exactly one of them)."""
        return f"{self.alias}-v{time.strftime('%Y%m%d%H%M%S')}-{time.perf_counter_ns() % 1_000_000:06d}"

    def ensure_index(self) -> bool:
        """Create a first versioned index behind the alias if the alias does not exist (True then).

        An existing index gets the fields added to MAPPINGS since it was built, so that writes of current documents
        are accepted (the mapping is strict); its older documents gain them at the next `flask search reindex`.
        An index built before documents carried versions also answers True: its documents have the engine's own
        version numbers, which the external versions of later writes need not exceed, so it must be rebuilt.
        """
        if self._call("alias lookup", self.engine.exists_alias, self.alias):
            meta = self._call("mapping lookup", self.engine.index_meta, self.alias)
            self._call("mapping update", self.engine.put_mappings, self.alias)
            return bool(meta != INDEX_META)
        name = self._new_index_name()
        settings = self._index_settings()
        self._call("index creation", self.engine.create_index, name, settings)
        if settings["number_of_replicas"]:
            self._call("waiting for the replica", self.engine.wait_for_copies, name)
        self._call("alias creation", self.engine.update_aliases, [{"add": {"index": name, "alias": self.alias}}])
        return True

    def apply(self, changes: Sequence[Change]) -> ApplyResult:
        """Bulk-write the changes; report each document's acknowledgement separately.

        Versioned changes use the engine's external versioning, so the engine itself refuses a write (or delete)
        older than the one it holds, whichever worker sends it; that refusal (409) means "already newer".
        """
        result = ApplyResult()
        client, extra = self.engine.bulk_target()
        for start in range(0, len(changes), BULK_CHUNK):
            chunk = changes[start:start + BULK_CHUNK]
            try:
                outcome = bulk_until_acknowledged(
                    lambda actions: self.engine.bulk_items(client, extra, actions),
                    [_bulk_action(self.alias, c) for c in chunk],
                    errors=self.engine.errors, accepted=_accepted, budget_s=APPLY_RETRY_BUDGET_S)
            except self.engine.errors as exc:
                result.failed.update({c.doc_id: f"{self.name} bulk failed: {exc}" for c in chunk})
                continue
            result.acknowledged += outcome.acknowledged
            result.failed.update(outcome.refused)
            result.failed.update({doc_id: f"{self.name} not acknowledged after {outcome.attempts} attempts: {why}"
                                  for doc_id, why in outcome.unfinished.items()})
        return result

    def reindex(self, documents: Iterable[dict[str, Any]], progress: Any = None) -> int:
        """Load a new index, swap the alias to it in one atomic call, drop the old ones.

        If loading fails, the new index is deleted and the error re-raised; the alias and old index stay as they were.
        """
        old = self._call("alias lookup", self.engine.alias_targets, self.alias)
        name = self._new_index_name()
        # While nobody reads the new index: no refreshes, and the translog synced in the background.
        loading = {"refresh_interval": "-1", "translog": {"durability": "async"}}
        settings = self._index_settings(**loading)
        self._call("index creation", self.engine.create_index, name, settings)
        actions: list[dict[str, Any]] = [{"remove": {"index": i, "alias": self.alias}} for i in old]
        actions.append({"add": {"index": name, "alias": self.alias}})
        try:
            if settings["number_of_replicas"]:
                # Best effort: without it the rebuild still completes, only less safe against a node loss.
                self._call("waiting for the replica", self.engine.wait_for_copies, name)
            count = self._load(name, documents, progress)
            self._call("settings", self.engine.put_settings, name,
                       {"index": {"refresh_interval": "1s", "translog": {"durability": "request"}}})
            self._call("refresh", self.engine.refresh, name)
            # One segment before searches see it: one points tree, one postings list and doc-values run per field,
            # and facet counts by segment ordinals with no global-ordinal mapping. Merged before the alias moves, so
            # no search waits for it; a 1M index stays far below the 5 GB at which merges would pass a segment by.
            self._call("force merge", self.engine.force_merge, name)
            # One atomic call: searches see the old index or the new one, never neither.
            self._call("alias swap", self.engine.update_aliases, actions)
        except BaseException:
            # Best effort: the error that stopped the load is the one to report. The alias still names the old index.
            with contextlib.suppress(Exception):
                self.engine.delete_index(name)
            raise
        for index in old:
            self._call("old index removal", self.engine.delete_index, index)
        return count

    def _load(self, name: str, documents: Iterable[dict[str, Any]], progress: Any) -> int:
        """Bulk-load ``documents`` into ``name``; return how many the engine acknowledged.

        The calling thread iterates ``documents`` (which may read the app database) and hands chunks through a
        bounded queue to REINDEX_SENDERS threads that encode and send them, so building the next chunk overlaps the
        engine indexing the previous ones. The first failure stops the load and is re-raised here; ``progress`` is
        called in this thread with the number of documents acknowledged.
        """
        client, extra = self.engine.bulk_target()
        chunks: queue.Queue[list[dict[str, Any]] | None] = queue.Queue(maxsize=REINDEX_SENDERS)
        results: queue.SimpleQueue[int | BaseException] = queue.SimpleQueue()
        failed = threading.Event()

        def send_chunks() -> None:
            while (chunk := chunks.get()) is not None:
                if failed.is_set():
                    continue  # keep draining so the producer never blocks on a full queue
                try:
                    results.put(self._send_chunk(client, extra, name, chunk))
                except BaseException as exc:  # handed to the calling thread, re-raised there
                    failed.set()
                    results.put(exc)

        senders = [threading.Thread(target=send_chunks, name=f"reindex-sender-{i}", daemon=True)
                   for i in range(REINDEX_SENDERS)]
        for sender in senders:
            sender.start()
        count = 0
        error: BaseException | None = None

        def collect() -> None:
            nonlocal count, error
            while True:
                try:
                    result = results.get_nowait()
                except queue.Empty:
                    return
                if isinstance(result, BaseException):
                    error = error or result
                else:
                    count += result
                    if progress:
                        progress(result)

        try:
            chunk: list[dict[str, Any]] = []
            for document in documents:
                chunk.append(document)
                if len(chunk) >= REINDEX_CHUNK:
                    chunks.put(chunk)
                    chunk = []
                    collect()
                    if error is not None:
                        break
            else:
                if chunk:
                    chunks.put(chunk)
        except BaseException:
            failed.set()
            raise
        finally:
            for _ in senders:
                chunks.put(None)
            for sender in senders:
                sender.join()
            collect()
        if error is not None:
            raise error
        return count

    def _send_chunk(self, client: Any, extra: dict[str, Any], name: str, chunk: list[dict[str, Any]]) -> int:
        """Index one chunk of documents into ``name``; return how many were acknowledged.

        One pre-encoded bulk request first. If the engine rejects any document, or the whole request with 429,
        the chunk goes again through the client's streaming_bulk: it retries 429s with backoff, and BulkIndexError
        is raised for documents that still fail (the accepted ones come back as conflicts at their own version).
        """
        encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=self.engine.json_default).encode
        body = "".join(f'{{"index":{{"_id":{encode(str(d["id"]))}{_version_meta(d)}}}}}\n{encode(d)}\n'
                       for d in chunk).encode("utf-8", "surrogatepass")
        try:
            response = self.engine.bulk_raw(client, extra, name, body)
        except self.engine.errors as exc:
            if not retryable(exc):
                raise
        else:
            if response.get("errors") is False:
                return len(chunk)
        # Some or all documents were not acknowledged: resend them one by one with backoff. A document the first
        # request did index comes back as "already newer" at its own version.
        outcome = bulk_until_acknowledged(
            lambda actions: self.engine.bulk_items(client, extra, actions),
            [_bulk_action(name, Change(d["id"], d, d.get("version"))) for d in chunk],
            errors=self.engine.errors, accepted=lambda _op, info: _already_newer(info),
            budget_s=REINDEX_RETRY_BUDGET_S)
        failures = {**outcome.refused, **outcome.unfinished}
        if failures:
            doc_id, why = next(iter(failures.items()))
            raise SearchUnavailable(
                f"{self.name} rebuild stopped: {len(failures)} of {len(chunk)} documents not acknowledged after "
                f"{outcome.attempts} attempts (document {doc_id}: {why}); searches stay on the previous index")
        return len(outcome.acknowledged)

    def refresh(self) -> None:
        """Make every acknowledged write visible to searches now (tests and benchmarks)."""
        self._call("refresh", self.engine.refresh, self.alias)

    def search(self, query: SearchQuery) -> SearchPage:
        """Run ``query`` and map hits, distances and the asked facets' buckets."""
        started = time.perf_counter()
        response = self._call("search", self.engine.search, self.alias, build_search_body(query))
        hits = [_hit(h, query) for h in response["hits"].get("hits", ())]
        aggregations = response.get("aggregations", {})
        facets = {name: {b["key"]: b["doc_count"] for b in aggregations.get(name, {}).get("buckets", ())}
                  for name in query.facets}
        return SearchPage(hits=hits, total=int(response["hits"]["total"]["value"]), facets=facets,
                          took_ms=(time.perf_counter() - started) * 1000, engine_took_ms=float(response.get("took", 0)))

    def suggest(self, prefix: str, limit: int = 8) -> list[str]:
        """Return practitioner names completing ``prefix`` (completion suggester)."""
        from search.text import fold

        body = {"_source": ["display_name"], "suggest": {"names": {"prefix": fold(prefix.strip()),
                "completion": {"field": "name_suggest", "size": limit, "skip_duplicates": True}}}}
        response = self._call("suggest", self.engine.suggest, self.alias, body)
        return [o["_source"]["display_name"] for o in response["suggest"]["names"][0]["options"]]

    def count(self) -> int:
        """Return the number of documents behind the alias."""
        return int(self._call("count", self.engine.count, self.alias))

    def health(self) -> dict[str, Any]:
        """Report cluster status and document count, or unavailable with the reason."""
        try:
            health = self._call("health", self.engine.health)
            return {"status": "ok" if health["status"] in ("green", "yellow") else "unavailable", "backend": self.name,
                    "cluster_status": health["status"], "documents": self.count()}
        except SearchUnavailable as exc:
            return {"status": "unavailable", "backend": self.name, "error": str(exc)}

    def close(self) -> None:
        """Close the clients' connections."""
        self.engine.close()


def _bulk_action(index: str, change: Change) -> dict[str, Any]:
    """Return the bulk action writing or deleting one document, externally versioned when the change has a version."""
    action: dict[str, Any] = {"_index": index, "_id": str(change.doc_id)}
    if change.document is None:
        action["_op_type"] = "delete"
    else:
        action.update(_op_type="index", _source=change.document)
    if change.version is not None:
        action.update(_version=change.version, _version_type="external")
    return action


def _version_meta(document: dict[str, Any]) -> str:
    """Return the external-version part of a pre-encoded bulk action line ("" for an unversioned document)."""
    version = document.get("version")
    return f',"version":{int(version)},"version_type":"external"' if version is not None else ""


def _accepted(op: str, info: dict[str, Any]) -> bool:
    """Tell whether a refused bulk item still leaves the index as wanted: a delete of a missing document, or a newer
    version already held."""
    return (op == "delete" and info.get("status") == 404) or _already_newer(info)


def _already_newer(info: dict[str, Any]) -> bool:
    """Tell whether a bulk item was refused because the engine holds an equal or newer external version."""
    error = info.get("error")
    return info.get("status") == 409 and isinstance(error, dict) and error.get("type") == "version_conflict_engine_exception"


def _hit(raw: dict[str, Any], query: SearchQuery) -> SearchHit:
    """Return one SearchHit, reading the distance from the geo sort value."""
    doc_id = int(raw["_id"])
    distance = None
    if query.has_origin:
        # The _geo_distance sort is always present with an origin; it is the one float among the sort values after
        # the boolean/score/rating keys, found by position from the end (before the id tie-breaker).
        distance = float(raw["sort"][-2]) / 1000  # metres (search.query.build_sort)
    highlight = " … ".join(f for fragments in raw.get("highlight", {}).values() for f in fragments)
    return SearchHit(id=doc_id, distance_km=distance, score=float(raw.get("_score") or 0.0), highlight=highlight)
