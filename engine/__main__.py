"""python -m engine {start,fetch,status} -- see engine/README.md."""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
from pathlib import Path

from . import (
    ES_VERSION,
    OS_VERSION,
    Cluster,
    EngineHandle,
    EngineStartError,
    _elasticsearch,
    _opensearch,
    cache_dir,
    cluster_health,
    start_elasticsearch,
    start_elasticsearch_cluster,
    start_opensearch,
    start_opensearch_cluster,
)
from ._common import probe_product
from ._java import find_java_home
from ._maven import find_mvn

KINDS = {"es": "elasticsearch", "os": "opensearch"}


def _say(msg: str) -> None:
    print(f"[engine {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def _which(arg: str) -> list[str]:
    return ["es", "os"] if arg == "all" else [arg]


def _state_file() -> Path:
    return cache_dir() / "running.json"


def cmd_fetch(args: argparse.Namespace) -> int:
    t0 = time.monotonic()
    try:
        _say(f"mvn: {find_mvn()}; cache: {cache_dir()}")
        for kind in _which(args.engine):
            if kind == "es":
                _elasticsearch.fetch(progress=_say)
                _say(f"elasticsearch {ES_VERSION}: {_elasticsearch.home_dir()}")
            else:
                _opensearch.fetch(progress=_say)
                _say(f"opensearch {OS_VERSION}: {_opensearch.build_dir()}")
    except EngineStartError as exc:
        print(f"engine fetch failed: {exc}", file=sys.stderr)
        return 1
    _say(f"done in {time.monotonic() - t0:.1f}s")
    return 0


def cmd_start(args: argparse.Namespace) -> int:
    if args.nodes > 1:
        return cmd_start_cluster(args)
    handles: list[EngineHandle] = []
    data = Path(args.data).resolve() if args.data else None

    def _stop(*_a: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _stop)
    # a shell starting us in the background (`make engine &`) leaves SIGINT ignored
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        for kind in _which(args.engine):
            if kind == "es":
                handles.append(start_elasticsearch(args.es_port, base_dir=data, heap=args.heap, progress=_say))
            else:
                handles.append(start_opensearch(args.os_port, base_dir=data, heap=args.heap, progress=_say))
        _state_file().write_text(
            json.dumps(
                [
                    {
                        "kind": h.kind,
                        "version": h.version,
                        "url": h.url,
                        "pid": h.pid,
                        "log": str(h.log_path),
                        "data": str(h.data_dir),
                    }
                    for h in handles
                ],
                indent=2,
            )
        )
        print()
        for h in handles:
            print(f"  {h.kind:<13} {h.version:<7} {h.url}   log: {h.log_path}")
            print(f"  {'':<13} {'':<7} data: {h.data_dir}{'' if h.persistent else ' (temporary)'}")
        print("\nRunning; Ctrl-C stops.", flush=True)
        while all(h.alive() for h in handles):
            time.sleep(1)
        dead = [h for h in handles if not h.alive()]
        for h in dead:
            print(f"{h.kind} exited (code {h.process.returncode}); log: {h.log_path}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print()
        _say("stopping")
        return 0
    except EngineStartError as exc:
        print(f"engine start failed: {exc}", file=sys.stderr)
        return 1
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not abort the clean stop
        for h in handles:
            h.stop()
        _state_file().unlink(missing_ok=True)
        signal.signal(signal.SIGINT, signal.default_int_handler)


def cmd_start_cluster(args: argparse.Namespace) -> int:
    """Start one cluster of ``--nodes`` nodes per engine asked for, in the foreground until Ctrl-C."""
    clusters: list[Cluster] = []
    data = Path(args.data).resolve() if args.data else None

    def _stop(*_a: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        for kind in _which(args.engine):
            start = start_elasticsearch_cluster if kind == "es" else start_opensearch_cluster
            port = args.es_port if kind == "es" else args.os_port
            if kind == "os" and args.engine == "all" and args.es_port <= port < args.es_port + args.nodes:
                port = args.es_port + 10  # 9201 is taken by the Elasticsearch cluster's second node
            clusters.append(start(args.nodes, port=port, base_dir=data, heap=args.heap, progress=_say))
        print()
        for cl in clusters:
            print(f"  {cl.kind:<13} {cl.version:<7} SEARCH_URL={cl.url}")
            for node in cl.nodes:
                print(f"  {'':<13} {node.name:<7} {node.url}  pid {node.pid}  log: {node.log_path}")
        print("\nRunning; Ctrl-C stops.", flush=True)
        while all(node.alive() for cl in clusters for node in cl.nodes):
            time.sleep(1)
        for cl in clusters:
            for node in cl.nodes:
                if not node.alive():
                    print(f"{cl.kind} {node.name} exited; log: {node.log_path}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print()
        _say("stopping")
        return 0
    except EngineStartError as exc:
        print(f"engine start failed: {exc}", file=sys.stderr)
        return 1
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        for cl in clusters:
            cl.stop()
        signal.signal(signal.SIGINT, signal.default_int_handler)


def cmd_status(args: argparse.Namespace) -> int:
    print(f"cache:          {cache_dir()}")
    try:
        print(f"java (21+):     {find_java_home(engine='the engines')}")
    except EngineStartError as exc:
        print(f"java (21+):     MISSING - {exc}")
    try:
        print(f"mvn:            {find_mvn()}")
    except EngineStartError as exc:
        print(f"mvn:            MISSING - {exc}")
    print(
        f"elasticsearch:  {ES_VERSION} {'fetched' if _elasticsearch.is_fetched() else 'not fetched'}"
        f" ({_elasticsearch.home_dir()})"
    )
    print(
        f"opensearch:     {OS_VERSION} {'built' if _opensearch.is_fetched() else 'not built'}"
        f" ({_opensearch.build_dir()})"
    )
    urls = {f"http://127.0.0.1:{args.es_port}", f"http://127.0.0.1:{args.os_port}"}
    state = _state_file()
    if state.is_file():
        try:
            for entry in json.loads(state.read_text()):
                urls.add(entry["url"])
        except (ValueError, KeyError):
            pass
    for url in sorted(urls):
        health = cluster_health(url, timeout=2.0)
        if health is None:
            print(f"{url}: not answering")
            continue
        product, number = probe_product(url)
        print(f"{url}: {health['status']} cluster={health['cluster_name']} {product} {number}".rstrip())
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m engine", description="Local Elasticsearch/OpenSearch nodes from Maven Central."
    )
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("start", help="start node(s) in the foreground until Ctrl-C")
    s.add_argument("engine", nargs="?", choices=["es", "os", "all"], default="all")
    s.add_argument("--es-port", type=int, default=int(os.environ.get("MERIDIAN_ES_PORT", 9200)))
    s.add_argument("--os-port", type=int, default=int(os.environ.get("MERIDIAN_OS_PORT", 9201)))
    s.add_argument("--data", help="persistent data directory (default: a fresh temporary one per start)")
    s.add_argument("--heap", default="512m")
    s.add_argument("--nodes", type=int, default=1, help="nodes per engine: more than 1 starts a cluster, one JVM each")
    s.set_defaults(func=cmd_start)

    f = sub.add_parser("fetch", help="download/build only (Maven), printing progress")
    f.add_argument("engine", nargs="?", choices=["es", "os", "all"], default="all")
    f.set_defaults(func=cmd_fetch)

    st = sub.add_parser("status", help="what is fetched, what answers on the ports")
    st.add_argument("--es-port", type=int, default=9200)
    st.add_argument("--os-port", type=int, default=9201)
    st.set_defaults(func=cmd_status)

    args = p.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
