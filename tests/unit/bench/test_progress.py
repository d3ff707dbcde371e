"""bench/search.py says how far a long seed or index build is, at most once per interval."""

from __future__ import annotations

from types import ModuleType


def test_progress_speaks_once_per_interval_with_count_share_rate_and_time_left(bench: ModuleType) -> None:
    now = [0.0]
    lines: list[str] = []
    progress = bench.Progress("seeded", 1000, every=30, clock=lambda: now[0], out=lines.append)
    now[0] = 10.0
    progress(100)  # 10 s in: too soon
    now[0] = 40.0
    progress(300)  # 400 done in 40 s: 10/s, 600 left
    now[0] = 50.0
    progress(100)  # 10 s after the last line: quiet
    now[0] = 100.0
    progress(500)  # finished: the caller says the total itself
    assert lines == ["    seeded: 400 of 1,000 (40%, 10/s, ~60s left)"]
    assert progress.done == 1000
