"""bench/search.py names the engine version in its report, also for a node without a root endpoint."""

from __future__ import annotations

import json
from http.server import BaseHTTPRequestHandler
from types import ModuleType

from tests.support.local_http import serving


def _node(root: bytes | None, nodes: dict[str, object]) -> type[BaseHTTPRequestHandler]:
    class Node(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            if self.path == "/" and root is not None:
                self._answer(200, root)
            elif self.path == "/":  # the integ-test distribution: no handler for GET /
                self._answer(405, b'{"error":"Incorrect HTTP method for uri [/] and method [GET]","status":405}')
            elif self.path.startswith("/_nodes/_local?filter_path=nodes.%2A.version"):
                self._answer(200, json.dumps({"nodes": nodes}).encode())
            else:
                self._answer(404, b"{}")

        def _answer(self, status: int, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    return Node


def test_the_root_endpoint_names_the_version(bench: ModuleType) -> None:
    with serving(_node(b'{"version": {"number": "3.9.0", "distribution": "opensearch"}}', {})) as url:
        assert bench.engine_version(url, "opensearch version unknown") == "3.9.0"


def test_a_node_without_a_root_endpoint_is_asked_for_its_node_info(bench: ModuleType) -> None:
    with serving(_node(None, {"abc": {"version": "9.5.4"}})) as url:
        assert bench.engine_version(url, "elasticsearch version unknown") == "9.5.4"


def test_mixed_versions_or_no_answer_fall_back(bench: ModuleType) -> None:
    with serving(_node(None, {"a": {"version": "9.5.4"}, "b": {"version": "9.5.3"}})) as mixed:
        assert bench.engine_version(mixed, "unknown") == "unknown"
    assert bench.engine_version("http://127.0.0.1:9", "unknown") == "unknown"  # nothing listens on port 9
