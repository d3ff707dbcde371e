"""Seed benchmark and fingerprint: time one seed into a fresh SQLite database on a frozen clock.

Not a test. Run from the repository root, e.g.::

    .venv/bin/python bench/seed_check.py 20000 /work/bench-seed/a --fingerprint
    .venv/bin/python bench/seed_check.py 20000 /work/bench-seed/p --profile

It migrates a fresh database in DIR (which must not hold one), loads the vocabularies and times
``seed_practitioners(N, seed=42)`` plus its commit, as bench/search.py does; it prints wall and CPU docs/s
(this process and the row generator it starts) with the 1-minute load average before and after. The clock
is frozen (every ``utcnow``/``today`` the app imported from directory.clock), so two seeds of the same N write
the same rows: ``--fingerprint`` prints one SHA-256 per table (rows in rowid order, every column) and one
over the index and trigger definitions, for comparing the seed before and after a change (see bench/README.md).
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Run as a script, bench/ is sys.path[0] and this file would shadow the `search` package.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))

import argparse  # noqa: E402
import cProfile  # noqa: E402
import hashlib  # noqa: E402
import pstats  # noqa: E402
import resource  # noqa: E402
import sqlite3  # noqa: E402
import time  # noqa: E402
from datetime import date, datetime  # noqa: E402

from flask_migrate import upgrade  # noqa: E402

import directory.clock  # noqa: E402
from directory import create_app  # noqa: E402
from directory.extensions import db  # noqa: E402

FROZEN_NOW = datetime(2026, 11, 25, 15, 0, 0)


def freeze_clock() -> None:
    """Point every imported ``utcnow``/``today`` of directory.clock at FROZEN_NOW."""
    real = {"utcnow": directory.clock.utcnow, "today": directory.clock.today}

    def utcnow() -> datetime:
        return FROZEN_NOW

    def today() -> date:
        return FROZEN_NOW.date()

    fakes = {"utcnow": utcnow, "today": today}
    for module in list(sys.modules.values()):
        for attribute, value in list(vars(module).items()) if module is not None else ():
            for name, function in real.items():
                if value is function:
                    setattr(module, attribute, fakes[name])


def cpu_seconds() -> tuple[float, float]:
    """Return the CPU time of this process and of its finished children (the seed's row generator)."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time(), children.ru_utime + children.ru_stime


def load() -> str:
    """Return the 1-minute load average."""
    return Path("/proc/loadavg").read_text().split()[0]


def seed(workdir: Path, count: int, profile: bool, parallel: bool | None) -> None:
    """Migrate, seed ``count`` practitioners and commit; print the timings."""
    from directory.practitioners.vocabulary import load_vocabularies
    from directory.seed import seed_practitioners

    workdir.mkdir(parents=True, exist_ok=True)
    if (workdir / "meridian.db").exists():
        raise SystemExit(f"{workdir / 'meridian.db'} exists: give a fresh directory")
    app = create_app({"SECRET_KEY": "bench-secret-key", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{workdir / 'meridian.db'}",
                      "INSTANCE_DIR": workdir, "SEARCH_BACKEND": "embedded",
                      "SEARCH_EMBEDDED_PATH": str(workdir / "search-embedded.db")})
    with app.app_context():
        upgrade(directory=str(app.config["MIGRATIONS_DIR"]))
        load_vocabularies()
        db.session.commit()
        freeze_clock()
        before = load()
        profiler = cProfile.Profile() if profile else None
        (own, others), wall = cpu_seconds(), time.perf_counter()
        if profiler:
            profiler.enable()
        seed_practitioners(count, seed=42, **({} if parallel is None else {"parallel": parallel}))
        db.session.commit()
        if profiler:
            profiler.disable()
        wall, (own_after, others_after) = time.perf_counter() - wall, cpu_seconds()
        own, others = own_after - own, others_after - others
        cpu = own + others
        db.engine.dispose()
    print(f"seed: {count:,} practitioners in {wall:.1f}s wall = {count / wall:,.0f} docs/s; CPU {cpu:.1f}s = "
          f"{count / cpu:,.0f} docs per CPU-second (this process {own:.1f}s, row generator {others:.1f}s); "
          f"load {before} -> {load()}", flush=True)
    if profiler:
        out = workdir / "profile.txt"
        with out.open("w") as fh:
            pstats.Stats(profiler, stream=fh).sort_stats("tottime").print_stats(45)
            pstats.Stats(profiler, stream=fh).sort_stats("cumulative").print_stats(45)
        print(f"profile: {out}")


def fingerprint(path: Path) -> None:
    """Print one SHA-256 per table (rowid order, every column) and one over the index and trigger definitions.

    Values the clock could not freeze (column defaults hold directory.clock's own ``utcnow``) read as the wall
    clock, i.e. later than FROZEN_NOW, and are masked. sqlite_stat1 names each index by its columns: the
    migrations number a table's unique constraints (sqlite_autoindex_T_N) in no fixed order.
    """
    conn = sqlite3.connect(path)
    schema = conn.execute("SELECT type, name, tbl_name, sql FROM sqlite_master WHERE type IN ('index', 'trigger') "
                          "ORDER BY type, name").fetchall()
    print(f"{'schema (indexes, triggers)':32} {len(schema):>9,} {hashlib.sha256(repr(schema).encode()).hexdigest()}")
    frozen = FROZEN_NOW.isoformat(sep=" ")

    def masked(row: tuple[object, ...]) -> tuple[object, ...]:
        return tuple("<wall clock>" if isinstance(v, str) and v[:2] == "20" and len(v) >= 19 and v[4] == "-"
                     and v[10] == " " and v > frozen else v for v in row)

    def columns(index: str) -> str:
        return ",".join(r[2] for r in conn.execute(f"PRAGMA index_info('{index}')")) if index else ""

    tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
    for table in tables:
        if table == "sqlite_stat1":
            rows = sorted((t, columns(i or ""), stat) for t, i, stat in conn.execute("SELECT * FROM sqlite_stat1"))
        else:
            rows = [masked(r) for r in conn.execute(f'SELECT rowid, * FROM "{table}" ORDER BY rowid')]  # noqa: S608
        digest = hashlib.sha256("\n".join(map(repr, rows)).encode()).hexdigest()
        print(f"{table:32} {len(rows):>9,} {digest}")


def main() -> None:
    """Parse the arguments, seed, and print the fingerprint when asked."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("count", type=int)
    parser.add_argument("workdir", type=Path)
    parser.add_argument("--fingerprint", action="store_true", help="print per-table SHA-256s after the seed")
    parser.add_argument("--profile", action="store_true", help="run the seed under cProfile (DIR/profile.txt)")
    parser.add_argument("--parallel", choices=["yes", "no"], help="force the second process on or off (default: by N)")
    args = parser.parse_args()
    seed(args.workdir, args.count, args.profile, None if args.parallel is None else args.parallel == "yes")
    if args.fingerprint:
        fingerprint(args.workdir / "meridian.db")


if __name__ == "__main__":
    main()
