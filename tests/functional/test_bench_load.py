"""bench/load.py's pieces work against the real app: every request its Locust users send is one the app accepts.

The request paths and form handling come from bench/load_mix.py, the module the Locust users import, so a flow
the app stopped accepting (a renamed field, a new required one) fails here rather than as errors in a load run.
Locust itself is a bench tool installed in .venv-bench only; the one test that imports it skips without it.
"""

from __future__ import annotations

import importlib.util
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from directory.accounts.passwords import hash_password
from directory.extensions import db
from directory.referrals.models import Referral
from tests import factories
from tests.conftest import require

BENCH = Path(__file__).resolve().parents[2] / "bench"
PASSWORD = "correct horse battery staple"


def _module(name: str) -> Any:
    """Import bench/``name``.py by path (bench/ is not a package on the test path)."""
    key = f"bench_{name}"  # bench/search.py must not take the place of the `search` package
    if key not in sys.modules:
        spec = importlib.util.spec_from_file_location(key, BENCH / f"{name}.py")
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        sys.modules[key] = module
        spec.loader.exec_module(module)
    return sys.modules[key]


mix = _module("load_mix")


@pytest.mark.parametrize("url", ["http://127.0.0.1:5000", "http://localhost", "127.0.0.2:80", "http://[::1]:8000"])
def test_loopback_targets_are_accepted(url: str) -> None:
    assert mix.require_loopback(url) == url


@pytest.mark.parametrize("url", ["http://10.0.0.5:5000", "https://meridian.example", "http://127.0.0.1.evil.example",
                                 "http://0.0.0.0:5000", "", "http://192.168.1.2"])
def test_any_other_target_is_refused(url: str) -> None:
    with pytest.raises(mix.NotLoopback):
        mix.require_loopback(url)


def test_each_visitor_has_its_own_private_address() -> None:
    addresses = {mix.visitor_address(n) for n in range(1000)}
    assert len(addresses) == 1000
    assert all(a.startswith("10.") for a in addresses)


def test_the_search_mix_and_the_read_requests_are_valid(client: Any) -> None:
    bench_search = _module("search")  # bench/search.py's query mix, as bench/load.py uses it
    p = factories.practitioner(last_name="Loadtest")
    queries = bench_search.build_mix(40, ["Loadtest"])
    for params in queries:
        for path in (mix.search_page_path(params), mix.api_search_path(params)):
            response = client.get(path)
            assert response.status_code in mix.expected_search_statuses(params), (path, response.status_code)
    assert client.get(mix.profile_path(p.slug)).status_code == 200
    for prefix in ("bo", "mox", "Cambr"):
        assert client.get(mix.suggest_path(prefix)).status_code == 200


def _sign_in(client: Any, email: str) -> None:
    fields = mix.own_form_fields(client.get("/sign-in").get_data(as_text=True))
    fields = [(k, v) for k, v in fields if k not in ("email", "password")] + [("email", email), ("password", PASSWORD)]
    assert client.post("/sign-in", data=MultiDict(fields)).status_code == 303


def test_a_patient_signs_in_and_sends_an_appointment_request_from_the_form(client: Any) -> None:
    from directory.practitioners.models import Practitioner

    owner = factories.practitioner_account(password_hash=hash_password(PASSWORD))
    slug = db.session.get(Practitioner, owner.practitioner_id).slug
    patient = factories.patient(password_hash=hash_password(PASSWORD))
    _sign_in(client, patient.email)
    page = client.get(f"/referrals/new/{slug}")
    assert page.status_code == 200
    sent = client.post(f"/referrals/new/{slug}", data=MultiDict(mix.appointment_request(
        mix.own_form_fields(page.get_data(as_text=True)), 3)))
    assert sent.status_code == 303
    assert db.session.scalar(select(Referral).where(Referral.sender_id == patient.id)) is not None


