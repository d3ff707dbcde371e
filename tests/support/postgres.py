"""A throwaway PostgreSQL cluster for the test session (Debian's postgresql package)."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path


class PostgresUnavailable(RuntimeError):
    """PostgreSQL binaries are missing or the cluster did not start."""


def _bindir() -> Path:
    """Return the directory holding initdb and pg_ctl."""
    found = shutil.which("pg_ctl")
    if found and shutil.which("initdb"):
        return Path(os.path.realpath(found)).parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    if not candidates:
        raise PostgresUnavailable("PostgreSQL is not installed (apt-get install postgresql)")
    return Path(candidates[-1]).parent


def _free_port() -> int:
    """Return a free TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class PostgresCluster:
    """A running cluster; ``url`` points at an empty database."""

    url: str
    data_dir: Path
    bindir: Path
    as_user: list[str]

    def stop(self) -> None:
        """Stop the server and remove its files."""
        subprocess.run([*self.as_user, str(self.bindir / "pg_ctl"), "-D", str(self.data_dir), "-m", "immediate", "stop"],
                       capture_output=True, check=False)
        shutil.rmtree(self.data_dir.parent, ignore_errors=True)


def start_cluster() -> PostgresCluster:
    """Create and start a cluster on a free port with fsync off (test data is disposable)."""
    bindir = _bindir()
    base = Path(tempfile.mkdtemp(prefix="meridian-pg-"))
    data, sockets = base / "data", base / "sock"
    sockets.mkdir()
    # PostgreSQL refuses to run as root; run it as the package's postgres user then.
    as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    if as_user:
        shutil.chown(base, "postgres")
        shutil.chown(sockets, "postgres")
    port = _free_port()
    steps = [
        [*as_user, str(bindir / "initdb"), "-D", str(data), "-U", "meridian", "--auth=trust", "-E", "UTF8", "--no-sync"],
        [*as_user, str(bindir / "pg_ctl"), "-D", str(data), "-l", str(base / "server.log"), "-w", "-t", "60", "-o",
         f"-p {port} -k {sockets} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off "
         "-c full_page_writes=off", "start"],
    ]
    for step in steps:
        done = subprocess.run(step, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            log = (base / "server.log").read_text() if (base / "server.log").exists() else ""
            raise PostgresUnavailable(f"{' '.join(step[:4])} failed: {done.stderr.strip()} {log[-2000:]}")
    subprocess.run([*as_user, str(bindir / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "meridian", "meridian_test"],
                   capture_output=True, check=True)
    return PostgresCluster(f"postgresql+psycopg://meridian@127.0.0.1:{port}/meridian_test", data, bindir, as_user)
