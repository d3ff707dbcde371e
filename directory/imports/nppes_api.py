"""Import acupuncturists from the public NPPES API (v2.1), slice by slice, resumably and politely.

The API returns at most 200 results a page and skips at most 1,000, so one query sees at most
1,200 results. A slice whose pages fill that window is split by ZIP prefix (``021*`` into
``0210*`` .. ``0219*``, as far as five digits) until every slice fits. Progress is stored per
slice in ``import_slice`` and committed after every page: a crashed run resumes where it
stopped, and a finished run re-run updates the same listings (they are keyed by NPI).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode

from flask import current_app
from sqlalchemy import select

from directory.clock import utcnow
from directory.extensions import db
from directory.geo.text import normalize_name
from directory.geo.zips import zip_index
from directory.imports.listings import Address, RegistryRecord, Tally, upsert_listing
from directory.imports.models import ImportRun, ImportSlice
from directory.vetting.services import record_registry_answer
from directory.vetting.sources.npi import ACUPUNCTURIST_TAXONOMY, NpiRegistryClient, NpiRegistryError, npi_is_valid

SOURCE = "nppes_api"
PAGE_SIZE = 200  # the API's largest ``limit``
MAX_SKIP = 1000  # the API's largest ``skip``
WINDOW = MAX_SKIP + PAGE_SIZE  # results one query can reach
DEFAULT_DELAY_SECONDS = 1.0

NOT_ACUPUNCTURIST = "skipped: no Acupuncturist (171100000X) taxonomy"
ORGANISATION = "skipped: organisation (NPI-2)"
BAD_NPI = "skipped: bad NPI check digit"
INACTIVE = "skipped: NPI not active"
MAILING_ONLY = "skipped: mailing address only (no practice location)"
NO_NAME = "skipped: individual without a name"
REPEATED = "skipped: already imported by another slice of this run"
CHECKS = "NPI-registry checks recorded"
PAGES = "pages fetched"


@dataclass
class ApiReport:
    """What a run did: its id, whether it resumed, the counts, and each slice that failed with its reason."""

    run_id: int
    resumed: bool
    tally: Tally = field(default_factory=Tally)
    errors: list[str] = field(default_factory=list)


def query_key(params: dict[str, str]) -> str:
    """Return the canonical text of a query (sorted, URL-encoded), used to find a run or slice again."""
    return urlencode(sorted((k, v) for k, v in params.items() if v))


def import_from_api(state: str, city: str = "", postal_code: str = "", *, client: NpiRegistryClient,
                    on_page: Callable[[ImportSlice, int], None] | None = None) -> ApiReport:
    """Import every acupuncturist the API lists for the query, resuming an unfinished run of the same query."""
    root = {"state": state.upper(), "city": city.upper(), "postal_code": postal_code}
    run, resumed = _open_run(query_key(root))
    report = ApiReport(run.id, resumed)
    seen: set[str] = set()
    for piece in _pending_slices(run):
        _import_slice(piece, client, report, seen, on_page)
    run.state, run.finished_at = "done", utcnow()
    run.summary = json.dumps({"counts": dict(report.tally.counts), "errors": report.errors})
    db.session.commit()
    return report


def _open_run(key: str) -> tuple[ImportRun, bool]:
    """Return the unfinished run of this query (resumed) or a new one with the whole query as its first slice."""
    run = db.session.scalar(select(ImportRun).where(ImportRun.query_key == key, ImportRun.state == "running")
                            .order_by(ImportRun.id.desc()).limit(1))
    if run is not None:
        return run, True
    run = ImportRun(query_key=key)
    db.session.add(run)
    db.session.flush()
    db.session.add(ImportSlice(run_id=run.id, query_key=key))
    db.session.commit()
    return run, False


def _pending_slices(run: ImportRun) -> Iterator[ImportSlice]:
    """Yield the run's pending slices in order, including those split off while iterating."""
    while True:
        piece = db.session.scalar(select(ImportSlice).where(ImportSlice.run_id == run.id,
                                                            ImportSlice.state == "pending").order_by(ImportSlice.id))
        if piece is None:
            return
        yield piece


def _import_slice(piece: ImportSlice, client: NpiRegistryClient, report: ApiReport, seen: set[str],
                  on_page: Callable[[ImportSlice, int], None] | None) -> None:
    """Fetch a slice page by page from where it stopped, committing progress after each page."""
    params = dict(parse_qsl(piece.query_key))
    while piece.state == "pending":
        if piece.next_skip >= WINDOW:
            _split(piece, params, report)
            break
        try:
            page = client.search(_page_params(params, piece.next_skip))
        except NpiRegistryError as exc:
            piece.state, piece.error = "error", exc.reason
            report.errors.append(f"{_describe(params)}: {exc.reason}")
            db.session.commit()
            break
        report.tally.add(PAGES)
        for result in page.results:
            _import_result(result, page.url, report.tally, seen)
        piece.next_skip += len(page.results)
        if len(page.results) < PAGE_SIZE:
            piece.state = "done"
        db.session.commit()
        if on_page is not None:
            on_page(piece, len(page.results))
        _pause()


