"""Each practitioner's checks folded once and kept (``check_summary``), so a page reads a row, not the whole chain.

The status rules and the "checked on" lines read, per credential and per exclusion list, the practitioner's checks
folded in sequence order (``Checks``). A results page at 100k practitioners folded about 370 check rows for its 20
cards (10-15 ms). Checks are append-only and each row's hash covers the one before it, so the fold of a chain up to
a row never changes: ``check_summary`` keeps it with that row's hash (the head), and ``read_folds`` trusts a row
only while its head is still the practitioner's latest check and it was folded by the current rules (``FOLD``).
Everyone else is folded live, as before. So a stale or missing row costs time, never correctness.

Who writes the rows: ``append_check`` (the one writer of the chain) folds each new check onto its practitioner's row
in the same transaction; ``refresh_folds`` refolds the chains whose row is missing or stale, for ``rebuild_cards``
(which ``flask bootstrap``, ``flask seed`` and ``flask search reindex`` run; the seeder writes chains around
append_check). The outbox worker's syncs leave the rows alone: on PostgreSQL its batch of upserts could wait on, and
deadlock with, a vetting run appending checks to the same practitioners in another order.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cache
from typing import Any

import orjson
from sqlalchemy import bindparam, func, select

from directory.extensions import db, reading_connection, upsert_into
from directory.vetting.models import CREDENTIAL_KINDS, CheckSummary, Credential, VerificationCheck
from directory.vetting.sources import registry
from directory.vetting.status import DECISIVE_OUTCOMES

CHUNK = 500  # ids per IN (...) list: well under every database's bound-parameter limit
# Bump when Checks, its stored form or the way a check is folded changes: rows folded by other rules are ignored.
FOLD_FORMAT = 1


@dataclass
class Checks:
    """One credential's (or one exclusion list's) checks, folded as they are read in sequence order."""

    passes: list[date] = field(default_factory=list)
    last_outcome: str | None = None
    last_checked_at: datetime | None = None
    last_attempt_at: datetime | None = None
    last_reference: str = ""
    last_blocked_at: datetime | None = None
    review_since: datetime | None = None  # the first of the latest run of needs_review outcomes
    last_pass_source: str = ""

    def add(self, outcome: str, at: datetime, reference: str = "", source: str = "") -> None:
        """Fold one check in."""
        self.last_attempt_at = at
        if outcome in DECISIVE_OUTCOMES:
            if outcome != "needs_review" or self.last_outcome != "needs_review":
                self.review_since = at if outcome == "needs_review" else None
            self.last_outcome, self.last_checked_at, self.last_reference = outcome, at, reference
        if outcome == "pass":
            self.passes.append(at.date())
            self.last_pass_source = source
        elif outcome in DECISIVE_OUTCOMES:
            self.last_blocked_at = at

    def dump(self) -> list[Any]:
        """Return the fold as the JSON array a summary row stores (days as ordinals, times as ISO text)."""
        return [[d.toordinal() for d in self.passes], self.last_outcome, _iso(self.last_checked_at),
                _iso(self.last_attempt_at), self.last_reference, _iso(self.last_blocked_at), _iso(self.review_since),
                self.last_pass_source]

    @classmethod
    def load(cls, value: list[Any]) -> Checks:
        """Return the fold ``dump`` stored."""
        passes, outcome, checked, attempt, reference, blocked, review, source = value
        return cls([date.fromordinal(d) for d in passes], outcome, _time(checked), _time(attempt), reference,
                   _time(blocked), _time(review), source)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value is not None else None


@dataclass
class Fold:
    """One practitioner's folded checks: per credential id, and per exclusion list (source code)."""

    credentials: dict[int, Checks] = field(default_factory=lambda: defaultdict(Checks))
    exclusion: dict[str, Checks] = field(default_factory=lambda: defaultdict(Checks))

    def add(self, credential_id: int | None, kind: str | None, source: str, outcome: str, at: datetime,
            reference: str) -> None:
        """Fold one check in: a screen of an exclusion list, or a primary-source check of a credential (else none)."""
        exclusion_codes, primary = _routes()
        if source in exclusion_codes:
            self.exclusion[source].add(outcome, at, reference)
        elif credential_id is not None and source in primary.get(kind or "", ()):
            self.credentials[credential_id].add(outcome, at, source=source)

    def dumps(self) -> str:
        """Return the fold as a summary row's data."""
        return orjson.dumps({"c": [[cid, c.dump()] for cid, c in self.credentials.items()],
                             "x": [[code, c.dump()] for code, c in self.exclusion.items()]}).decode()

    @classmethod
    def loads(cls, data: str | bytes) -> Fold:
        """Return the fold ``dumps`` stored."""
        value = orjson.loads(data)
        fold = cls()
        fold.credentials.update((cid, Checks.load(c)) for cid, c in value["c"])
        fold.exclusion.update((code, Checks.load(c)) for code, c in value["x"])
        return fold


