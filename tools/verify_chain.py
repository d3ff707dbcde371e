#!/usr/bin/env python3
"""Re-verify Meridian's public verification history over HTTP, with the standard library only.

    python tools/verify_chain.py https://meridian.example [--practitioner SLUG] [--state FILE]

Fetches the signing key, the latest signed chain-head statement and each practitioner's chain;
recomputes every row hash and link; checks the statement's Ed25519 signature and that every
chain extends its signed head (and, with --state, the heads this tool saw on its last run).
Prints one line per practitioner and exits 0 only when everything adds up. The formats are
documented in the README ("Re-verifying the history"); nothing here reads Meridian's database.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import hashlib
import json
import os
import sys
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from typing import Any

CANONICAL_FORM = "meridian-check-v1"
CHAINED_FIELDS = ("practitioner_id", "user_id", "sequence", "credential_id", "source", "performed_by_id",
                  "performed_at", "outcome", "reference", "note", "evidence_sha256", "previous_hash")

# --- Ed25519 verification: the reference code of RFC 8032 section 6 (verify half only).

P = 2**255 - 19
Q = 2**252 + 27742317777372353535851937790883648493  # the group order (L in RFC 8032)
D = -121665 * pow(121666, P - 2, P) % P
SQRT_M1 = pow(2, (P - 1) // 4, P)
Point = tuple[int, int, int, int]


def _add(a: Point, b: Point) -> Point:
    """Add two points in extended coordinates."""
    e1, f1 = (a[1] - a[0]) * (b[1] - b[0]) % P, (a[1] + a[0]) * (b[1] + b[0]) % P
    c, d = 2 * a[3] * b[3] * D % P, 2 * a[2] * b[2] % P
    e, f, g, h = f1 - e1, d - c, d + c, f1 + e1
    return (e * f, g * h, f * g, e * h)


def _mul(s: int, point: Point) -> Point:
    """Multiply a point by a scalar (double and add)."""
    result: Point = (0, 1, 1, 0)
    while s > 0:
        if s & 1:
            result = _add(result, point)
        point = _add(point, point)
        s >>= 1
    return result


def _equal(a: Point, b: Point) -> bool:
    """Compare two points in projective coordinates."""
    return (a[0] * b[2] - b[0] * a[2]) % P == 0 and (a[1] * b[2] - b[1] * a[2]) % P == 0


def _recover_x(y: int, sign: int) -> int | None:
    """Return the x coordinate for ``y`` and the sign bit, or None when there is none."""
    if y >= P:
        return None
    x2 = (y * y - 1) * pow(D * y * y + 1, P - 2, P)
    if x2 == 0:
        return None if sign else 0
    x = pow(x2, (P + 3) // 8, P)
    if (x * x - x2) % P != 0:
        x = x * SQRT_M1 % P
    if (x * x - x2) % P != 0:
        return None
    return P - x if (x & 1) != sign else x


def _decompress(data: bytes) -> Point | None:
    """Decode a 32-byte point, or None when it is not on the curve."""
    y = int.from_bytes(data, "little")
    sign, y = y >> 255, y & ((1 << 255) - 1)
    x = _recover_x(y, sign)
    return None if x is None else (x, y, 1, x * y % P)


_GY = 4 * pow(5, P - 2, P) % P
_GX = _recover_x(_GY, 0) or 0
BASE: Point = (_GX, _GY, 1, _GX * _GY % P)


def ed25519_verify(public: bytes, message: bytes, signature: bytes) -> bool:
    """Tell whether ``signature`` is a valid Ed25519 signature of ``message`` under ``public`` (RFC 8032 §5.1.7)."""
    if len(public) != 32 or len(signature) != 64:
        return False
    a, r = _decompress(public), _decompress(signature[:32])
    s = int.from_bytes(signature[32:], "little")
    if a is None or r is None or s >= Q:
        return False
    h = int.from_bytes(hashlib.sha512(signature[:32] + public + message).digest(), "little") % Q
    return _equal(_mul(s, BASE), _add(r, _mul(h, a)))


# --- The canonical form and the chain.


def canonical_json(value: Any) -> str:
    """Return ``value`` as Meridian's canonical JSON (keys sorted, no whitespace, non-ASCII unescaped)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def sha256_hex(text: str) -> str:
    """Return the lowercase hex SHA-256 of ``text`` as UTF-8."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def row_hash(row: dict[str, Any]) -> str:
    """Recompute one check's hash from its published chained fields."""
    return sha256_hex(canonical_json({name: row.get(name) for name in CHAINED_FIELDS}))


def chain_breaks(rows: list[dict[str, Any]], practitioner_id: int) -> list[tuple[int, str]]:
    """Return (sequence, reason) for every place the chain stops adding up."""
    breaks: list[tuple[int, str]] = []
    previous: str | None = None
    for expected, row in enumerate(rows, start=1):
        sequence = row.get("sequence")
        if sequence != expected:
            breaks.append((expected, f"expected sequence {expected}, found {sequence}"))
        if row.get("practitioner_id") != practitioner_id:
            breaks.append((expected, "the row belongs to another practitioner"))
        if row.get("previous_hash") != previous:
            breaks.append((expected, "previous_hash does not match the row before"))
        if row_hash(row) != row.get("row_hash"):
            breaks.append((expected, "content does not match its row_hash"))
        previous = row.get("row_hash")
    return breaks


