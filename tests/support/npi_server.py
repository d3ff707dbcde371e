"""A local HTTP server that answers like the NPPES NPI Registry API v2.1, for tests of the real client.

Lookups by ``number`` answer scripted records; searches (no ``number``) page through ``listed``
with the API's filters (state, city, postal code with a trailing ``*``), its ``limit`` <= 200
and ``skip`` <= 1000 bounds, and scripted faults per query (``search_answer``).

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
        self.listed: list[dict[str, Any]] = []
        self.search_scripts: list[tuple[dict[str, str], Scripted]] = []
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

    def search_answer(self, match: dict[str, str], script: Scripted) -> None:
        """Answer searches whose query has all of ``match`` (e.g. ``{"postal_code": "021*"}``) with ``script``."""
        with self._lock:
            self.search_scripts.append((match, script))

    def reset(self) -> None:
        """Forget scripts, listed records and recorded requests."""
        with self._lock:
            self.scripts.clear()
            self.requests.clear()
            self.listed.clear()
            self.search_scripts.clear()

    def searches(self) -> list[dict[str, str]]:
        """Return the search requests received so far, one value per parameter."""
        with self._lock:
            return [{k: v[0] for k, v in q.items()} for q in self.requests if "number" not in q]

    def _search(self, query: dict[str, str]) -> Scripted:
        """Answer a search like the registry: filter, then one page, or ``Errors`` for out-of-range paging."""
        with self._lock:
            for match, script in self.search_scripts:
                if all(query.get(k) == v for k, v in match.items()):
                    if script.times is None or script.times > 0:
                        if script.times is not None:
                            script.times -= 1
                        return script
            records = [r for r in self.listed if _matches(r, query)]
        limit, skip = int(query.get("limit", "10")), int(query.get("skip", "0"))
        if limit > 200 or skip > 1000:
            field = "limit" if limit > 200 else "skip"
            return Scripted(body={"Errors": [{"description": f"Field {field} is out of range", "field": field}]})
        page = records[skip:skip + limit]
        return Scripted(body={"result_count": len(page), "results": page})

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
                if "number" in query:
                    script = registry._next(query["number"][0])
                else:
                    script = registry._search({k: v[0] for k, v in query.items()})
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


def _matches(record: dict[str, Any], query: dict[str, str]) -> bool:
    """Tell whether a record matches a search's address filters (on its practice addresses when it has any).

    The registry's ``taxonomy_description`` match is loose (a description, not a code), so it is not applied:
    the importer must check codes itself.
    """
    addresses = record.get("addresses") or []
    places = [a for a in addresses if a.get("address_purpose") == "LOCATION"] or addresses
    postal = query.get("postal_code", "")

    def fits(address: dict[str, Any]) -> bool:
        if query.get("state") and address.get("state") != query["state"]:
            return False
        if query.get("city") and str(address.get("city", "")).upper() != query["city"].upper():
            return False
        code = str(address.get("postal_code", ""))
        return not postal or (code.startswith(postal[:-1]) if postal.endswith("*") else code[:5] == postal[:5])

    return any(fits(a) for a in places)


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
