"""Evidence age is public: the profile and the search card say when each required credential was last checked."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from flask import Flask

from directory.clock import today
from directory.extensions import db, search
from directory.indexing.services import reindex_all
from directory.vetting.evidence import format_day
from directory.vetting.services import recompute_status
from tests import factories
from tests.support import profiles

CAMBRIDGE = {"lat": "42.3736", "lon": "-71.1097"}


def _ago(days: int) -> date:
    return today() - timedelta(days=days)


def _stamp(days: int) -> str:
    """Return the <time> element a page shows for the day ``days`` ago."""
    day = _ago(days)
    return f'<time datetime="{day.isoformat()}">{format_day(day)}</time>'


@pytest.fixture
def checked(session: Any) -> Any:
    """A verified practitioner: licence at the board 40 days ago, NPI 12, exclusion lists 3 (a pending NPI error since)."""
    p = factories.practitioner(slug="checked-lately", first_name="Ada", last_name="Checked")
    licence = profiles.credential(p)
    npi = profiles.credential(p, kind="npi", issuer="CMS NPPES", number="1234567893", jurisdiction="US")
    insurance = profiles.credential(p, kind="insurance", issuer="Acme Mutual", number="POL-1", jurisdiction="")
    profiles.add_checks(p, [(licence, "state_board", 40, "MA-LIC", "pass"), (npi, "npi_registry", 12, "NPPES", "pass"),
                            (insurance, "document", 300, "", "pass"), (None, "exclusion_list", 3, "LEIE", "pass"),
                            (npi, "npi_registry", 1, "NPPES", "error")])
    assert recompute_status(p) == "verified"
    db.session.commit()
    return p


def test_the_profile_says_when_each_required_credential_was_last_checked(client: Any, checked: Any) -> None:
    html = client.get("/practitioners/checked-lately").get_data(as_text=True)
    section = html[html.index('id="verification"'):]
    assert f"Licence (MA) checked at the state board on {_stamp(40)}" in section
    assert f"NPI checked at the NPI registry on {_stamp(12)}" in section, "an error is not a check"
    assert f"Exclusion lists checked on {_stamp(3)}" in section
    assert "Professional liability insurance checked" not in section and "Insurance checked" not in section
    header = html[:html.index('id="verification"')]
    assert f'checked {_stamp(40)}' in header, "the badge gives the oldest: everything was checked since"


def test_a_credential_never_confirmed_says_so(client: Any, session: Any) -> None:
    p = factories.practitioner(slug="not-confirmed", vetting_status="pending")
    licence = profiles.credential(p)
    profiles.credential(p, kind="npi", issuer="CMS NPPES", number="1234567893", jurisdiction="US")
    profiles.add_checks(p, [(licence, "state_board", 5, "MA-LIC", "pass")])
    db.session.commit()
    html = client.get("/practitioners/not-confirmed").get_data(as_text=True)
    assert f"Licence (MA) checked at the state board on {_stamp(5)}" in html
    assert "NPI: not confirmed yet" in html and "Exclusion lists: not confirmed yet" in html
    assert 'class="badge-checked"' not in html, "no 'checked' date while part of the evidence is missing"


def test_the_search_card_gives_the_short_form(app: Flask, client: Any, checked: Any) -> None:
    reindex_all(search.backend())
    html = client.get("/search", query_string=CAMBRIDGE).get_data(as_text=True)
    card = html[html.index('<li class="result-card"'):]
    card = card[:card.index("</li>")]
    assert f'<span class="badge-checked" title="Licence (MA) checked at the state board on {format_day(_ago(40))}; ' in card
    assert f"checked {_stamp(40)}" in card
    assert f"NPI checked at the NPI registry on {format_day(_ago(12))}" in card


def test_format_day_has_no_leading_zero() -> None:
    assert format_day(date(2026, 11, 3)) == "3 Nov 2026"
    assert format_day(date(2026, 3, 12)) == "12 Mar 2026"
