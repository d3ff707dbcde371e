"""Cluster benchmark: a 3-node cluster loses a node, is rebuilt into, and gets the node back, under searches and writes.

Not a test. Run from the repository root, e.g.::

    .venv/bin/python bench/cluster.py --size 10000 --engines elasticsearch,opensearch --duration 90

Per engine: start a 3-node cluster (engine.start_*_cluster), rebuild the index from a seeded benchmark database,
then for ``--duration`` seconds run searcher threads (the bench/search.py query mix, through the app: JSON API and
every fifth request the HTML page) and a writer editing profiles (committed to the database, synced by the
production outbox worker thread). At t=1/3 the node holding the primary is SIGKILLed, at t=1/2 `reindex_all` runs
(on the two surviving nodes), at t=2/3 the node is restarted on its data and the cluster waited green. Prints one
table per engine (also written to bench/results/cluster-N.txt). See bench/README.md.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Run as a script, bench/ is sys.path[0] and its search.py would shadow the `search` package.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))

import argparse  # noqa: E402
import os  # noqa: E402
import random  # noqa: E402
import time  # noqa: E402
import urllib.parse  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from typing import Any  # noqa: E402

from flask import Flask  # noqa: E402
from sqlalchemy import select  # noqa: E402

from bench.cluster_stream import Sample, Stream, lost_writes, retry_when_locked  # noqa: E402
from bench.search import _seeded, _workdir, build_mix, sample_last_names, say  # noqa: E402
from bench.stats import percentile  # noqa: E402
from directory import create_app  # noqa: E402
from directory.extensions import db  # noqa: E402
from directory.indexing.services import reindex_all  # noqa: E402
from directory.practitioners.models import Practitioner  # noqa: E402
from engine import Cluster, ClusterNode, start_elasticsearch_cluster, start_opensearch_cluster  # noqa: E402

STARTERS = {"elasticsearch": start_elasticsearch_cluster, "opensearch": start_opensearch_cluster}
WRITTEN_PRACTITIONERS = 200
WARMUP_SEARCHES = 150


@dataclass
class Run:
    """What one engine's scenario measured."""

    kind: str
    samples: list[Sample] = field(default_factory=list)
    marks: dict[str, float] = field(default_factory=dict)
    writes_sent: int = 0
    write_errors: int = 0
    lost: int = 0
    drain_s: float = 0.0
    reindex_s: float = 0.0
    reindexed: int = 0
    to_green_s: float = 0.0
    victim: str = ""
    loadavg: str = ""
    errors: list[str] = field(default_factory=list)


def make_app(workdir: Path, kind: str, url: str) -> Flask:
    """Return an app on the benchmark database searching the cluster at ``url`` (all its nodes), as in production."""
    return create_app({
        "SECRET_KEY": "bench-secret-key",
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{workdir / 'meridian.db'}",
        "INSTANCE_DIR": workdir,
        "SEARCH_BACKEND": kind,
        "SEARCH_URL": url,
        "SEARCH_INDEX_PREFIX": f"benchcluster{os.getpid()}",
        "RATELIMIT_ENABLED": False,  # many searches from one client are the point here
        "SEARCH_TIMEOUT_S": 5.0,  # the production default: a dead or frozen node must cost a retry, not the page
    })


def search_paths(app: Flask, count: int) -> list[str]:
    """Return the bench/search.py mix as request paths: the JSON API, and every fifth one the HTML search page."""
    names = sample_last_names(app, random.Random(11), 50)
    paths = []
    for n, params in enumerate(build_mix(count, names)):
        query = urllib.parse.urlencode(params)
        paths.append(f"/search?{query}" if n % 5 == 4 else f"/api/v1/practitioners/search?{query}")
    return paths


def primary_holder(cluster: Cluster, backend: Any) -> ClusterNode:
    """Return the node holding the primary shard behind the backend's alias."""
    rows = backend.engine.client.cat.shards(index=backend.alias, format="json")
    names = {row["node"] for row in rows if row["prirep"] == "p"}
    return next(node for node in cluster.nodes if node.name in names)


