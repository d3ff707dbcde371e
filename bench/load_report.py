"""Numbers of bench/load.py: one step's latencies from Locust's per-request samples, and the per-backend report."""

from __future__ import annotations

import argparse
import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from bench.load_probe import CpuWindow, Profile
from bench.stats import percentile

TARGET_P95_MS = 100.0
NAMES = ("search page", "api search", "profile", "suggest", "home", "sign-in form", "sign-in", "request form",
         "request send", "inbox", "listing form", "listing save")
WRITES = ("sign-in", "request send", "listing save")


@dataclass
class Stats:
    """Count and percentiles of one request type (or all) in a step's measured window."""

    count: int
    p50: float
    p95: float
    p99: float

    @classmethod
    def of(cls, ms: list[float]) -> Stats:
        """Return the stats of ``ms``."""
        return cls(len(ms), percentile(ms, 50), percentile(ms, 95), percentile(ms, 99))

    def triple(self) -> str:
        """Return "p50/p95/p99" in whole milliseconds (one decimal under 10)."""
        return "/".join(_ms(v) for v in (self.p50, self.p95, self.p99))


def _ms(value: float) -> str:
    """Format milliseconds compactly."""
    if value != value:
        return "-"
    return f"{value:.1f}" if value < 10 else f"{value:.0f}"


@dataclass
class StepResult:
    """One step: offered and achieved load, latencies, errors, CPU and what py-spy saw."""

    users: int
    offered: float
    window_s: float
    achieved_rps: float
    overall: Stats
    by_name: dict[str, Stats]
    errors: int
    error_kinds: Counter[str]
    load_before: float
    load_after: float
    cpu: CpuWindow | None = None
    profile: Profile | None = None
    requests: int = 0
    writes: dict[str, int] = field(default_factory=dict)

    @property
    def sustained(self) -> bool:
        """Tell whether the step held the target: overall p95 <= 100 ms and not one error."""
        return self.errors == 0 and self.overall.p95 <= TARGET_P95_MS


def step_result(users: int, samples: Path, ramp_s: float, load_before: float, load_after: float,
                cpu: CpuWindow | None, profile: Profile | None, pacing_s: float) -> StepResult:
    """Read a step's samples (``[t, name, ms, ok, status]`` per line); measure after the ramp, count every error."""
    rows = [json.loads(line) for line in samples.read_text().splitlines() if line.strip()] if samples.exists() else []
    errors = Counter(f"{name}: {status or 'no answer'}" for _, name, _, ok, status in rows if not ok)
    start = (rows[0][0] + ramp_s) if rows else 0.0
    measured = [row for row in rows if row[0] >= start]
    window = (measured[-1][0] - measured[0][0]) if len(measured) > 1 else 0.0
    by_name = {name: Stats.of([r[2] for r in measured if r[1] == name]) for name in NAMES}
    return StepResult(
        users=users, offered=users / pacing_s, window_s=window,
        achieved_rps=len(measured) / window if window else 0.0,
        overall=Stats.of([r[2] for r in measured]), by_name={k: v for k, v in by_name.items() if v.count},
        errors=sum(errors.values()), error_kinds=errors, load_before=load_before, load_after=load_after,
        cpu=cpu, profile=profile, requests=len(rows),
        writes={name: sum(1 for r in rows if r[1] == name and r[3]) for name in WRITES})


def backend_report(kind: str, args: argparse.Namespace, results: list[StepResult]) -> str:
    """Return the report of one backend: latency table, per-type table, CPU table, sustained rate, bottleneck."""
    lines = [f"== {kind}: {args.practitioners} practitioners, {args.processes} web process(es) x {args.threads} "
             f"waitress threads, SQLite, outbox worker in its own process; steps of {args.step:.0f}s "
             f"(first {args.ramp:.0f}s not measured), each user starting tasks at random moments (Poisson), one per {args.pacing:.1f}s on average"]
    lines += ["", "| users | offered tasks/s | achieved req/s | overall p50/p95/p99 ms | requests | errors "
              "| load avg before/after |", "|---|---|---|---|---|---|---|"]
    for r in results:
        lines.append(f"| {r.users} | {r.offered:.0f} | {r.achieved_rps:.1f} | {r.overall.triple()} | {r.requests} "
                     f"| {r.errors} | {r.load_before:.2f} / {r.load_after:.2f} |")
    names = [n for n in NAMES if any(n in r.by_name for r in results)]
    lines += ["", "p50/p95/p99 ms per request type:", "", "| users | " + " | ".join(names) + " |",
              "|---" * (len(names) + 1) + "|"]
    for r in results:
        lines.append(f"| {r.users} | " + " | ".join(r.by_name[n].triple() if n in r.by_name else "-"
                                                    for n in names) + " |")
    lines += _cpu_table(results)
    lines += ["", _sustained_line(results)]
    errors = Counter[str]()
    for r in results:
        errors.update(r.error_kinds)
    if errors:
        lines.append("errors seen: " + ", ".join(f"{k} x{v}" for k, v in errors.most_common(8)))
    writes = Counter[str]()
    for r in results:
        writes.update(r.writes)
    lines.append("successful sign-ins and writes, all steps: " + ", ".join(f"{k} {v}" for k, v in writes.items()))
    lines += bottleneck(results)
    lines += verdict(args.processes, results)
    return "\n".join(lines)