@cache
def _routes() -> tuple[frozenset[str], dict[str, frozenset[str]]]:
    """Return the exclusion lists' source codes and, per credential kind, its primary sources' codes."""
    return (frozenset(s.code for s in registry.exclusion_screens()),
            {kind: registry.primary_source_codes(kind) for kind in CREDENTIAL_KINDS})


@cache
def fold_rules() -> str:
    """Return the fingerprint of how checks are folded: the format and the routes (the sources are code)."""
    exclusion_codes, primary = _routes()
    text = repr((FOLD_FORMAT, sorted(exclusion_codes), sorted((k, sorted(v)) for k, v in primary.items())))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


# ------------------------------------------------------------------------------------------------ reading


def read_folds(ids: Sequence[int]) -> dict[int, Fold]:
    """Return the folded checks of these practitioners: their current summary rows, the rest folded live."""
    folds: dict[int, Fold] = {}
    rules = fold_rules()
    connection = reading_connection()
    for start in range(0, len(ids), CHUNK):
        rows = connection.execute(_CURRENT, {"ids": list(ids[start:start + CHUNK]), "rules": rules})
        folds.update((pid, Fold.loads(data)) for pid, data in rows)
    if missing := [pid for pid in ids if pid not in folds]:
        folds.update((pid, fold) for pid, (fold, _) in fold_live(missing).items())
    return folds


def fold_live(ids: Sequence[int] | None) -> dict[int, tuple[Fold, str]]:
    """Fold the chains of these practitioners (every practitioner's when None) from their checks.

    Returns practitioner id -> (fold, head); a practitioner without checks is left out.
    """
    folds: dict[int, Fold] = {}
    heads: dict[int, str] = {}
    for pid, cred_id, source, outcome, at, reference, head, kind in _chain_rows(ids):
        fold = folds.get(pid)
        if fold is None:
            fold = folds[pid] = Fold()
        fold.add(cred_id, kind, source, outcome, at, reference)
        heads[pid] = head
    return {pid: (fold, heads[pid]) for pid, fold in folds.items()}


def _chain_rows(ids: Sequence[int] | None) -> Iterator[Any]:
    """Yield every check of these practitioners (all when None) in chain order, with its credential's kind."""
    connection = reading_connection()
    if ids is None:
        yield from connection.execute(_CHAIN)
        return
    for start in range(0, len(ids), CHUNK):
        yield from connection.execute(_CHAIN_OF, {"ids": list(ids[start:start + CHUNK])})


_CHAIN = (select(VerificationCheck.practitioner_id, VerificationCheck.credential_id, VerificationCheck.source,
                 VerificationCheck.outcome, VerificationCheck.performed_at, VerificationCheck.reference,
                 VerificationCheck.row_hash, Credential.kind)
          .outerjoin(Credential, Credential.id == VerificationCheck.credential_id)
          .where(VerificationCheck.practitioner_id.is_not(None))
          .order_by(VerificationCheck.practitioner_id, VerificationCheck.sequence))
