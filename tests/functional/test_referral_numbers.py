"""The admin page of referral numbers: right on a known set, sortable, admin-only, a fixed number of queries."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

import pytest

from directory.accounts.models import User
from directory.clock import utcnow
from directory.extensions import db
from directory.practitioners.models import Practitioner
from directory.referrals.models import ReferralEvent
from directory.referrals.numbers import numbers_by_practitioner, practitioner_numbers
from tests import factories
from tests.functional.test_admin_pages import counted_statements
from tests.support.web import sign_in_as

T0 = datetime(2026, 11, 2, 9, 0)
# Hours after sending at which each state was reached, per referral.
SLOW = [[("sent", 0), ("accepted", 2), ("scheduled", 3), ("attended", 50), ("completed", 60)],
        [("sent", 0), ("declined", 4)],
        [("sent", 0), ("expired", 168)]]
FAST = [[("sent", 0), ("accepted", 1)]]
SILENT = [[("sent", 0)]]


def _admin() -> User:
    return factories.user("admin", approved_at=utcnow(), email_confirmed_at=utcnow())


def _practitioner(last_name: str, histories: list[list[tuple[str, float]]]) -> Practitioner:
    """Add a practitioner who received referrals with these histories (rows straight in: services are tested apart)."""
    practitioner = factories.practitioner(first_name="Mei", last_name=last_name, title="")
    sender = factories.doctor()
    for history in histories:
        state = history[-1][0]
        extra: dict[str, Any] = {"scheduled_for": T0 + timedelta(hours=48)} if len(history) > 2 else {}
        if state == "completed":
            extra["outcome"] = "Better"
        referral = factories.referral(sender, practitioner, state=state, created_at=T0, **extra)
        previous = None
        for to_state, hours in history:
            db.session.add(ReferralEvent(referral_id=referral.id, from_state=previous, to_state=to_state,
                                         actor_role="sender" if previous is None else "practitioner",
                                         occurred_at=T0 + timedelta(hours=hours)))
            previous = to_state
    db.session.flush()
    return practitioner


@pytest.fixture
def known(session: Any) -> dict[str, Practitioner]:
    """Three practitioners: slow (1 of 3 accepted, then completed), fast (accepted in an hour), silent."""
    return {"slow": _practitioner("Slow", SLOW), "fast": _practitioner("Fast", FAST),
            "silent": _practitioner("Silent", SILENT)}


def _names_in_order(html: str) -> list[str]:
    return re.findall(r'<td data-label="Practitioner"><a href="[^"]+">Mei (\w+)</a>', html)


def _row(html: str, name: str) -> str:
    start = html.index(f"Mei {name}</a>")
    return html[start:html.index("</tr>", start)]


def test_the_numbers_of_all_practitioners_match_each_one_alone(known: dict[str, Practitioner]) -> None:
    table = numbers_by_practitioner()
    for practitioner in known.values():
        assert table[practitioner.id] == practitioner_numbers(practitioner.id)
    slow = table[known["slow"].id]
    assert (slow.received, slow.accepted, slow.declined, slow.expired, slow.completed) == (3, 1, 1, 1, 1)
    assert slow.acceptance_rate == pytest.approx(1 / 3) and slow.completion_rate == 1.0
    assert slow.median_first_answer == timedelta(hours=3)  # the median of 2 h and 4 h; an expiry is no answer


def test_the_page_shows_the_numbers(client: Any, known: dict[str, Practitioner]) -> None:
    sign_in_as(client, _admin())
    response = client.get("/admin/referrals")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    slow = _row(html, "Slow")
    assert ">3<" in slow and ">33%<" in slow and ">3.0 h<" in slow and ">100%<" in slow
    fast = _row(html, "Fast")
    assert ">100%<" in fast and ">1.0 h<" in fast and ">0%<" in fast
    assert _row(html, "Silent").count("—") == 3, "nothing to divide by is a dash, not 0%"
    assert f'href="/admin/vetting/practitioners/{known["slow"].id}"' in html


@pytest.mark.parametrize(("sort", "order"), [
    (None, ["Slow", "Fast", "Silent"]),  # most referrals first
    ("name", ["Fast", "Silent", "Slow"]),
    ("received", ["Slow", "Fast", "Silent"]),
    ("acceptance", ["Fast", "Slow", "Silent"]),  # no rate yet goes last
    ("first_answer", ["Fast", "Slow", "Silent"]),  # fastest first
    ("completion", ["Slow", "Fast", "Silent"]),
])
def test_each_column_sorts(client: Any, known: dict[str, Practitioner], sort: str | None, order: list[str]) -> None:
    sign_in_as(client, _admin())
    html = client.get("/admin/referrals", query_string={"sort": sort} if sort else {}).get_data(as_text=True)
    assert _names_in_order(html) == order


def test_an_unknown_sort_is_refused_with_the_choices(client: Any, known: dict[str, Practitioner]) -> None:
    sign_in_as(client, _admin())
    response = client.get("/admin/referrals?sort=password_hash")
    assert response.status_code == 400
    assert "Unknown sort" in response.get_data(as_text=True) and "acceptance" in response.get_data(as_text=True)


def test_the_page_says_so_when_there_are_no_referrals(client: Any, session: Any) -> None:
    sign_in_as(client, _admin())
    response = client.get("/admin/referrals")
    assert response.status_code == 200
    assert "No practitioner has received a referral yet." in response.get_data(as_text=True)


@pytest.mark.parametrize("role", ["patient", "doctor", "practitioner"])
def test_only_admins_see_the_numbers(client: Any, session: Any, role: str) -> None:
    sign_in_as(client, factories.user(role, approved_at=utcnow(), email_confirmed_at=utcnow()))
    assert client.get("/admin/referrals").status_code == 403
    assert "/admin/referrals" not in client.get("/account").get_data(as_text=True)


def test_anonymous_visitors_are_sent_to_sign_in(client: Any, session: Any) -> None:
    response = client.get("/admin/referrals")
    assert response.status_code == 302 and "/sign-in" in response.headers["Location"]


def test_the_admin_header_and_dashboard_link_to_it(client: Any, session: Any) -> None:
    sign_in_as(client, _admin())
    assert client.get("/account").get_data(as_text=True).count('href="/admin/referrals"') == 2


def _page_statements(client: Any, practitioners: int) -> int:
    for n in range(practitioners):
        _practitioner(f"P{n}", SLOW)
    with counted_statements() as statements:
        assert client.get("/admin/referrals").status_code == 200
    return len(statements)


def test_the_page_runs_the_same_queries_for_two_practitioners_or_ten(client: Any, session: Any) -> None:
    sign_in_as(client, _admin())
    few = _page_statements(client, 2)
    assert _page_statements(client, 8) == few
