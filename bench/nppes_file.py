"""Bulk-file import benchmark: generate an NPPES npidata file in the real layout, import it, print rows/s and peak memory.

Not a test. Run from the repository root, e.g.::

    .venv/bin/python bench/nppes_file.py --rows 1000000 --file /tmp/npidata_pfile_bench.csv

Rows are mostly other providers (like the real file, ~0.1 % acupuncturists), a few deactivated.
The import runs against a fresh SQLite database in a temporary directory; peak memory is
Python's (tracemalloc) and the process's maximum resident set size.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))

import argparse  # noqa: E402
import random  # noqa: E402
import resource  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import tracemalloc  # noqa: E402

from tests.support.nppes_csv import ACUPUNCTURIST, row, writer  # noqa: E402

OTHER_TAXONOMIES = ("207Q00000X", "363L00000X", "111N00000X", "225100000X", "1223G0001X")
ZIPS = ("021391234", "100011234", "606011234", "941031234", "980011234", "303031234")
STATES = ("MA", "NY", "IL", "CA", "WA", "GA")


def luhn_npi(base: int) -> str:
    """Return a valid NPI on a nine-digit base."""
    stem = f"{base:09d}"
    total = 0
    for i, ch in enumerate(reversed("80840" + stem + "0")):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return stem + str((10 - total % 10) % 10)


def generate(path: Path, rows: int, seed: int = 7) -> None:
    """Write ``rows`` rows: ~0.1 % individual acupuncturists, ~1 % deactivated, the rest other providers."""
    rng = random.Random(seed)
    with path.open("w", newline="", encoding="utf-8") as stream:
        out = writer(stream)
        for n in range(rows):
            place = rng.randrange(len(ZIPS))
            number = luhn_npi(100000000 + n)
            roll = rng.random()
            code = ACUPUNCTURIST if roll < 0.001 else rng.choice(OTHER_TAXONOMIES)
            deactivated = "05/01/2019" if roll > 0.99 else ""
            out.writerow(row(number, entity="2" if 0.5 < roll < 0.7 else "1", first=f"F{n % 997}", last=f"L{n}",
                             city="CITY", state=STATES[place], postal=ZIPS[place], deactivated=deactivated,
                             taxonomies=[(1 + n % 3, code, f"LIC{n}", STATES[place])]))


def main() -> None:
    """Generate the file (unless it exists), import it into a fresh database and print the measurements."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--tracemalloc", action="store_true", help="Also trace Python allocations (slower).")
    parser.add_argument("--file", type=Path, default=Path(tempfile.gettempdir()) / "npidata_pfile_bench.csv")
    args = parser.parse_args()
    if not args.file.exists():
        started = time.perf_counter()
        generate(args.file, args.rows)
        print(f"generated {args.rows:,} rows ({args.file.stat().st_size / 1e6:,.0f} MB) in "
              f"{time.perf_counter() - started:.0f} s")
    from flask_migrate import upgrade

    from directory import create_app
    from directory.imports.nppes_file import import_file

    with tempfile.TemporaryDirectory() as tmp:
        app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp}/bench.db", "SEARCH_BACKEND": "embedded",
                          "SEARCH_EMBEDDED_PATH": f"{tmp}/search.db"})
        with app.app_context():
            upgrade(directory=str(app.config["MIGRATIONS_DIR"]))
            if args.tracemalloc:
                tracemalloc.start()
            started = time.perf_counter()
            tally = import_file(args.file)
            elapsed = time.perf_counter() - started
            peak = tracemalloc.get_traced_memory()[1] if args.tracemalloc else 0
    rows = sum(tally.counts.values())
    print(f"imported {rows:,} rows in {elapsed:.1f} s: {rows / elapsed:,.0f} rows/s")
    print(f"peak traced Python memory {peak / 1e6:.1f} MB (0 without --tracemalloc), max RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3:.0f} MB")
    print("\n".join(tally.lines()))


if __name__ == "__main__":
    main()