def _cpu_table(results: list[StepResult]) -> list[str]:
    """Return the CPU table: % of one core per process over each step's measured window."""
    measured = [r for r in results if r.cpu is not None]
    if not measured:
        return []
    procs = list(measured[0].cpu.percent) if measured[0].cpu else []
    lines = ["", "CPU over the measured window, % of one core (the machine has "
             "2 cores = 200%; GIL = share of time a thread of web process 0 held the GIL, from py-spy --gil):", "",
             "| users | " + " | ".join(procs) + " | web CPU ms per request | busiest web thread | GIL held "
             "| machine busy |", "|---" * (len(procs) + 5) + "|"]
    for r in measured:
        assert r.cpu is not None
        gil = f"{r.profile.gil_percent:.0f}%" if r.profile and not r.profile.error else "-"
        per_request = 10 * r.cpu.percent.get("web", 0.0) / r.achieved_rps if r.achieved_rps else float("nan")
        lines.append(f"| {r.users} | " + " | ".join(f"{r.cpu.percent[p]:.0f}%" for p in procs)
                     + f" | {_ms(per_request)} | {r.cpu.busiest_thread_percent:.0f}% | {gil} "
                     f"| {r.cpu.machine_percent:.0f}% of 2 cores |")
    return lines


def _sustained_line(results: list[StepResult]) -> str:
    """Return the highest achieved req/s of a step that held p95 <= 100 ms with 0 errors."""
    held = [r for r in results if r.sustained]
    if not held:
        return f"highest sustained req/s with p95 <= {TARGET_P95_MS:.0f} ms and 0 errors: none of the steps held it"
    best = max(held, key=lambda r: r.achieved_rps)
    return (f"highest sustained req/s with p95 <= {TARGET_P95_MS:.0f} ms and 0 errors: **{best.achieved_rps:.1f} "
            f"req/s** ({best.users} users, p95 {best.overall.p95:.0f} ms, load average {best.load_before:.2f} -> "
            f"{best.load_after:.2f})")


def bottleneck(results: list[StepResult]) -> list[str]:
    """Return where the server spent its time in the busiest step that was profiled."""
    profiled = [r for r in results if r.profile is not None and not r.profile.error and r.profile.gil_samples]
    if not profiled:
        errors = {r.profile.error for r in results if r.profile is not None and r.profile.error}
        return ["", "bottleneck: not profiled" + (f" ({'; '.join(errors)})" if errors else "")]
    r = max(profiled, key=lambda s: s.achieved_rps)
    assert r.profile is not None
    p = r.profile
    total_states = sum(p.states.values()) or 1
    lines = ["", f"where web process 0 spent its time at {r.users} users ({r.achieved_rps:.1f} req/s), py-spy "
             f"{p.rate} Hz over {p.seconds:.0f}s:", "",
             "thread states (all threads, idle included): " + ", ".join(
                 f"{state} {100 * n / total_states:.0f}%" for state, n in p.states.most_common())]
    held = sum(p.own.values()) or 1
    lines.append("")
    lines.append(f"GIL held {p.gil_percent:.0f}% of the time; innermost function while holding it (top 12):")
    lines += [f"  {100 * n / held:5.1f}%  {name}" for name, n in p.own.most_common(12)]
    lines.append("Meridian functions on the stack while holding the GIL (inclusive, top 12):")
    lines += [f"  {100 * n / held:5.1f}%  {name}" for name, n in p.app_inclusive.most_common(12)]
    return lines


def verdict(processes: int, results: list[StepResult]) -> list[str]:
    """Return one paragraph on what limited the first step that missed the target (or the last step)."""
    measured = [r for r in results if r.cpu is not None]
    if not measured:
        return []
    r = next((s for s in measured if not s.sustained), measured[-1])
    assert r.cpu is not None
    web = r.cpu.percent.get("web", 0.0) / processes
    others = r.cpu.machine_percent * 2 - sum(r.cpu.percent.values())  # % of one core used by everything else
    capacity = 1000 / (10 * r.cpu.percent["web"] / r.achieved_rps) * processes if r.achieved_rps and web else 0.0
    lines = ["", f"verdict at {r.users} users ({r.achieved_rps:.1f} req/s, p95 {r.overall.p95:.0f} ms):"]
    if r.cpu.machine_percent >= 95 and web < 85:
        lines.append(f"  the machine's CPU: both cores busy, {others:.0f}% of a core went to processes outside this "
                     f"run (load average {r.load_before:.2f}), and each web process got {web:.0f}% of a core; its "
                     f"requests waited to be scheduled, not for the GIL, SQLite or the engine.")
    elif web >= 85:
        lines.append(f"  the GIL: each web process ran Python {web:.0f}% of one core; more threads cannot help, "
                     "more processes (one per core) can.")
    else:
        lines.append(f"  not CPU: web processes at {web:.0f}% of a core, machine {r.cpu.machine_percent:.0f}% busy; "
                     "see the thread states (SQLite lock, engine, waitress threads).")
    if capacity:
        lines.append(f"  at this step's CPU cost per request one process would saturate its core near {capacity / processes:.0f} "
                     f"req/s on a machine that gives it a whole core ({processes} process(es): ~{capacity:.0f} req/s "
                     "before the GIL is the limit).")
    return lines
