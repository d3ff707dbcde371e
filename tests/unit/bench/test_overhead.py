"""bench/search.py reports the application's overhead per query, paired with the same raw engine request."""

from __future__ import annotations

from collections import Counter
from types import ModuleType

import pytest


def test_overhead_is_api_minus_raw_per_query_and_skips_errors(bench: ModuleType) -> None:
    api = bench.ApiPass(bench.Latencies([5.0, 9.0, 4.0, 7.5]), [10, None, 3, 8], Counter({400: 1}),
                        raw_ms=[3.0, 2.0, None, 6.0], raw_totals=[10, 0, None, 8])
    assert bench.paired_overhead(api) == [2.0, None, None, 1.5]


def test_the_table_shows_the_overhead_percentiles_and_the_targets_judge_them(bench: ModuleType) -> None:
    result = bench.BackendResult("elasticsearch", totals=[1] * 100, indexed=1000, index_s=0.1,
                                 overhead_by_query=[float(ms) for ms in range(1, 101)] + [None])
    assert result.overhead.p(50) == pytest.approx(50.5)
    table = bench.table([result])
    assert "overhead ms p50/p95/p99" in table.splitlines()[0]
    assert "50.5/95.0/99.0" in table
    lines = bench.targets([result], bench.TARGETS_AT)
    assert "  [MISS] elasticsearch: overhead p50 50.50 ms <= 2.5 ms (API minus raw engine, paired)" in lines
    fast = bench.BackendResult("embedded", overhead_by_query=[1.0, 2.0, 3.0])
    assert any(line.startswith("  [PASS] embedded: overhead p95") for line in bench.targets([fast], 100_000))


def test_each_query_keeps_the_median_of_its_pairs_over_the_api_passes(bench: ModuleType) -> None:
    # Query 0's engine jittered once (its 9.0 ms pair); query 1 errored in one pass; query 2 never paired.
    passes = [[2.0, None, None], [9.0, 3.0, None], [2.5, 4.0, None]]
    assert bench.median_overhead(passes) == [2.5, 3.5, None]
    assert bench.median_overhead([[1.0, None]]) == [1.0, None]


def test_the_report_gives_the_api_p95_of_every_pass_beside_the_first_passs_table(bench: ModuleType) -> None:
    result = bench.BackendResult("embedded", api_p95_by_pass=[54.1, 61.4, 50.2])
    assert bench.pass_spread(result) == "; API p95 of each pass 54.1 / 61.4 / 50.2 ms (the table and the targets: the first)"
    assert bench.pass_spread(bench.BackendResult("embedded", api_p95_by_pass=[54.1])) == ""
