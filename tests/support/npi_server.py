"""A local HTTP server that answers like the NPPES NPI Registry API v2.1, for tests of the real client.

Responses follow the registry's JSON shape: ``{"result_count": N, "results": [...]}`` with
``basic``, ``taxonomies`` and ``addresses`` per record, or ``{"Errors": [...]}`` (sent with
HTTP 200, as the registry does). Faults are scripted per NPI: a delay (timeout), a status
(5xx), or a raw body (malformed JSON).
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

from flask import Flask

ACUPUNCTURIST = "171100000X"


def npi_record(number: str, first: str = "MEI", last: str = "CHEN", *, state: str = "MA", licence: str = "AC12345",
               city: str = "CAMBRIDGE", postal_code: str = "021391234", sex_key: str = "sex", sex: str = "F",
               status: str = "A", taxonomy: str = ACUPUNCTURIST, enumeration_type: str = "NPI-1") -> dict[str, Any]:
    """Return one registry record in the v2.1 shape (an individual acupuncturist by default)."""
    return {
        "created_epoch": "1183680000000",
        "enumeration_type": enumeration_type,
        "last_updated_epoch": "1269302400000",
        "number": number,
        "addresses": [
            {"country_code": "US", "country_name": "United States", "address_purpose": "LOCATION",
             "address_type": "DOM", "address_1": "1 MAIN ST", "address_2": "", "city": city, "state": state,
             "postal_code": postal_code, "telephone_number": "617-555-0100"},
            {"country_code": "US", "country_name": "United States", "address_purpose": "MAILING",
             "address_type": "DOM", "address_1": "PO BOX 9", "address_2": "", "city": "BOSTON", "state": "MA",
             "postal_code": "02101", "telephone_number": "617-555-0101"},
        ],
        "practiceLocations": [],
        "basic": {"first_name": first, "last_name": last, "middle_name": "", "credential": "L.AC.",
                  "sole_proprietor": "YES", sex_key: sex, "enumeration_date": "2007-07-06",
                  "last_updated": "2010-03-23", "status": status},
        "taxonomies": [{"code": taxonomy, "taxonomy_group": "", "desc": "Acupuncturist", "state": state,
                        "license": licence, "primary": True}],
        "identifiers": [],
        "endpoints": [],
        "other_names": [],
    }


def found(*records: dict[str, Any]) -> dict[str, Any]:
    """Return a registry body with these records."""
    return {"result_count": len(records), "results": list(records)}


NOT_FOUND: dict[str, Any] = {"result_count": 0, "results": []}
INVALID_NUMBER: dict[str, Any] = {"Errors": [{"description": "Field number must be 10 digits", "field": "number",
                                              "number": "05"}]}


@dataclass
class Scripted:
    """How the server answers one NPI."""

    body: Any = None
    status: int = 200
    delay: float = 0.0
    raw: bytes | None = None
    times: int | None = None  # answer like this only N times, then fall back to the default


class FakeNpiRegistry:
    """The server: script answers per NPI with ``answer``; every request is kept in ``requests``."""

    def __init__(self) -> None:
        self.scripts: dict[str, list[Scripted]] = {}
        self.requests: list[dict[str, list[str]]] = []
        self.default = Scripted(body=NOT_FOUND)
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="fake-npi-registry", daemon=True)

    @property
    def url(self) -> str:
        """Return the base URL to configure as NPI_REGISTRY_URL."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/api/"

    def start(self) -> FakeNpiRegistry:
        """Start serving in a background thread."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self._server.shutdown()
        self._server.server_close()

    def answer(self, number: str, *scripts: Scripted) -> None:
        """Script the answers for ``number``, used in order (the last one repeats)."""
        with self._lock:
            self.scripts[number] = list(scripts)

    def reset(self) -> None:
        """Forget scripts and recorded requests."""
        with self._lock:
            self.scripts.clear()
            self.requests.clear()

    def _next(self, number: str) -> Scripted:
        """Return the answer for ``number`` (consuming limited ones)."""
        with self._lock:
            queue = self.scripts.get(number)
            if not queue:
                return self.default
            script = queue[0]
            if script.times is not None:
                script.times -= 1
                if script.times <= 0 and len(queue) > 1:
                    queue.pop(0)
            return script

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        registry = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                super().setup()
                # Headers and body go out in two writes: without this, Nagle's algorithm and delayed
                # ACKs add ~40 ms to every keep-alive request.
                self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def do_GET(self) -> None:  # noqa: N802  (http.server's naming)
                query = parse_qs(urlparse(self.path).query)
                with registry._lock:
                    registry.requests.append(query)
                script = registry._next((query.get("number") or [""])[0])
                if script.delay:
                    time.sleep(script.delay)
                payload = script.raw if script.raw is not None else json.dumps(script.body).encode()
                try:
                    self.send_response(script.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up waiting (a timeout test)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                """Keep the test output quiet."""

        return Handler


@contextmanager
def running_registry(app: Flask, **config: Any) -> Iterator[FakeNpiRegistry]:
    """Run a fake registry and point the app's NPI client at it (short timeouts, no backoff sleeps)."""
    registry = FakeNpiRegistry().start()
    settings = {"NPI_REGISTRY_URL": registry.url, "NPI_REGISTRY_TIMEOUT_S": 0.5, "NPI_REGISTRY_RETRIES": 2,
                "NPI_REGISTRY_BACKOFF_S": 0.0, **config}
    previous = {key: app.config[key] for key in settings if key in app.config}
    app.config.update(settings)
    try:
        yield registry
    finally:
        for key in settings:
            app.config.pop(key, None)
        app.config.update(previous)
        registry.stop()
