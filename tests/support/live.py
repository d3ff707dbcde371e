"""Serve an app over real HTTP: waitress in a thread on a free local port."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import Flask


@contextmanager
def serving(app: Flask, threads: int = 6) -> Iterator[str]:
    """Serve ``app`` with waitress on 127.0.0.1 and a free port; yield its base URL, stop it afterwards.

    The loop is stopped before any socket is closed: closing them under a running ``select``
    (waitress's own ``server.close()`` leaves client channels and the loop behind) made a later
    test fail on the orphaned thread's "Bad file descriptor".
    """
    from waitress import wasyncore
    from waitress.server import create_server

    server: Any = create_server(app, host="127.0.0.1", port=0, threads=threads)
    stop = threading.Event()

    def run() -> None:
        while not stop.is_set():
            wasyncore.loop(timeout=0.05, map=server._map, count=1)

    thread = threading.Thread(target=run, name="test-waitress", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.effective_port}"
    finally:
        stop.set()
        thread.join(timeout=5)
        server.task_dispatcher.shutdown()
        wasyncore.close_all(server._map)
