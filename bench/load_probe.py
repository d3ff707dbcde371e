"""Where the time goes under load: CPU per process and per thread from /proc, and py-spy samples of the server.

Used by bench/load.py. py-spy comes from .venv-bench (the `bench` extra); without it only the /proc numbers are
reported. Linux only (/proc).
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK")
# What a sampled server thread is doing (py-spy --idle shows waiting threads too): first a marker anywhere on the
# stack, then the innermost frames.
ANYWHERE = (
    ("SQLite write lock (BEGIN IMMEDIATE)", "directory/extensions.py", "_sqlite_begin"),
    ("rate limiter memory:// starting a Timer thread", "limits/storage/memory.py", ""),
    ("password hashing (argon2)", "argon2", ""),
    ("embedded search (SQLite FTS5 + points)", "search/backends/embedded.py", ""),
    ("engine HTTP (waiting for the node)", "elastic_transport", ""),
    ("engine HTTP (waiting for the node)", "opensearchpy", ""),
)
INNERMOST = (
    ("waiting for a request", ("waitress/task.py", "handler_thread"), ("threading.py", "wait")),
    ("SQLite (database call)", ("sqlalchemy/engine/default.py", "do_"), ("sqlalchemy/engine/cursor.py", "fetch"),
     ("sqlalchemy/pool", "connect"), ("sqlite3", "")),
)


def proc_cpu_s(pid: int) -> float:
    """Return the CPU seconds (user + system) process ``pid`` has used, all threads; 0 when it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICKS


def with_descendants(pid: int) -> list[int]:
    """Return ``pid`` and every process below it (Elasticsearch's launcher starts the server JVM as a child)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            children.setdefault(int(stat.read_text().rsplit(")", 1)[1].split()[1]), []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(children.get(current, []))
    return found


def thread_cpu_s(pid: int) -> dict[int, float]:
    """Return CPU seconds per thread id of process ``pid``."""
    out: dict[int, float] = {}
    with contextlib.suppress(OSError):
        for task in Path(f"/proc/{pid}/task").iterdir():
            with contextlib.suppress(OSError, IndexError):
                fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
                out[int(task.name)] = (int(fields[11]) + int(fields[12])) / TICKS
    return out


def machine_busy_s() -> tuple[float, float]:
    """Return (busy, total) CPU seconds of the whole machine since boot, all cores."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]
    return (sum(values) - idle) / TICKS, sum(values) / TICKS


def load_average() -> float:
    """Return the 1-minute load average."""
    return float(Path("/proc/loadavg").read_text().split()[0])


@dataclass
class CpuWindow:
    """CPU used by named processes (and the server's busiest thread) between start() and stop(), as % of one core."""

    pids: dict[str, list[int]]
    thread_pid: int | None = None
    percent: dict[str, float] = field(default_factory=dict)
    busiest_thread_percent: float = 0.0
    machine_percent: float = 0.0
    _start: dict[str, float] = field(default_factory=dict)
    _threads: dict[int, float] = field(default_factory=dict)
    _machine: tuple[float, float] = (0.0, 0.0)
    _t0: float = 0.0

    def start(self) -> None:
        """Take the first reading."""
        self._t0 = time.monotonic()
        self._start = {name: sum(proc_cpu_s(p) for p in pids) for name, pids in self.pids.items()}
        self._threads = thread_cpu_s(self.thread_pid) if self.thread_pid else {}
        self._machine = machine_busy_s()

    def stop(self) -> None:
        """Take the second reading and compute the percentages."""
        wall = max(time.monotonic() - self._t0, 1e-6)
        self.percent = {name: 100 * (sum(proc_cpu_s(p) for p in pids) - self._start[name]) / wall
                        for name, pids in self.pids.items()}
        if self.thread_pid:
            now = thread_cpu_s(self.thread_pid)
            deltas = [now[tid] - before for tid, before in self._threads.items() if tid in now]
            self.busiest_thread_percent = 100 * max(deltas, default=0.0) / wall
        busy, total = machine_busy_s()
        self.machine_percent = 100 * (busy - self._machine[0]) / max(total - self._machine[1], 1e-6)


@dataclass
class Profile:
    """What py-spy saw in one server process over a window."""

    seconds: float
    rate: int
    gil_samples: int = 0
    own: Counter[str] = field(default_factory=Counter)
    app_inclusive: Counter[str] = field(default_factory=Counter)
    states: Counter[str] = field(default_factory=Counter)
    error: str = ""

    @property
    def gil_percent(self) -> float:
        """Return the share of wall time some thread of the process held the GIL."""
        return 100 * self.gil_samples / max(self.seconds * self.rate, 1)


