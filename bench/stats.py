"""The percentile every benchmark table prints (bench/search.py, bench/load_report.py). Stdlib only."""

from __future__ import annotations


def percentile(values: list[float], pct: float) -> float:
    """Return the ``pct`` percentile of ``values`` with linear interpolation (numpy's default); nan when empty."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * pct / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)
