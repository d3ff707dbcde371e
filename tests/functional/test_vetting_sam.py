"""SAM.gov exclusions through the web: the admin screen reviews a SAM match, the profile dates the screening."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from directory.clock import today, utcnow
from directory.extensions import db
from directory.models import VerificationCheck
from directory.vetting.services import run_context, run_source
from directory.vetting.sources.leie import import_exclusion_list
from directory.vetting.sources.sam_file import import_sam_list
from tests import factories
from tests.support import profiles
from tests.support.web import csrf_token
from tests.support.web import sign_in_as as sign_in
from tests.unit.vetting.builders import DATA, credential, us_practitioner

SAM = "sam_exclusions"


@pytest.fixture
def admin_client(client: FlaskClient) -> FlaskClient:
    """A client signed in as an admin."""
    client.admin = factories.user("admin", email_confirmed_at=utcnow(), approved_at=utcnow())  # type: ignore[attr-defined]
    sign_in(client, client.admin)  # type: ignore[attr-defined]
    return client


def _page(p: Any) -> str:
    return f"/admin/vetting/practitioners/{p.id}"


def _post(client: FlaskClient, p: Any, action: str, data: dict[str, Any] | None = None) -> Any:
    db.session.commit()
    token = csrf_token(client, _page(p))
    return client.post(f"{_page(p)}/{action}", data={"csrf_token": token, **(data or {})})


def _rossi() -> Any:
    p = us_practitioner(npi=None, first_name="Maria", last_name="Rossi", licence=False,
                        locations=[{"city": "Austin", "region": "TX", "postal_code": "78701", "latitude": 30.27,
                                    "longitude": -97.74}])
    credential(p, jurisdiction="TX")
    return p


def _sources(p: Any) -> list[tuple[str, str, int | None]]:
    return [(c.source, c.outcome, c.performed_by_id) for c in db.session.scalars(
        select(VerificationCheck).where(VerificationCheck.practitioner_id == p.id).order_by(VerificationCheck.sequence))]


def test_an_admin_reviews_a_sam_match_on_the_screen(admin_client: FlaskClient, session: Any) -> None:
    import_sam_list(DATA / "sam_sample.csv", date(2026, 11, 30))
    p = _rossi()
    run_source(p, SAM, run_context())
    screen = admin_client.get(_page(p)).get_data(as_text=True)
    assert "Exclusion-list match awaiting review: SAM.gov exclusions" in screen
    assert '<input type="hidden" name="source" value="sam_exclusions">' in screen
    assert "HHS, Reciprocal" in screen and "SAM number S4MRMR002" in screen
    response = _post(admin_client, p, "exclusion-review", {"decision": "clear", "reason": "a namesake",
                                                           "source": SAM})
    assert response.status_code == 303
    assert _sources(p)[-1] == (SAM, "pass", admin_client.admin.id)  # type: ignore[attr-defined]


@pytest.mark.parametrize("source", ["astrology", "state_board", "x" * 40])
def test_a_forged_review_source_is_refused_plainly(admin_client: FlaskClient, session: Any, source: str) -> None:
    import_sam_list(DATA / "sam_sample.csv", date(2026, 11, 30))
    p = _rossi()
    run_source(p, SAM, run_context())
    response = _post(admin_client, p, "exclusion-review", {"decision": "clear", "reason": "x", "source": source})
    assert response.status_code in (400, 404)
    assert _sources(p)[-1][2] is None, "nothing was decided"


def test_running_sam_before_any_sam_import_is_refused_and_records_nothing(admin_client: FlaskClient,
                                                                          session: Any) -> None:
    import_exclusion_list(DATA / "leie_sample.csv")
    p = _rossi()
    response = _post(admin_client, p, f"run/{SAM}")
    assert response.status_code == 400
    assert "No SAM.gov exclusions list has been imported yet" in response.get_data(as_text=True)
    assert _sources(p) == []


def test_the_profile_dates_the_exclusion_screening_by_the_older_list(client: Any, session: Any) -> None:
    import_exclusion_list(DATA / "leie_sample.csv")
    import_sam_list(DATA / "sam_sample.csv", date(2026, 11, 30))
    p = factories.practitioner(slug="two-lists", vetting_status="unverified")
    licence = profiles.credential(p)
    profiles.add_checks(p, [(None, "exclusion_list", 9, "LEIE", "pass"), (None, SAM, 20, "SAM", "pass"),
                            (licence, "state_board", 5, "MA", "pass"), (None, "exclusion_list", 2, "LEIE", "pass")])
    db.session.commit()
    html = client.get("/practitioners/two-lists").get_data(as_text=True)
    older = today() - timedelta(days=20)
    assert f'Exclusion lists checked on <time datetime="{older.isoformat()}">' in html


def test_before_any_sam_import_the_leie_alone_dates_the_screening(client: Any, session: Any) -> None:
    import_exclusion_list(DATA / "leie_sample.csv")
    p = factories.practitioner(slug="one-list", vetting_status="unverified")
    licence = profiles.credential(p)
    profiles.add_checks(p, [(None, "exclusion_list", 3, "LEIE", "pass"), (licence, "state_board", 5, "MA", "pass")])
    db.session.commit()
    html = client.get("/practitioners/one-list").get_data(as_text=True)
    assert f'Exclusion lists checked on <time datetime="{(today() - timedelta(days=3)).isoformat()}">' in html