def py_spy_path() -> Path | None:
    """Return the py-spy of .venv-bench, or None when it is not installed."""
    path = Path(__file__).resolve().parent.parent / ".venv-bench" / "bin" / "py-spy"
    return path if path.exists() else None


class Spy:
    """Two py-spy recordings of one process, side by side: GIL holders, and every thread (idle too)."""

    def __init__(self, pid: int, seconds: float, out_dir: Path, label: str, rate: int = 50) -> None:
        self.profile = Profile(seconds=seconds, rate=rate)
        self.files = (out_dir / f"pyspy-{label}-gil.txt", out_dir / f"pyspy-{label}-threads.txt")
        self.procs: list[subprocess.Popen[bytes]] = []
        spy = py_spy_path()
        if spy is None:
            self.profile.error = "py-spy not installed (make bench-venv)"
            return
        common = [str(spy), "record", "--pid", str(pid), "--duration", str(max(1, int(seconds))), "--rate",
                  str(rate), "--format", "raw", "--nonblocking"]
        for extra, path in ((["--gil"], self.files[0]), (["--idle", "--threads"], self.files[1])):
            self.procs.append(subprocess.Popen([*common, *extra, "--output", str(path)],
                                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE))

    def finish(self) -> Profile:
        """Wait for both recordings and read them."""
        for proc in self.procs:
            try:
                _, err = proc.communicate(timeout=self.profile.seconds + 30)
            except subprocess.TimeoutExpired:
                proc.kill()
                _, err = proc.communicate()
            if proc.returncode and not self.profile.error:
                self.profile.error = err.decode(errors="replace").strip().splitlines()[-1:][0] if err else "failed"
        if self.procs and not self.profile.error:
            self._read()
        return self.profile

    def _read(self) -> None:
        """Fold the raw stacks (``frame;frame;... count``) into leaf functions, app functions and thread states."""
        for line in _lines(self.files[0]):
            stack, count = _split(line)
            self.profile.gil_samples += count
            self.profile.own[_frame_name(stack[-1])] += count
            for frame in dict.fromkeys(_frame_name(f) for f in stack if _is_app(f)):
                self.profile.app_inclusive[frame] += count
        for line in _lines(self.files[1]):
            stack, count = _split(line)
            self.profile.states[thread_state(stack)] += count


def _lines(path: Path) -> list[str]:
    """Return the samples of a py-spy raw file, one ``stack count`` per entry.

    A frame name may hold a newline (Jinja names compiled template code after its source), which splits one sample
    over several lines: those are joined back until the line ends with its count.
    """
    with contextlib.suppress(OSError):
        samples: list[str] = []
        pending = ""
        for line in path.read_text().splitlines():
            pending = f"{pending}\\n{line}" if pending else line
            if pending.strip() and pending.rpartition(" ")[2].isdigit():
                samples.append(pending)
                pending = ""
        return samples
    return []


def _split(line: str) -> tuple[list[str], int]:
    """Return the frames (outermost first) and the sample count of one raw line."""
    stack, _, count = line.rpartition(" ")
    return stack.split(";"), int(count)


def _frame_name(frame: str) -> str:
    """Return ``function (file)`` without the line number: ``handle (waitress/task.py:42)`` -> ``handle (task.py)``."""
    name, _, where = frame.partition(" (")
    where = where.rstrip(")").rsplit(":", 1)[0]
    return f"{name.strip()} ({'/'.join(where.split('/')[-2:])})"


def _is_app(frame: str) -> bool:
    """Tell whether a frame is Meridian's own code (directory/ or search/)."""
    where = frame.partition(" (")[2]
    return where.startswith(("directory/", "search/")) or "/directory/" in where or "/search/" in where


def thread_state(stack: list[str]) -> str:
    """Classify one sampled stack of a server thread."""
    if stack and stack[0].startswith("thread ("):
        stack = stack[1:]
    for state, path, name in ANYWHERE:
        if any(path in frame and name in frame for frame in stack):
            return state
    for frame in reversed(stack[-4:]):
        for state, *patterns in INNERMOST:
            if any(path in frame and name in frame for path, name in patterns):
                return state
    if any("waitress/server.py" in f or "asyncore" in f for f in stack[-3:]):
        return "waitress main loop (sockets)"
    return "running Python"


def write_json(path: Path, data: object) -> None:
    """Write ``data`` as indented JSON."""
    path.write_text(json.dumps(data, indent=2, default=str))