def scenario(kind: str, workdir: Path, duration: float, heap: str, searchers: int) -> Run:
    """Run the kill / reindex / restart scenario on a fresh 3-node cluster of ``kind``; return what it measured."""
    run = Run(kind)
    cluster = STARTERS[kind](3, heap=heap, progress=say)
    app = make_app(workdir, kind, cluster.url)
    try:
        backend = app.extensions["search"].backend()
        with app.app_context():
            backend.ensure_index()
            started = time.monotonic()
            count = reindex_all(backend)
            say(f"{kind}: indexed {count:,} in {time.monotonic() - started:.1f}s")
            ids = list(db.session.scalars(select(Practitioner.id).order_by(Practitioner.id).limit(WRITTEN_PRACTITIONERS)))
        paths = search_paths(app, 300)
        client = app.test_client()
        for path in paths[:WARMUP_SEARCHES]:  # a fresh JVM compiles its search paths over the first queries
            client.get(path)
        stream = Stream(app, ids, paths, searchers=searchers, write_pause_s=0.1, max_seconds=duration + 900)
        victim = primary_holder(cluster, backend)
        run.victim = victim.name
        t0 = time.monotonic()
        run.marks["start"] = t0
        stream.start()
        try:
            _until(t0 + duration / 3)
            run.marks["kill"] = time.monotonic()
            victim.kill()
            say(f"{kind}: killed {victim.name} at t={time.monotonic() - t0:.1f}s")
            _until(t0 + duration / 2)
            started = time.monotonic()
            run.reindexed = retry_when_locked(app, lambda: reindex_all(backend))
            run.reindex_s = time.monotonic() - started
            say(f"{kind}: reindexed {run.reindexed:,} on two nodes in {run.reindex_s:.1f}s")
            _until(t0 + 2 * duration / 3)
            started = time.monotonic()
            victim.restart(len(cluster.nodes))
            cluster.wait_for_status("green", timeout=300)
            run.to_green_s = time.monotonic() - started
            run.marks["green"] = time.monotonic()
            say(f"{kind}: {victim.name} back, green {run.to_green_s:.1f}s after its restart began")
            # On a busy machine the reindex and the restart can outlast their thirds: keep a last sixth after green.
            _until(max(t0 + duration, time.monotonic() + duration / 6))
        finally:
            run.drain_s = stream.stop(drain_timeout_s=300)
        run.samples, run.writes_sent, run.write_errors = stream.samples, stream.writes_sent, len(stream.write_errors)
        run.lost = len(lost_writes(app, ids))
    finally:
        run.loadavg = Path("/proc/loadavg").read_text().split(" ")[0]
        for index in app.extensions["search"].backend().engine.alias_targets(app.extensions["search"].backend().alias):
            app.extensions["search"].backend().engine.delete_index(index)
        app.extensions["search"].close()
        cluster.stop()
    return run


def _until(moment: float) -> None:
    """Sleep until the monotonic ``moment`` (at once if it has passed)."""
    time.sleep(max(0.0, moment - time.monotonic()))


def table(run: Run, size: int) -> str:
    """Return the report of one run."""
    kill, green = run.marks.get("kill", float("inf")), run.marks.get("green", float("inf"))
    phases = {"before the kill": (0.0, kill), "node down → green": (kill, green), "after green": (green, float("inf"))}
    refused = sum(1 for s in run.samples if s.status == 400)
    lines = [f"{run.kind}, {size:,} practitioners, 3 nodes (killed {run.victim}); load average (1 min) at the end "
             f"{run.loadavg}",
             f"(searches ok include {refused} answered 400: pages past the last one, as in bench/search.py's mix)",
             "| phase | searches ok | failed | p50 ms | p95 ms | p99 ms |", "|---|---:|---:|---:|---:|---:|"]
    for label, (since, until) in phases.items():
        chosen = [s for s in run.samples if since <= s.at < until]
        ok = [s.ms for s in chosen if s.ok]
        lines.append(f"| {label} | {len(ok)} | {len(chosen) - len(ok)} | {percentile(ok, 50):.1f} | "
                     f"{percentile(ok, 95):.1f} | {percentile(ok, 99):.1f} |")
    acknowledged = run.writes_sent - run.lost
    lines += ["", "| writes sent | acknowledged | lost | write errors | outbox drained after stop | reindex (2 nodes) "
                  "| restart → green |", "|---:|---:|---:|---:|---:|---:|---:|",
              f"| {run.writes_sent} | {acknowledged} | {run.lost} | {run.write_errors} | {run.drain_s:.1f} s | "
              f"{run.reindexed:,} docs in {run.reindex_s:.1f} s | {run.to_green_s:.1f} s |"]
    failures = [s for s in run.samples if not s.ok]
    if failures:
        lines += ["", "failed searches (first 5):", *(f"  {s.status} {s.path[:80]} {s.error[:120]}" for s in failures[:5])]
    return "\n".join(lines)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Read the command line."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--size", type=int, default=10_000, help="practitioners in the seeded database")
    p.add_argument("--engines", default="elasticsearch,opensearch")
    p.add_argument("--duration", type=float, default=90.0, help="seconds of searches and writes per engine")
    p.add_argument("--searchers", type=int, default=2, help="searcher threads")
    p.add_argument("--heap", default="512m", help="heap of each node")
    p.add_argument("--keep", type=Path, help="seed into KEEP/N and reuse it (as bench/search.py --keep)")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Seed (or reuse) the database, run the scenario per engine, print and write the tables."""
    args = parse_args(argv)
    reports, lost_or_failed = [], False
    with _workdir(args.size, args.keep) as workdir:
        _seeded(workdir, args.size)
        for kind in args.engines.split(","):
            run = scenario(kind.strip(), workdir, args.duration, args.heap, args.searchers)
            report = table(run, args.size)
            say("\n" + report + "\n")
            reports.append(report)
            lost_or_failed |= run.lost > 0 or any(not s.ok for s in run.samples)
    out = ROOT / "bench" / "results" / f"cluster-{args.size}.txt"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n\n".join(reports) + "\n")
    say(f"written to {out}")
    return 1 if lost_or_failed else 0


if __name__ == "__main__":
    sys.exit(main())