def _page_params(params: dict[str, str], skip: int) -> dict[str, str]:
    """Return the query string of one page (practice-location addresses only, acupuncturists only)."""
    query = {"taxonomy_description": "Acupuncturist", "address_purpose": "LOCATION", "limit": str(PAGE_SIZE),
             "skip": str(skip), **params}
    if len(params.get("postal_code", "")) < 5 and params.get("postal_code"):
        query["postal_code"] = params["postal_code"] + "*"  # the API's trailing wildcard (two characters or more)
    return query


def _pause() -> None:
    """Wait NPPES_IMPORT_DELAY_SECONDS between requests: the registry is a public service."""
    delay = float(current_app.config.get("NPPES_IMPORT_DELAY_SECONDS", DEFAULT_DELAY_SECONDS))
    if delay > 0:
        time.sleep(delay)


def _split(piece: ImportSlice, params: dict[str, str], report: ApiReport) -> None:
    """Replace a slice that filled the 1,200-result window by one slice per longer ZIP prefix."""
    prefixes = child_prefixes(params["state"], params.get("city", ""), params.get("postal_code", ""))
    if not prefixes:
        piece.state, piece.error = "error", "more than 1,200 results and no narrower ZIP prefix to split by"
        report.errors.append(f"{_describe(params)}: {piece.error}")
    else:
        piece.state = "split"
        for prefix in prefixes:
            db.session.add(ImportSlice(run_id=piece.run_id, query_key=query_key({**params, "postal_code": prefix})))
        report.tally.add("slices split (1,200 results or more)")
    db.session.commit()


def child_prefixes(state: str, city: str, postal_code: str) -> list[str]:
    """Return the next-longer ZIP prefixes of the state's (or city's) ZIP codes under ``postal_code``."""
    length = max(len(postal_code) + 1, 3)
    if len(postal_code) >= 5:
        return []
    city_key = normalize_name(city) if city else ""
    zips = zip_index().in_city(city_key, state) if city_key else [
        z for z in zip_index().by_code.values() if z.state == state]
    return sorted({z.code[:length] for z in zips if z.code.startswith(postal_code)})


def _describe(params: dict[str, str]) -> str:
    """Return a slice as people read it: "state MA, postal code 021*"."""
    return ", ".join(f"{k.replace('_', ' ')} {v}{'*' if k == 'postal_code' and len(v) < 5 else ''}"
                     for k, v in sorted(params.items()))


def _import_result(result: dict[str, Any], url: str, tally: Tally, seen: set[str]) -> None:
    """Import one search result as a listing with its NPI-registry check, or count why not."""
    record, reason = registry_record(result)
    if record is None:
        tally.add(reason)
        return
    if record.npi in seen:
        tally.add(REPEATED)
        return
    seen.add(record.npi)
    practitioner = upsert_listing(record, SOURCE, tally)
    if practitioner is not None:
        record_registry_answer(practitioner, {"result_count": 1, "results": [result]}, url)
        tally.add(CHECKS)


def registry_record(result: dict[str, Any]) -> tuple[RegistryRecord | None, str]:
    """Return an API result as a registry record, or None and the reason it is not imported."""
    taxonomies = [t for t in result.get("taxonomies") or [] if isinstance(t, dict)]
    acupuncture = [t for t in taxonomies if t.get("code") == ACUPUNCTURIST_TAXONOMY]
    basic = result.get("basic") or {}
    number = str(result.get("number", ""))
    if not acupuncture:
        return None, NOT_ACUPUNCTURIST
    if result.get("enumeration_type") != "NPI-1":
        return None, ORGANISATION
    if not npi_is_valid(number):
        return None, BAD_NPI
    if basic.get("status", "A") != "A":
        return None, INACTIVE
    location = next((a for a in result.get("addresses") or [] if isinstance(a, dict)
                     and a.get("address_purpose") == "LOCATION"), None)
    if location is None or not str(location.get("address_1", "")).strip():
        return None, MAILING_ONLY
    if not str(basic.get("first_name", "")).strip() or not str(basic.get("last_name", "")).strip():
        return None, NO_NAME
    sex = str(basic.get("sex") or basic.get("gender") or "").upper()
    return RegistryRecord(
        npi=number, first_name=str(basic.get("first_name", "")).strip(),
        last_name=str(basic.get("last_name", "")).strip(), credential_text=str(basic.get("credential", "")),
        gender={"F": "female", "M": "male"}.get(sex, "unspecified"),
        address=Address(str(location.get("address_1", "")).strip(), str(location.get("address_2", "")).strip(),
                        str(location.get("city", "")).strip(), str(location.get("state", "")).strip().upper(),
                        str(location.get("postal_code", "")).strip(), str(location.get("country_code") or "US"),
                        str(location.get("telephone_number", ""))),
        licences=tuple((str(t.get("state", "")).upper(), str(t.get("license", "")).strip())
                       for t in acupuncture if t.get("license"))), ""
