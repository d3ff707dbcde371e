"""Locust users for bench/load.py: visitors who search and browse, patients and practitioners who sign in and write.

Runs in .venv-bench (Locust pins its own Flask and pulls gevent), driven by bench/load.py as
``locust --headless -f bench/locustfile.py --plan PLAN.json --samples OUT.jsonl --max-requests N``. It reads
everything it sends from the plan load.py wrote (the query mix, profile slugs, bench accounts) and talks HTTP
only. Every simulated user is one visitor behind the production reverse proxy: its own client address in
``X-Forwarded-For`` (the server runs with ``TRUSTED_PROXIES=1``), so Flask-Limiter keys each visitor apart as it
does in production, and ``X-Forwarded-Proto: https`` (TLS ends at the proxy).
"""

from __future__ import annotations

import itertools
import json
import random
import sys
import time
from http.cookiejar import DefaultCookiePolicy
from pathlib import Path
from typing import Any

import gevent
from locust import HttpUser, between, events, task

sys.path.insert(0, str(Path(__file__).resolve().parent))
from load_mix import (  # noqa: E402
    api_search_path,
    appointment_request,
    expected_search_statuses,
    listing_edit,
    own_form_fields,
    poisson_pacing,
    profile_path,
    require_loopback,
    search_page_path,
    suggest_path,
    visitor_address,
)

PLAN: dict[str, Any] = {}
ENVIRONMENT: list[Any] = []  # the one Locust environment, kept at init for the request listener
SAMPLES: list[tuple[float, str, float, bool, int]] = []
VISITORS = itertools.count()
EDITS = itertools.count(1)


class TlsAtTheProxy(DefaultCookiePolicy):
    """Keep the app's Secure cookies as plain ones: TLS ends at the reverse proxy, this client speaks HTTP behind it.

    (requests copies the session's cookies into a fresh jar with the default policy for every request, so the
    flag itself has to go when the cookie is stored.)
    """

    def set_ok(self, cookie: Any, request: Any) -> bool:
        cookie.secure = False
        return bool(super().set_ok(cookie, request))


@events.init_command_line_parser.add_listener
def _options(parser: Any) -> None:
    parser.add_argument("--plan", default="", help="JSON plan written by bench/load.py (required to run)")
    parser.add_argument("--samples", default="samples.jsonl", help="where to write one JSON line per request")
    parser.add_argument("--max-requests", type=int, default=100_000, help="stop after this many requests")


@events.init.add_listener
def _load_plan(environment: Any, **_: Any) -> None:
    if not environment.parsed_options.plan:
        raise SystemExit("--plan is required: run this through bench/load.py")
    require_loopback(environment.host or "")
    ENVIRONMENT.append(environment)
    PLAN.update(json.loads(Path(environment.parsed_options.plan).read_text()))
    for user_class in environment.user_classes:
        user_class.weight = PLAN["weights"][user_class.__name__]
        user_class.wait_time = poisson_pacing(PLAN["pacing_s"])


@events.request.add_listener
def _record(request_type: str, name: str, response_time: float, response_length: int, exception: Any = None,
            response: Any = None, context: Any = None, **_: Any) -> None:
    status = getattr(response, "status_code", 0) or 0
    SAMPLES.append((time.time(), name, response_time, exception is None, status))
    environment = ENVIRONMENT[0]
    if len(SAMPLES) == environment.parsed_options.max_requests and environment.runner is not None:
        gevent.spawn(environment.runner.quit)


@events.quitting.add_listener
def _write_samples(environment: Any, **_: Any) -> None:
    with open(environment.parsed_options.samples, "w") as out:
        for sample in SAMPLES:
            out.write(json.dumps(sample) + "\n")