def extends(rows: list[dict[str, Any]], head: dict[str, Any]) -> str | None:
    """Return why the chain does not extend ``head`` (same row_hash at its sequence), or None when it does."""
    sequence = head["sequence"]
    if len(rows) < sequence:
        return f"the chain has {len(rows)} checks, fewer than the {sequence} already seen"
    if rows[sequence - 1].get("row_hash") != head["row_hash"]:
        return "row_hash differs"
    return None


# --- HTTP.


class Unreachable(Exception):
    """The server did not answer with the JSON asked for."""


class Missing(Unreachable):
    """The server answered 404."""


@dataclass
class Server:
    """The Meridian instance being verified."""

    base: str
    timeout: float = 30.0

    def get(self, path: str) -> Any:
        """GET ``path`` (relative to the base, or a ``next`` link's absolute path) and return its JSON."""
        url = urllib.parse.urljoin(self.base + "/", path)
        if not url.startswith(self.base + "/"):
            raise Unreachable(f"{url}: a link away from {self.base} is not followed")
        try:
            # The base URL was checked to be http(s) in main(); every URL fetched starts with it.
            with urllib.request.urlopen(url, timeout=self.timeout) as response:  # noqa: S310
                return json.load(response)
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                raise Missing(f"{url}: 404 not found") from None
            raise Unreachable(f"{url}: HTTP {exc.code}") from None
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise Unreachable(f"{url}: {exc}") from None

    def chain(self, slug: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """Return (first page, every check) of a practitioner's chain, following ``next`` links."""
        first = page = self.get(f"api/v1/practitioners/{urllib.parse.quote(slug, safe='')}/verification")
        rows = list(page["checks"])
        while page.get("next"):
            page = self.get(page["next"])
            rows.extend(page["checks"])
        return first, rows


# --- The signed statement.


@dataclass
class Signed:
    """The latest statement, once its signature and hash are checked (heads by practitioner id)."""

    number: int = 0
    sha256: str = ""
    heads: dict[str, dict[str, Any]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def check_statement(server: Server) -> Signed:
    """Fetch the key and the latest statement; return its heads, or the problems found with it."""
    key = server.get("api/v1/verification/key")
    signed = Signed()
    try:
        raw = base64.b64decode(key["public_key"], validate=True)
    except (binascii.Error, KeyError, TypeError):
        signed.problems.append("the published key is not base64")
        return signed
    if hashlib.sha256(raw).hexdigest() != key.get("key_id"):
        signed.problems.append("the published key_id is not the SHA-256 of the published key")
    listing = server.get("api/v1/verification/heads?per_page=1")
    if not listing.get("statements"):
        signed.problems.append("no signed statement of the chain heads has been published")
        return signed
    entry = listing["statements"][0]
    statement, text = entry["statement"], canonical_json(entry["statement"])
    signed.number, signed.sha256 = statement.get("number", 0), sha256_hex(text)
    if statement.get("algorithm") != "Ed25519" or statement.get("key_id") != key.get("key_id"):
        signed.problems.append(f"statement #{signed.number} names key {str(statement.get('key_id'))[:12]}, "
                               f"not the published key {str(key.get('key_id'))[:12]}")
    elif not _signature_ok(raw, text, entry.get("signature")):
        signed.problems.append(f"statement #{signed.number}: the signature does not verify with the published key")
    if entry.get("sha256") != signed.sha256:
        signed.problems.append(f"statement #{signed.number}: its sha256 does not match its content")
    if not signed.problems:
        signed.heads = {str(h["practitioner_id"]): h for h in statement.get("heads", [])}
    return signed


def _signature_ok(public: bytes, text: str, signature: Any) -> bool:
    """Tell whether ``signature`` (base64) signs ``text``."""
    try:
        raw = base64.b64decode(str(signature), validate=True)
    except binascii.Error:
        return False
    return ed25519_verify(public, text.encode("utf-8"), raw)


# --- One practitioner, then all of them.


@dataclass
class Verdict:
    """What was found for one practitioner: ok, or the first break and its reason."""

    slug: str
    ok: bool
    line: str
    pid: int | None = None
    head: dict[str, Any] | None = None


def verify_practitioner(server: Server, slug: str, signed: Signed, seen: dict[str, Any]) -> Verdict:
    """Recompute one practitioner's chain and compare it with the signed head and the head seen last run."""
    try:
        first, rows = server.chain(slug)
    except Missing:
        if any(head["slug"] == slug for head in signed.heads.values()):
            return Verdict(slug, False, f"{slug}: BROKEN: in the signed statement, but its chain is not published")
        if any(head.get("slug") == slug for head in seen.values()):
            return Verdict(slug, True, f"{slug}: withdrawn: no longer published (left the directory or hidden)")
        return Verdict(slug, False, f"{slug}: not found: no listed practitioner has this slug")
    pid = first["practitioner"]["id"]
    if first.get("canonical_form", {}).get("name") != CANONICAL_FORM:
        return Verdict(slug, False, f"{slug}: BROKEN: unknown canonical form {first.get('canonical_form')!r}", pid)
    problems = chain_breaks(rows, pid)
    for label, head in ((f"the signed head of statement #{signed.number}", signed.heads.get(str(pid))),
                        ("the head seen on the last run", seen.get(str(pid)))):
        if head and (reason := extends(rows, head)):
            problems.append((head["sequence"], f"does not extend {label}: {reason}"))
    if problems:
        sequence, reason = min(problems, key=lambda p: p[0])
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        return Verdict(slug, False, f"{slug}: BROKEN at sequence {sequence}: {reason}{more}", pid)
    head = {"slug": slug, "sequence": len(rows), "row_hash": rows[-1]["row_hash"]} if rows else None
    signed_at = signed.heads.get(str(pid), {}).get("sequence")
    note = f"signed head at {signed_at}" if signed_at else "not in the signed statement yet"
    suspended = ", listing suspended" if first.get("listing_status") == "suspended" else ""
    return Verdict(slug, True, f"{slug}: ok ({len(rows)} checks, {note}{suspended})", pid, head)


def load_state(path: str | None) -> dict[str, Any]:
    """Return the heads saved by the last run (empty when there is no state file yet)."""
    if not path or not os.path.exists(path):
        return {"statement": None, "heads": {}}
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)  # type: ignore[no-any-return]


def save_state(path: str, state: dict[str, Any]) -> None:
    """Write the state file atomically (a crash never leaves half a file)."""
    partial = path + ".partial"
    with open(partial, "w", encoding="utf-8") as handle:
        json.dump(state, handle, indent=2, sort_keys=True)
    os.replace(partial, path)


def _statement_moved_back(signed: Signed, state: dict[str, Any]) -> str | None:
    """Return why the latest statement contradicts the one seen last run, or None."""
    last = state.get("statement")
    if not last or not signed.number:
        return None
    if signed.number < last["number"]:
        return f"the latest statement is #{signed.number}, older than #{last['number']} seen on the last run"
    if signed.number == last["number"] and signed.sha256 != last["sha256"]:
        return f"statement #{signed.number} has changed since the last run"
    return None


def run(base: str, practitioner: str | None, state_path: str | None) -> int:
    """Verify everything (or one practitioner); print one line each; return the exit code."""
    server, state = Server(base.rstrip("/")), load_state(state_path)
    signed = check_statement(server)
    problems = list(signed.problems)
    if moved := _statement_moved_back(signed, state):
        problems.append(moved)
    for problem in problems:
        print(f"signed heads: BROKEN: {problem}")
    seen = state.get("heads", {})
    slugs = [practitioner] if practitioner else _slugs(signed, seen)
    verdicts = [verify_practitioner(server, slug, signed, seen) for slug in slugs]
    for verdict in verdicts:
        print(verdict.line)
    if state_path:
        _remember(state, signed, verdicts, problems, state_path)
    broken = [v for v in verdicts if not v.ok]
    print(f"{len(verdicts)} chains verified, {len(broken)} broken" + ("; signed heads not trusted" if problems else ""))
    return 1 if broken or problems else 0


def _slugs(signed: Signed, seen: dict[str, Any]) -> list[str]:
    """Return every practitioner in the signed statement, then those only seen on earlier runs."""
    slugs = [head["slug"] for head in signed.heads.values()]
    return slugs + [head["slug"] for pid, head in seen.items() if pid not in signed.heads]


def _remember(state: dict[str, Any], signed: Signed, verdicts: list[Verdict], problems: list[str], path: str) -> None:
    """Save the heads of chains that verified; a broken or withdrawn chain keeps the head it must still extend."""
    heads = dict(state.get("heads", {}))
    for verdict in verdicts:
        if verdict.ok and verdict.head and verdict.pid is not None:
            heads[str(verdict.pid)] = verdict.head
    statement = state.get("statement") if problems else {"number": signed.number, "sha256": signed.sha256}
    save_state(path, {"statement": statement, "heads": heads})


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and run the verification."""
    parser = argparse.ArgumentParser(description="Re-verify Meridian's public verification history over HTTP.")
    parser.add_argument("url", help="the site's base URL, e.g. https://meridian.example")
    parser.add_argument("--practitioner", metavar="SLUG", help="verify only this practitioner's chain")
    parser.add_argument("--state", metavar="FILE", help="JSON file keeping the heads seen, checked and updated")
    args = parser.parse_args(argv)
    if urllib.parse.urlsplit(args.url).scheme not in ("http", "https"):
        parser.error(f"the URL must start with http:// or https://, not {args.url!r}")
    try:
        return run(args.url, args.practitioner, args.state)
    except Unreachable as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except (KeyError, TypeError, AttributeError, IndexError) as exc:
        print(f"error: the server's answer is not in the documented format ({exc!r})", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
