#!/usr/bin/env bash
# `make test`'s two pytest passes at once: the whole suite on SQLite in the foreground, and the database-facing
# tests (tests/unit tests/functional) again on PostgreSQL beside it, its output kept in a log and printed at the end.
# They share nothing (the PostgreSQL pass starts its own cluster on a free port, each pass has its own temp dirs),
# and the SQLite pass spends most of its integration tests waiting on engine JVMs: one after the other they took
# 574 s + 217 s of a 15-minute CI on 2 cores. Fails when either pass fails.
set -uo pipefail
BIN=${1:?usage: run-suites.sh VENV_BIN}
work=$(mktemp -d -t meridian-pytest-postgres.XXXXXX)
log="$work/pytest-postgres.log"
echo "PostgreSQL pass (tests/unit tests/functional) running alongside the SQLite pass; its output: $log"
MERIDIAN_TEST_DATABASE=postgresql "$BIN/pytest" -p no:cacheprovider --basetemp="$work/tmp" tests/unit tests/functional \
    >"$log" 2>&1 &
postgres_pid=$!
# Stop the background pass too if this script is interrupted.
trap 'kill "$postgres_pid" 2>/dev/null' INT TERM
"$BIN/pytest"
sqlite_rc=$?
wait "$postgres_pid"
postgres_rc=$?
echo
echo "== PostgreSQL pass (MERIDIAN_TEST_DATABASE=postgresql pytest tests/unit tests/functional) =="
cat "$log"
echo "SQLite pass: exit $sqlite_rc; PostgreSQL pass: exit $postgres_rc"
if [ "$sqlite_rc" -ne 0 ] || [ "$postgres_rc" -ne 0 ]; then
    exit 1
fi
rm -rf "$work"
