"""The NPI registry source: a client for the public NPPES API (v2.1) and the comparison of its record.

NPPES data is self-reported by providers, so a matching record verifies the NPI credential
only; licences need their own primary-source checks (see each source's ``credential_kinds``).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

import requests
from flask import current_app
from requests.adapters import HTTPAdapter
from urllib3 import exceptions as urllib3_exceptions
from urllib3.util.retry import Retry

from directory.vetting.names import last_name_keys, same_person_name

DEFAULT_URL = "https://npiregistry.cms.hhs.gov/api/"
API_VERSION = "2.1"
ACUPUNCTURIST_TAXONOMY = "171100000X"  # NUCC code "Acupuncturist"
RETRY_STATUSES = (429, 500, 502, 503, 504)


class NpiRegistryError(Exception):
    """The registry could not give an answer (timeout, 5xx, malformed JSON, an ``Errors`` body)."""

    def __init__(self, reason: str, *, status_code: int | None = None, body: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.status_code = status_code
        self.body = body


@dataclass(frozen=True)
class NpiResponse:
    """A well-formed registry answer: the URL asked and the decoded JSON body."""

    url: str
    status_code: int
    body: dict[str, Any]

    @property
    def results(self) -> list[dict[str, Any]]:
        """Return the result records (empty when the NPI is unknown)."""
        return list(self.body.get("results") or [])


class NpiRegistryClient:
    """Look NPIs up in the NPPES registry with timeouts and retries with exponential backoff."""

    def __init__(self, base_url: str = DEFAULT_URL, *, timeout: float = 10.0, retries: int = 3,
                 backoff: float = 0.5) -> None:
        self.base_url = base_url
        self.timeout = (min(timeout, 3.05), timeout)  # (connect, read), as the requests docs advise
        self.session = requests.Session()
        # urllib3 retries connection errors, read timeouts and the listed statuses (GET is idempotent).
        retry = Retry(total=retries, connect=retries, read=retries, status=retries, backoff_factor=backoff,
                      status_forcelist=RETRY_STATUSES, allowed_methods=frozenset({"GET"}), raise_on_status=False)
        adapter = HTTPAdapter(max_retries=retry)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self.session.headers.update({"Accept": "application/json", "User-Agent": "Meridian-vetting/1"})

    @classmethod
    def from_config(cls) -> NpiRegistryClient:
        """Return a client configured from NPI_REGISTRY_URL / _TIMEOUT_S / _RETRIES / _BACKOFF_S."""
        config = current_app.config
        return cls(config.get("NPI_REGISTRY_URL") or DEFAULT_URL,
                   timeout=float(config.get("NPI_REGISTRY_TIMEOUT_S", 10.0)),
                   retries=int(config.get("NPI_REGISTRY_RETRIES", 3)),
                   backoff=float(config.get("NPI_REGISTRY_BACKOFF_S", 0.5)))

    def request_url(self, number: str) -> str:
        """Return the URL a lookup of ``number`` asks (recorded as the check's reference)."""
        prepared = requests.Request("GET", self.base_url, params=self._params(number)).prepare()
        return str(prepared.url)

    @staticmethod
    def _params(number: str) -> dict[str, str]:
        """Return the query string of a lookup."""
        return {"version": API_VERSION, "number": number}

    def lookup(self, number: str) -> NpiResponse:
        """Return the registry's answer for one NPI, or raise NpiRegistryError."""
        try:
            response = self.session.get(self.base_url, params=self._params(number), timeout=self.timeout)
        except requests.RequestException as exc:
            if _timed_out(exc):
                raise NpiRegistryError(f"the registry did not answer within {self.timeout[1]:g} s") from None
            raise NpiRegistryError(f"the registry could not be reached: {type(exc).__name__}") from None
        return _decode(response)

    def search(self, params: dict[str, str]) -> NpiResponse:
        """Return one page of a registry search (``params`` without ``version``), or raise NpiRegistryError."""
        try:
            response = self.session.get(self.base_url, params={"version": API_VERSION, **params}, timeout=self.timeout)
        except requests.RequestException as exc:
            if _timed_out(exc):
                raise NpiRegistryError(f"the registry did not answer within {self.timeout[1]:g} s") from None
            raise NpiRegistryError(f"the registry could not be reached: {type(exc).__name__}") from None
        return _decode(response)

    def close(self) -> None:
        """Release pooled connections."""
        self.session.close()


def _timed_out(exc: requests.RequestException) -> bool:
    """Tell whether a request failed by timing out (after retries urllib3 wraps the timeout in MaxRetryError)."""
    if isinstance(exc, requests.Timeout):
        return True
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    # urllib3 keeps NewConnectionError a subclass of ConnectTimeoutError for compatibility: a refusal is no timeout.
    if isinstance(reason, urllib3_exceptions.NewConnectionError):
        return False
    return isinstance(reason, TimeoutError | urllib3_exceptions.TimeoutError)


def _decode(response: requests.Response) -> NpiResponse:
    """Turn an HTTP response into an NpiResponse, or raise NpiRegistryError saying what was wrong."""
    text = response.text
    if response.status_code != 200:
        raise NpiRegistryError(f"the registry answered HTTP {response.status_code}", status_code=response.status_code,
                               body=text[:2000])
    try:
        body = response.json()
    except ValueError:
        raise NpiRegistryError("the registry answered malformed JSON", status_code=200, body=text[:2000]) from None
    if not isinstance(body, dict):
        raise NpiRegistryError("the registry answered JSON of an unexpected shape", status_code=200, body=text[:2000])
    if body.get("Errors"):
        descriptions = "; ".join(str(e.get("description", e)) for e in body["Errors"] if isinstance(e, dict))
        raise NpiRegistryError(f"the registry refused the query: {descriptions or body['Errors']}", status_code=200,
                               body=text[:2000])
    if not isinstance(body.get("results", []), list) or "result_count" not in body:
        raise NpiRegistryError("the registry answered without result_count/results", status_code=200,
                               body=text[:2000])
    return NpiResponse(str(response.url), response.status_code, body)


def npi_is_valid(number: str) -> bool:
    """Tell whether ``number`` is a well-formed NPI (10 digits, Luhn check digit over the 80840 prefix)."""
    if not re.fullmatch(r"\d{10}", number or ""):
        return False
    total = 0
    for i, ch in enumerate(reversed("80840" + number)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


@dataclass(frozen=True)
class Expected:
    """What Meridian holds about the practitioner, to compare with the registry record."""

    first_name: str
    last_name: str
    former_last_names: tuple[str, ...] = ()
    gender: str = "unspecified"
    licences: tuple[tuple[str, str], ...] = ()  # (state, number)
    locations: tuple[tuple[str, str, str], ...] = ()  # (state, 5-digit ZIP, city) of US locations


@dataclass(frozen=True)
class Finding:
    """One compared field: ``ok``, ``review`` (a person should look) or ``mismatch`` (fails the check)."""

    field: str
    result: str
    expected: str = ""
    found: str = ""
    note: str = ""


@dataclass
class Comparison:
    """All findings for one registry record, and the outcome they add up to."""

    findings: list[Finding] = field(default_factory=list)

    @property
    def outcome(self) -> str:
        """Return fail on any mismatch, needs_review on anything to review, else pass."""
        results = {f.result for f in self.findings}
        return "fail" if "mismatch" in results else "needs_review" if "review" in results else "pass"

    def as_evidence(self) -> list[dict[str, str]]:
        """Return the findings as JSON-ready dicts."""
        return [asdict(f) for f in self.findings]


def compare_record(record: dict[str, Any], expected: Expected) -> Comparison:
    """Compare one registry record (``results[0]``) with what Meridian holds."""
    basic = record.get("basic") or {}
    comparison = Comparison()
    add = comparison.findings.append
    kind = str(record.get("enumeration_type", ""))
    add(Finding("enumeration_type", "ok" if kind == "NPI-1" else "mismatch", "NPI-1", kind,
                "" if kind == "NPI-1" else "the NPI belongs to an organisation, not a person"))
    status = str(basic.get("status", ""))
    add(Finding("status", "ok" if status == "A" else "mismatch", "A", status,
                "" if status == "A" else "the NPI is not active"))
    add(_name_finding(basic, expected))
    add(_gender_finding(basic, expected))
    taxonomies = [t for t in record.get("taxonomies") or [] if isinstance(t, dict)]
    add(_taxonomy_finding(taxonomies))
    comparison.findings.extend(_licence_findings(taxonomies, expected))
    address = _address_finding(record.get("addresses") or [], expected)
    if address is not None:
        add(address)
    return comparison


def _name_finding(basic: dict[str, Any], expected: Expected) -> Finding:
    """Compare names: a different last name fails, a different first name needs a look."""
    first, last = str(basic.get("first_name", "")), str(basic.get("last_name", ""))
    wanted = f"{expected.first_name} {expected.last_name}"
    found = f"{first} {last}".strip()
    last_names = (expected.last_name, *expected.former_last_names)
    if any(same_person_name(expected.first_name, name, first, last) for name in last_names):
        return Finding("name", "ok", wanted, found)
    if any(last_name_keys(name) & last_name_keys(last) for name in last_names):
        return Finding("name", "review", wanted, found, "the last name matches, the first name does not")
    return Finding("name", "mismatch", wanted, found, "the registry lists someone else under this NPI")


def _gender_finding(basic: dict[str, Any], expected: Expected) -> Finding:
    """Compare the registry's sex/gender code (v2.1 has used both ``gender`` and ``sex``) when both sides have one."""
    code = str(basic.get("sex") or basic.get("gender") or "").upper()
    found = {"F": "female", "M": "male"}.get(code, code.lower())
    if expected.gender not in ("female", "male") or found not in ("female", "male"):
        return Finding("gender", "ok", expected.gender, found, "not compared")
    return Finding("gender", "ok" if found == expected.gender else "review", expected.gender, found)


def _taxonomy_finding(taxonomies: list[dict[str, Any]]) -> Finding:
    """Look for the acupuncturist taxonomy (a physician acupuncturist may list another one)."""
    codes = ", ".join(str(t.get("code", "")) for t in taxonomies)
    if any(t.get("code") == ACUPUNCTURIST_TAXONOMY for t in taxonomies):
        return Finding("taxonomy", "ok", ACUPUNCTURIST_TAXONOMY, codes)
    return Finding("taxonomy", "review", ACUPUNCTURIST_TAXONOMY, codes, "no Acupuncturist taxonomy listed")


def _licence_key(number: str) -> str:
    """Return a licence number upper-case, without punctuation, spaces or zeros leading a run of digits."""
    return re.sub(r"(?<![0-9])0+(?=[0-9])", "", re.sub(r"[^0-9A-Z]", "", number.upper()))


def _licence_findings(taxonomies: list[dict[str, Any]], expected: Expected) -> list[Finding]:
    """Compare each licence credential with the taxonomy entries' state and licence number."""
    listed = {(str(t.get("state", "")).upper(), _licence_key(str(t.get("license", "")))) for t in taxonomies}
    found = ", ".join(f"{t.get('state', '')} {t.get('license', '')}".strip() for t in taxonomies)
    findings = []
    for state, number in expected.licences:
        ok = (state.upper(), _licence_key(number)) in listed
        findings.append(Finding("licence", "ok" if ok else "review", f"{state} {number}", found,
                                "" if ok else "the registry lists no such licence (self-reported data)"))
    return findings


def _address_finding(addresses: list[Any], expected: Expected) -> Finding | None:
    """Compare LOCATION addresses with the practitioner's US locations (state and ZIP, or state and city)."""
    if not expected.locations:
        return None
    places = [a for a in addresses if isinstance(a, dict) and a.get("address_purpose") == "LOCATION"]
    found = "; ".join(f"{a.get('city', '')}, {a.get('state', '')} {str(a.get('postal_code', ''))[:5]}" for a in places)
    for a in places:
        state, zip5, city = str(a.get("state", "")).upper(), str(a.get("postal_code", ""))[:5], str(a.get("city", ""))
        for want_state, want_zip, want_city in expected.locations:
            if state == want_state.upper() and (zip5 == want_zip or city.strip().lower() == want_city.strip().lower()):
                return Finding("address", "ok", _places(expected), found)
    return Finding("address", "review", _places(expected), found, "no practice location matches the registry's")


def _places(expected: Expected) -> str:
    """Return the expected locations as text."""
    return "; ".join(f"{city}, {state} {zip5}" for state, zip5, city in expected.locations)
