"""Hold a SQLite database's lock from another connection, as a long write elsewhere would."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa


@contextmanager
def lock_held(url: str, *, release_after_s: float | None = None, readers_too: bool = False) -> Iterator[None]:
    """Hold the write lock of the SQLite database at ``url`` from another thread's own sqlite3 connection.

    The lock is taken before the block starts and released when it ends, or after ``release_after_s`` seconds.
    ``readers_too`` takes it in EXCLUSIVE locking mode, which in WAL mode shuts out readers as well (a
    connection that keeps the file to itself), so even a GET meets "database is locked".
    """
    path = sa.engine.make_url(url).database
    taken, release = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def hold() -> None:
        conn = sqlite3.connect(str(path), isolation_level=None, timeout=5)
        try:
            if readers_too:
                conn.execute("PRAGMA locking_mode=EXCLUSIVE")
            conn.execute("BEGIN EXCLUSIVE" if readers_too else "BEGIN IMMEDIATE")
            conn.execute("UPDATE method SET name = name")  # a real pending write, as a bulk import's would be
            taken.set()
            release.wait(release_after_s)
            conn.execute("ROLLBACK")
        except sqlite3.Error as exc:
            errors.append(exc)
            taken.set()
        finally:
            conn.close()

    holder = threading.Thread(target=hold, name="lock-holder")
    holder.start()
    taken.wait()
    try:
        if errors:
            raise errors[0]
        yield
    finally:
        release.set()
        holder.join()