def test_a_practitioner_signs_in_and_saves_a_listing_edit_from_the_form(client: Any) -> None:
    from directory.indexing.models import SearchOutbox
    from directory.practitioners.models import Practitioner

    owner = factories.practitioner_account(password_hash=hash_password(PASSWORD))
    listing = db.session.get(Practitioner, owner.practitioner_id)
    _sign_in(client, owner.email)
    path = f"/practitioners/{listing.slug}/edit"
    form = client.get(path)
    assert form.status_code == 200
    saved = client.post(path, data=MultiDict(mix.listing_edit(mix.own_form_fields(form.get_data(as_text=True)), 7)))
    assert saved.status_code == 303
    db.session.refresh(listing)
    assert listing.bio.endswith("Revision 7.")
    assert listing.first_name and listing.methods  # the untouched fields were sent back as they were
    assert db.session.scalar(select(SearchOutbox).where(SearchOutbox.practitioner_id == listing.id)) is not None


def test_the_form_reader_sends_what_a_browser_sends() -> None:
    html = """<form method="post" action="/sign-out"><input name="csrf_token" value="no"></form>
    <form method="post"><input type="hidden" name="csrf_token" value="t">
      <input name="first_name" value="Mei &amp; Li"><input type="checkbox" name="methods" value="cupping" checked>
      <input type="checkbox" name="methods" value="moxibustion"><input type="checkbox" name="telehealth">
      <input type="file" name="photo"><textarea name="bio">
Line one</textarea>
      <select name="gender"><option value="female">F</option><option value="male" selected>M</option></select>
      <select name="sort"><option value="distance">D</option></select><button type="submit" name="go">Save</button>
    </form>"""
    assert mix.own_form_fields(html) == [("csrf_token", "t"), ("first_name", "Mei & Li"), ("methods", "cupping"),
                                         ("bio", "Line one"), ("gender", "male"), ("sort", "distance")]
    assert mix.with_values([("a", "1"), ("b", "2")], b="3", c="4") == [("a", "1"), ("b", "3"), ("c", "4")]


def test_the_locust_users_load_in_the_bench_venv() -> None:
    locust = BENCH.parent / ".venv-bench" / "bin" / "locust"
    if not locust.exists():
        require("Locust lives in .venv-bench: run `make bench-venv` (make test builds it)")
    # In a process of its own: importing Locust monkey-patches the interpreter with gevent.
    shown = subprocess.run([str(locust), "-f", str(BENCH / "locustfile.py"), "--list"], capture_output=True,
                           text=True, timeout=60, check=False)
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.split()[-3:] == ["Browsing", "Patient", "Practitioner"]


def test_a_py_spy_sample_whose_frame_name_holds_a_newline_is_read_as_one_sample(tmp_path: Path) -> None:
    # Jinja names compiled template code after its source, so a frame may span lines in py-spy's raw output.
    raw = tmp_path / "gil.txt"
    raw.write_text("handle (waitress/task.py:42);render (app.py:9) 3\nroot (t.py:1);<h3>\n</a></h3> (tpl:4) 2\n\n")
    probe = _module("load_probe")
    samples = probe._lines(raw)
    assert [probe._split(line)[1] for line in samples] == [3, 2]


def test_each_visitor_starts_tasks_at_random_moments_on_the_mean_pacing_and_never_in_a_catch_up_burst() -> None:
    now = [100.0]
    wait_time = mix.poisson_pacing(1.0, clock=lambda: now[0])

    class User:
        rng = random.Random(7)

    user, waits = User(), []
    for _ in range(4000):
        waits.append(wait_time(user))
        now[0] += waits[-1]  # the task itself takes no time
    assert 0.95 < sum(waits) / len(waits) < 1.05
    assert min(waits) >= 0.0
    assert len({round(wait, 6) for wait in waits}) > 3900, "lock-step pacing keeps every user in phase"
    # Two visitors spawned in the same instant do not stay in phase.
    other = User()
    other.rng = random.Random(8)
    assert wait_time(other) != wait_time(User())
    # A task that ran 5 s late does not make the user fire its missed starts back to back.
    late = User()
    wait_time(late)
    now[0] += 5.0
    wait = wait_time(late)
    assert wait > 0.0 and late._next_start == pytest.approx(now[0] + wait)
