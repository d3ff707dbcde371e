"""Serve an app over real HTTP: waitress in a thread on a free local port."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import Flask


@contextmanager
def serving(app: Flask, threads: int = 6) -> Iterator[str]:
    """Serve ``app`` with waitress on 127.0.0.1 and a free port; yield its base URL, stop it afterwards."""
    from waitress.server import create_server

    server: Any = create_server(app, host="127.0.0.1", port=0, threads=threads)
    thread = threading.Thread(target=server.run, name="test-waitress", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.effective_port}"
    finally:
        server.close()
        thread.join(timeout=5)
