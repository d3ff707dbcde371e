"""What one simulated visitor of bench/load.py sends: request paths, form reading, the loopback guard. Stdlib only.

Shared by the Locust users (bench/locustfile.py, which runs in .venv-bench without the app's packages) and by
tests/functional/test_bench_load.py, which replays the same requests against the app, so a flow that the app
refuses (a renamed field, a new CSRF rule) fails there rather than as a wall of errors in a load run.
"""

from __future__ import annotations

import ipaddress
import random
import time
from collections.abc import Callable
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlencode, urlsplit

LOOPBACK_NAMES = ("localhost",)
API_PATH = "/api/v1/practitioners/search"
# Fields a browser never submits (no value to send) or that this load test leaves alone (the photo).
UNSENT_INPUT_TYPES = ("submit", "button", "reset", "image", "file")


def poisson_pacing(mean_s: float, clock: Callable[[], float] = time.monotonic) -> Callable[[Any], float]:
    """Return a Locust ``wait_time``: each user starts tasks as a Poisson process, on average one per ``mean_s``.

    Independent visitors arrive at random moments. ``constant_pacing`` keeps every user on the phase it was
    spawned with, and Locust spawns a ramp's users in batches each second, so with a 1 s pacing all of them
    fired within a few milliseconds of each other every second: a burst of N requests that queued behind one
    another while the server idled the rest of the second (p95 grew with N at 12 % CPU). The next start is
    drawn from the user's own ``rng`` (one per visitor, reproducible) and never lies in the past, so a slow
    answer delays the user rather than making it catch up in a burst.
    """
    def wait_time(user: Any) -> float:
        now = clock()
        rng = getattr(user, "rng", None) or random
        start = max(getattr(user, "_next_start", now), now)
        user._next_start = start + rng.expovariate(1.0 / mean_s)
        return max(0.0, user._next_start - now)
    return wait_time


class NotLoopback(ValueError):
    """The load test only ever targets this machine."""


def require_loopback(url: str) -> str:
    """Return ``url`` if its host is 127.0.0.0/8, ::1 or localhost; refuse any other target."""
    host = urlsplit(url if "//" in url else f"//{url}").hostname or ""
    if host.lower() in LOOPBACK_NAMES:
        return url
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise NotLoopback(f"refusing to load-test {url!r}: only 127.0.0.1, ::1 or localhost (this machine)")
    return url


def search_page_path(params: dict[str, Any]) -> str:
    """Return the HTML search page's URL for one query of the mix."""
    return "/search?" + urlencode(params, doseq=True)


def api_search_path(params: dict[str, Any]) -> str:
    """Return the JSON search API's URL for one query of the mix."""
    return f"{API_PATH}?" + urlencode(params, doseq=True)


def profile_path(slug: str) -> str:
    """Return a practitioner's public profile URL."""
    return f"/practitioners/{slug}"


def suggest_path(prefix: str) -> str:
    """Return the search box's autocomplete URL for what the visitor typed so far."""
    return "/search/suggest?" + urlencode({"q": prefix})


def expected_search_statuses(params: dict[str, Any]) -> tuple[int, ...]:
    """Return the statuses a search of the mix may answer: a page past the last one is a 400 by design."""
    return (200, 400) if int(params.get("page", 1)) > 1 else (200,)


def visitor_address(index: int) -> str:
    """Return the client address the reverse proxy reports for simulated visitor ``index`` (one per visitor)."""
    # 10.0.0.0/8 is private: 16.7M distinct visitors, never a real one.
    return str(ipaddress.IPv4Address(int(ipaddress.IPv4Address("10.0.0.1")) + index))


class _FormReader(HTMLParser):
    """Collect the controls of the first POST form that submits to its own page (no ``action``)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.fields: list[tuple[str, str]] = []
        self.found = False
        self._inside = False
        self._done = False
        self._textarea: str | None = None
        self._select: str | None = None
        self._select_options: list[tuple[str, bool]] = []
        self._text: list[str] = []
        self._option: dict[str, str | None] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "form" and not self._done and not self._inside:
            self._inside = (a.get("method") or "get").lower() == "post" and not a.get("action")
            self.found = self.found or self._inside
        elif self._inside:
            self._control(tag, a)

    def _control(self, tag: str, a: dict[str, str | None]) -> None:
        name = a.get("name")
        if tag == "input" and name and (a.get("type") or "text").lower() not in UNSENT_INPUT_TYPES:
            kind = (a.get("type") or "text").lower()
            if kind not in ("checkbox", "radio") or "checked" in a:
                value = a.get("value")
                self.fields.append((name, value if value is not None else ("on" if kind == "checkbox" else "")))
        elif tag == "textarea" and name:
            self._textarea, self._text = name, []
        elif tag == "select" and name:
            self._select, self._select_options = name, []
        elif tag == "option" and self._select is not None:
            self._option = a
            self._text = []

    def handle_data(self, data: str) -> None:
        if self._textarea is not None or self._option is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "form" and self._inside:
            self._inside, self._done = False, True
        elif tag == "textarea" and self._textarea is not None:
            self.fields.append((self._textarea, "".join(self._text).removeprefix("\n")))
            self._textarea = None
        elif tag == "option" and self._option is not None:
            value = self._option.get("value")
            self._select_options.append((value if value is not None else "".join(self._text).strip(),
                                         "selected" in self._option))
            self._option = None
        elif tag == "select" and self._select is not None:
            chosen = [value for value, selected in self._select_options if selected]
            if not chosen and self._select_options:
                chosen = [self._select_options[0][0]]  # what a browser submits for a single select
            self.fields.extend((self._select, value) for value in chosen)
            self._select = None


def own_form_fields(html: str) -> list[tuple[str, str]]:
    """Return what a browser would submit from the page's own POST form (hidden CSRF token included)."""
    reader = _FormReader()
    reader.feed(html)
    if not reader.found:
        raise ValueError("the page has no POST form that submits to itself")
    return reader.fields


def with_values(fields: list[tuple[str, str]], **values: str) -> list[tuple[str, str]]:
    """Return ``fields`` with each named field set to one value (added when the form did not carry it)."""
    kept = [(name, value) for name, value in fields if name not in values]
    return kept + list(values.items())


def appointment_request(fields: list[tuple[str, str]], number: int) -> list[tuple[str, str]]:
    """Return the patient's request form filled in, screening flags acknowledged."""
    return with_values(fields, reason=f"Lower back pain for three weeks (load test request {number}).",
                       preferred_times="Weekday mornings", flags_acknowledged="y")


def listing_edit(fields: list[tuple[str, str]], number: int) -> list[tuple[str, str]]:
    """Return the practitioner's listing form with one searchable field changed (the bio)."""
    return with_values(fields, bio=f"Evidence-informed acupuncture for back and neck pain. Revision {number}.")
