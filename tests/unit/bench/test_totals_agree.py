"""bench/search.py fails loudly when backends find different totals for one query."""

from __future__ import annotations

from types import ModuleType
from typing import Any

import pytest

MIX: list[dict[str, Any]] = [{"lat": 40.75453, "lon": -73.97612, "radius_km": 5, "sort": "distance"},
                             {"lat": 42.36, "lon": -71.06, "radius_km": 25, "sort": "rating"}]


def test_equal_totals_pass(bench: ModuleType) -> None:
    results = [bench.BackendResult("embedded", totals=[23_909, 12]),
               bench.BackendResult("elasticsearch", totals=[23_909, 12])]
    assert bench.total_mismatches(results, MIX) == []
    assert bench.mismatch_block(results, MIX) == []


def test_a_differing_total_is_named_with_its_query(bench: ModuleType) -> None:
    results = [bench.BackendResult("embedded", totals=[23_908, 12]),
               bench.BackendResult("elasticsearch", totals=[23_909, 12]),
               bench.BackendResult("opensearch", totals=[23_909, None])]
    assert bench.mismatch_block(results, MIX) == [
        "FAIL: totals differ between backends on 1/2 queries:",
        f"  query 1: embedded 23,908, elasticsearch 23,909, opensearch 23,909  {MIX[0]}",
    ]


def test_failed_backends_and_errored_queries_are_not_compared(bench: ModuleType) -> None:
    results = [bench.BackendResult("embedded", totals=[5, None]),
               bench.BackendResult("elasticsearch", totals=[None, 7]),
               bench.BackendResult("opensearch", totals=[None, None], failure="RuntimeError: no node")]
    assert bench.total_mismatches(results, MIX) == []


def test_the_bench_exits_non_zero_when_a_size_disagrees(bench: ModuleType, monkeypatch: pytest.MonkeyPatch,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(bench, "bench_size", lambda size, args, engines: ("table", size != 1000))
    monkeypatch.setattr(bench.signal, "signal", lambda *args: None)
    # main() fixes the search service's clock for the run; put it back afterwards.
    monkeypatch.setattr(bench.search_service, "utcnow", bench.search_service.utcnow)
    assert bench.main(["--sizes", "10,1000", "--backends", "embedded"]) == 1
    assert "FAIL: search totals differ between backends at N=1,000" in capsys.readouterr().out
    assert bench.main(["--sizes", "10", "--backends", "embedded"]) == 0