# One expanding parameter rather than a literal per id (cheaper to compile per page).
_CHAIN_OF = _CHAIN.where(VerificationCheck.practitioner_id.in_(bindparam("ids", expanding=True)))
# The hash of a practitioner's latest check: the head a current summary row names ("" before any check).
_HEAD = (select(VerificationCheck.row_hash).where(VerificationCheck.practitioner_id == CheckSummary.practitioner_id)
         .order_by(VerificationCheck.sequence.desc()).limit(1).correlate(CheckSummary).scalar_subquery())
_IS_CURRENT = (CheckSummary.practitioner_id.in_(bindparam("ids", expanding=True)),
               CheckSummary.fold == bindparam("rules"), CheckSummary.head == func.coalesce(_HEAD, ""))
_CURRENT = select(CheckSummary.practitioner_id, CheckSummary.data).where(*_IS_CURRENT)
_CURRENT_IDS = select(CheckSummary.practitioner_id).where(*_IS_CURRENT)


# ------------------------------------------------------------------------------------------------ writing


def fold_appended(check: VerificationCheck, kind: str | None) -> None:
    """Fold a check just appended (flushed, in the writer's transaction) onto its practitioner's summary row.

    The row is extended when it ends where the new check begins (its head is the check's previous hash), and the
    whole chain refolded otherwise (no row yet, a row of older rules, a chain written around this function).
    """
    pid = check.practitioner_id
    if pid is None:
        return
    # The check is flushed: Core on the connection sees it, without the ORM layer's 0.2 ms a statement.
    row = db.session.connection().execute(_ROW, {"pid": pid}).first()
    if row is not None and row.fold == fold_rules() and row.head == (check.previous_hash or ""):
        fold = Fold.loads(row.data)
    elif check.previous_hash is None:
        fold = Fold()
    else:
        refresh_folds([pid])
        return
    fold.add(check.credential_id, kind, check.source, check.outcome, check.performed_at, check.reference)
    _store({pid: (fold, check.row_hash)})


def refresh_folds(ids: Sequence[int]) -> int:
    """Refold and store the chains of those of these practitioners whose row is missing or stale; return how many.

    Rows already at their chain's head are left alone: a second rebuild folds nothing, and (on PostgreSQL) the
    rewrite seldom waits on the row of a check being appended. Runs in the caller's transaction.
    """
    current: set[int] = set()
    connection = reading_connection()
    for start in range(0, len(ids), CHUNK):
        current.update(connection.execute(_CURRENT_IDS, {"ids": list(ids[start:start + CHUNK]),
                                                         "rules": fold_rules()}).scalars())
    stale = sorted(pid for pid in ids if pid not in current)
    folds = fold_live(stale)
    _store({pid: folds.get(pid, (Fold(), "")) for pid in stale})
    return len(stale)


def _store(folds: dict[int, tuple[Fold, str]]) -> None:
    """Write these practitioners' summary rows (insert or replace)."""
    if not folds:
        return
    connection = db.session.connection()
    statement = _upsert(connection)
    rules = fold_rules()
    rows = [{"practitioner_id": pid, "head": head, "fold": rules, "data": fold.dumps()}
            for pid, (fold, head) in folds.items()]
    for start in range(0, len(rows), CHUNK):
        connection.execute(statement, rows[start:start + CHUNK])


_UPSERTS: dict[str, Any] = {}


def _upsert(connection: Any) -> Any:
    """Return the insert-or-replace of a summary row on this connection's dialect (built once per dialect:
    append_check runs it per check)."""
    name = connection.dialect.name
    if name not in _UPSERTS:
        table = CheckSummary.__table__
        statement = upsert_into(connection, table)
        _UPSERTS[name] = statement.on_conflict_do_update(
            index_elements=[table.c.practitioner_id],
            set_={"head": statement.excluded.head, "fold": statement.excluded.fold, "data": statement.excluded.data})
    return _UPSERTS[name]


_ROW = (select(CheckSummary.head, CheckSummary.fold, CheckSummary.data)
        .where(CheckSummary.practitioner_id == bindparam("pid")))