class _Visitor(HttpUser):
    """One person behind the proxy: a client address of their own, HTTPS as the app sees it."""

    abstract = True
    wait_time = between(0.5, 1.5)  # replaced by the plan's pacing in _load_plan

    def on_start(self) -> None:
        self.number = next(VISITORS)
        self.rng = random.Random(self.number)
        # With several web processes each visitor sticks to one, as behind a proxy hashing client addresses.
        self.host = self.client.base_url = PLAN["hosts"][self.number % len(PLAN["hosts"])]
        self.client.cookies.set_policy(TlsAtTheProxy())
        self.client.headers.update({"X-Forwarded-For": visitor_address(self.number + PLAN["address_offset"]),
                                    "X-Forwarded-Proto": "https"})

    def get(self, path: str, name: str, expected: tuple[int, ...] = (200,)) -> Any:
        """GET ``path``; anything but an expected status (a 429 too) is a failure."""
        with self.client.get(path, name=name, allow_redirects=False, catch_response=True) as response:
            if response.status_code in expected:
                response.success()
            else:
                response.failure(f"{response.status_code} on {path}")
            return response

    def post_form(self, path: str, fields: list[tuple[str, str]], name: str) -> Any:
        """POST a form as a browser does over HTTPS: a same-origin Referer (Flask-WTF checks it), a 303 answer."""
        referer = self.host.replace("http://", "https://", 1) + path
        with self.client.post(path, data=fields, name=name, allow_redirects=False, catch_response=True,
                              headers={"Referer": referer}) as response:
            if response.status_code == 303:
                response.success()
            else:
                response.failure(f"{response.status_code} on POST {path}")
            return response

    def form(self, path: str, name: str) -> list[tuple[str, str]] | None:
        """GET a page and return its own form's fields, or None when the page failed."""
        response = self.get(path, name)
        return own_form_fields(response.text) if response.status_code == 200 else None

    def search_page(self) -> None:
        """Open the results page for one query of the mix."""
        params = self.rng.choice(PLAN["searches"])
        self.get(search_page_path(params), "search page", expected_search_statuses(params))

    def profile(self) -> None:
        """Open one practitioner's public profile."""
        self.get(profile_path(self.rng.choice(PLAN["profiles"])), "profile")


class Browsing(_Visitor):
    """An anonymous visitor: the search page, the JSON API (the map and other clients), profiles, autocomplete."""

    @task(30)
    def search(self) -> None:
        self.search_page()

    @task(20)
    def api(self) -> None:
        params = self.rng.choice(PLAN["searches"])
        self.get(api_search_path(params), "api search", expected_search_statuses(params))

    @task(25)
    def open_profile(self) -> None:
        self.profile()

    @task(20)
    def suggest(self) -> None:
        self.get(suggest_path(self.rng.choice(PLAN["prefixes"])), "suggest")

    @task(5)
    def home(self) -> None:
        self.get("/", "home")


class _SignedIn(_Visitor):
    """A visitor with an account of the plan's ``kind``, signed in at start."""

    abstract = True
    kind = ""

    def on_start(self) -> None:
        super().on_start()
        self.account = PLAN[self.kind][self.number % len(PLAN[self.kind])]
        self.sign_in()

    def sign_in(self) -> None:
        """Sign in through the form, with the CSRF token it carries."""
        fields = self.form("/sign-in", "sign-in form")
        if fields is not None:
            fields = [(k, v) for k, v in fields if k not in ("email", "password")]
            self.post_form("/sign-in", [*fields, ("email", self.account["email"]),
                                        ("password", self.account["password"])], "sign-in")

    @task(1)
    def sign_in_again(self) -> None:
        self.client.cookies.clear()
        self.sign_in()


class Patient(_SignedIn):
    """A signed-in patient: searches, reads profiles, and now and then asks a practitioner for an appointment."""

    kind = "patients"

    @task(5)
    def search(self) -> None:
        self.search_page()

    @task(5)
    def open_profile(self) -> None:
        self.profile()

    @task(2)
    def request_appointment(self) -> None:
        slug = self.rng.choice(PLAN["practitioners"])["slug"]
        fields = self.form(f"/referrals/new/{slug}", "request form")
        if fields is not None:
            self.post_form(f"/referrals/new/{slug}", appointment_request(fields, self.number), "request send")


class Practitioner(_SignedIn):
    """A signed-in practitioner: reads the inbox, edits the listing (a change that goes through the outbox)."""

    kind = "practitioners"

    @task(3)
    def inbox(self) -> None:
        self.get("/referrals", "inbox")

    @task(2)
    def edit_listing(self) -> None:
        path = f"/practitioners/{self.account['slug']}/edit"
        fields = self.form(path, "listing form")
        if fields is not None:
            self.post_form(path, listing_edit(fields, next(EDITS)), "listing save")
