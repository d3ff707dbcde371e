"""The verification workbench: counts, filters, assignment, due dates for decisions, and batch runs of checks."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from directory.accounts.models import AuditEvent, PractitionerClaim, User
from directory.clock import today, utcnow
from directory.errors import InvalidParameter
from directory.extensions import db
from directory.models import Credential, Practitioner, VerificationCheck
from directory.vetting import batches
from directory.vetting.sources.leie import import_exclusion_list
from directory.vetting.sources.npi import npi_is_valid
from directory.vetting.workbench import assign
from directory.vetting.workbench_models import VettingAssignment, VettingBatch
from tests import factories
from tests.support import profiles
from tests.support.npi_server import FakeNpiRegistry, Scripted, found, npi_record
from tests.support.web import csrf_token
from tests.support.web import sign_in_as as sign_in
from tests.unit.vetting.builders import DATA, credential, us_practitioner

QUEUE = "/admin/vetting/"


@pytest.fixture
def admin_client(client: FlaskClient) -> FlaskClient:
    """A client signed in as an admin."""
    client.admin = factories.user("admin", full_name="Ada Admin", email_confirmed_at=utcnow(),  # type: ignore[attr-defined]
                                  approved_at=utcnow())
    sign_in(client, client.admin)  # type: ignore[attr-defined]
    return client


def _me(client: FlaskClient) -> User:
    return client.admin  # type: ignore[attr-defined,no-any-return]


def _listed(client: FlaskClient, query: str = "") -> list[int]:
    """Return the ids of the practitioners the queue lists for ``query``, in order."""
    response = client.get(QUEUE + (f"?{query}" if query else ""))
    assert response.status_code == 200, response.get_data(as_text=True)
    return [int(i) for i in re.findall(r'href="/admin/vetting/practitioners/(\d+)"', response.get_data(as_text=True))]


def _count(html: str, label: str) -> tuple[int, str]:
    """Return the number shown beside a count label, and the link it carries."""
    match = re.search(r'<a href="([^"]*)"[^>]*><strong>(\d+)</strong> ' + re.escape(label) + "</a>", html)
    assert match, f"no count {label!r}"
    return int(match.group(2)), match.group(1).replace("&amp;", "&")


def _claim(p: Practitioner, days_ago: int = 0) -> PractitionerClaim:
    """Add a pending claim of ``p`` made ``days_ago`` days ago."""
    claimant = factories.user("practitioner", email=f"claimant{p.id}@example.org")
    claim = PractitionerClaim(user_id=claimant.id, practitioner_id=p.id, evidence="my licence AC9",
                              requested_at=utcnow() - timedelta(days=days_ago))
    db.session.add(claim)
    db.session.flush()
    return claim


def _name_match(days_ago: int, **fields: Any) -> Practitioner:
    """Add a practitioner whose licence passed yesterday and whose name matched the list ``days_ago`` days ago."""
    p = us_practitioner(npi=None, **fields)
    licence = db.session.scalar(select(Credential).where(Credential.practitioner_id == p.id))
    profiles.add_checks(p, [(None, "exclusion_list", days_ago, "LEIE", "needs_review"),
                            (licence, "state_board", 1, "https://board.example/AC12345", "pass")])
    return p


def _valid_npi(n: int) -> str:
    """Return a valid NPI (check digit) built from ``n``."""
    base = f"1{n:08d}"
    return next(base + str(d) for d in range(10) if npi_is_valid(base + str(d)))


def _post(client: FlaskClient, url: str, data: dict[str, Any], **kw: Any) -> Any:
    """Post a workbench form with a CSRF token from the queue page."""
    db.session.commit()  # the test's setup, committed as before a real request (a savepoint here)
    return client.post(url, data={"csrf_token": csrf_token(client, QUEUE), **data}, **kw)


def _audit(action: str) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))


# --- counts


def test_counts_at_the_top_link_to_their_filter(admin_client: FlaskClient, session: Any) -> None:
    overdue = _name_match(20, first_name="Olga", last_name="Overdue")  # decide within 14 days: six days late
    claimed = us_practitioner(npi=None, licence=False, first_name="Clara", last_name="Claimed")
    _claim(claimed)  # due in five days
    mine = us_practitioner(npi=None, first_name="Mina", last_name="Mine")
    assign(mine.id, _me(admin_client).id, _me(admin_client))
    html = admin_client.get(QUEUE).get_data(as_text=True)
    assert _count(html, "Overdue") == (1, "/admin/vetting/?due=overdue")
    assert _count(html, "Due this week")[0] == 2  # the claim (in 5 days) and Mina's never-checked licence (today)
    assert _count(html, "Waiting for a decision") == (2, "/admin/vetting/?kind=review")
    assert _count(html, "Assigned to me") == (1, "/admin/vetting/?assigned=mine")
    assert _count(html, "Unassigned")[0] == 2
    assert _count(html, "unverified") == (3, "/admin/vetting/?status=unverified")
    for label, ids in (("Overdue", [overdue.id]), ("Waiting for a decision", [overdue.id, claimed.id]),
                       ("Assigned to me", [mine.id])):
        assert _listed(admin_client, _count(html, label)[1].split("?", 1)[1]) == ids


# --- filters


def test_filter_by_vetting_status_and_item_kind(admin_client: FlaskClient, session: Any) -> None:
    suspended = us_practitioner(npi=None, first_name="Sam", last_name="Suspended", vetting_status="suspended")
    pending = us_practitioner(npi=None, first_name="Pia", last_name="Pending", vetting_status="pending")
    claimed = us_practitioner(npi=None, licence=False, first_name="Clara", last_name="Claimed")
    _claim(claimed)
    assert _listed(admin_client, "status=suspended") == [suspended.id]
    assert _listed(admin_client, "status=pending") == [pending.id]
    assert _listed(admin_client, "kind=claim") == [claimed.id]
    assert set(_listed(admin_client, "kind=manual")) == {suspended.id, pending.id}  # the licences at the state board
    assert _listed(admin_client, "kind=claim&status=suspended") == []


def test_filter_by_source(admin_client: FlaskClient, session: Any) -> None:
    with_npi = us_practitioner(first_name="Nia", last_name="Npi")
    without = us_practitioner(npi=None, first_name="Noel", last_name="Nonpi")
    assert _listed(admin_client, "source=npi_registry") == [with_npi.id]
    assert set(_listed(admin_client, "source=state_board")) == {with_npi.id, without.id}
    assert set(_listed(admin_client, "source=exclusion_list")) == {with_npi.id, without.id}


def test_filter_by_jurisdiction_of_a_credential_or_a_location(admin_client: FlaskClient, session: Any) -> None:
    boston = us_practitioner(npi=None, first_name="Bo", last_name="Boston")
    albany = us_practitioner(npi=None, licence=False, first_name="Al", last_name="Albany",
                             locations=[{"city": "Albany", "region": "NY", "postal_code": "12207"}])
    credential(albany, jurisdiction="NY")
    london = us_practitioner(npi=None, licence=False, first_name="Lo", last_name="London",
                             locations=[{"city": "London", "region": "", "postal_code": "N1 9GU", "country": "GB"}])
    credential(london, kind="foreign_registration", jurisdiction="GB", issuer="BAcC")
    assert _listed(admin_client, "jurisdiction=ny") == [albany.id]
    assert _listed(admin_client, "jurisdiction=US-NY") == [albany.id]
    assert _listed(admin_client, "jurisdiction=MA") == [boston.id]
    assert _listed(admin_client, "jurisdiction=GB") == [london.id]
    assert _listed(admin_client, "jurisdiction=TX") == []


def test_filter_by_due_date(admin_client: FlaskClient, session: Any) -> None:
    late = _name_match(20, first_name="Lars", last_name="Late")  # due six days ago
    soon = us_practitioner(npi=None, licence=False, first_name="Sue", last_name="Soon")
    _claim(soon, days_ago=1)  # due in four days
    later = _name_match(1, first_name="Leo", last_name="Later")  # due in thirteen days
    assert _listed(admin_client, "due=overdue") == [late.id]
    assert _listed(admin_client, "due=within&within_days=7") == [soon.id]
    assert _listed(admin_client, "due=within&within_days=14") == [soon.id, later.id]
    assert _listed(admin_client, f"due=before&before={today() + timedelta(days=5)}") == [late.id, soon.id]


def test_filter_by_assignee_and_the_mine_view(admin_client: FlaskClient, session: Any) -> None:
    me, other = _me(admin_client), factories.user("admin", full_name="Bea Other", approved_at=utcnow())
    mine = us_practitioner(npi=None, first_name="Mo", last_name="Mine")
    theirs = us_practitioner(npi=None, first_name="Tess", last_name="Theirs")
    nobody = us_practitioner(npi=None, first_name="Nob", last_name="Nobody")
    assign(mine.id, me.id, me)
    assign(theirs.id, other.id, me)
    assert _listed(admin_client, "assigned=mine") == [mine.id]
    assert _listed(admin_client, f"assigned={other.id}") == [theirs.id]
    assert _listed(admin_client, "assigned=unassigned") == [nobody.id]
    html = admin_client.get(QUEUE + "?assigned=mine").get_data(as_text=True)
    assert "Ada Admin" in html


def test_sort_by_due_date_by_default_or_by_name(admin_client: FlaskClient, session: Any) -> None:
    zed = _name_match(2, first_name="Zed", last_name="Adams")
    amy = _name_match(20, first_name="Amy", last_name="Young")
    bob = _name_match(10, first_name="Bob", last_name="Brown")
    assert _listed(admin_client) == [amy.id, bob.id, zed.id]
    assert _listed(admin_client, "sort=name") == [zed.id, bob.id, amy.id]
    assert _listed(admin_client, "sort=name&due=within&within_days=30") == [zed.id, bob.id]


def test_the_queue_is_paginated_and_pages_keep_the_filter(admin_client: FlaskClient, session: Any) -> None:
    people = [us_practitioner(npi=None, first_name="Page", last_name=f"Person{i:02d}") for i in range(52)]
    html = admin_client.get(QUEUE + "?source=state_board").get_data(as_text=True)
    assert "Page 1 of 2" in html and 'href="/admin/vetting/?page=2&amp;source=state_board"' in html
    assert len(_listed(admin_client, "source=state_board")) == 50
    assert len(_listed(admin_client, "source=state_board&page=2")) == 2
    assert set(_listed(admin_client, "source=state_board&page=2")) <= {p.id for p in people}


@pytest.mark.parametrize(("query", "message"), [
    ("source=bogus_registry", "There is no source with the code &#39;bogus_registry&#39;"),
    ("status=nonsense", "Not a valid choice"),
    ("kind=everything", "Not a valid choice"),
    ("jurisdiction=%3Cscript%3E", "Give a state or country code, such as MA, US-MA or GB."),
    ("due=within", "Say within how many days."),
    ("due=within&within_days=0", "Give a number of days from 1 to 366."),
    ("due=within&within_days=" + "9" * 5000, "Not a valid integer value"),
    ("due=before", "Give the date."),
    ("due=before&before=2026-13-45", "Not a valid date value"),
    ("assigned=999999", "Choose an admin from the list, yourself, or nobody."),
    ("sort=random", "Not a valid choice"),
    ("page=" + "9" * 80, "No such page."),
    ("page=NaN", "Not a valid integer value"),
])
def test_bad_filter_values_are_named_with_a_400(admin_client: FlaskClient, session: Any, query: str,
                                               message: str) -> None:
    us_practitioner(npi=None)
    response = admin_client.get(f"{QUEUE}?{query}")
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert message in html
    assert "Some filter values could not be used" in html
    assert 'href="/admin/vetting/practitioners/' not in html, "a filter that could not be read lists nobody"


def test_a_patient_cannot_be_chosen_as_the_assignee_filter(admin_client: FlaskClient, session: Any) -> None:
    patient = factories.user("patient")
    assert admin_client.get(f"{QUEUE}?assigned={patient.id}").status_code == 400


# --- assignment


def test_assign_to_me_then_to_another_admin_then_to_nobody_each_audited(admin_client: FlaskClient,
                                                                         session: Any) -> None:
    me, other = _me(admin_client), factories.user("admin", full_name="Bea Other", approved_at=utcnow())
    p = us_practitioner(npi=None)
    url = f"/admin/vetting/practitioners/{p.id}/assign"
    response = _post(admin_client, url, {"assignee": str(me.id), "back": "source=state_board"})
    assert response.status_code == 303
    assert response.headers["Location"] == "/admin/vetting/?source=state_board"
    assert session.scalar(select(VettingAssignment.assignee_id).where(VettingAssignment.practitioner_id == p.id)) \
        == me.id
    assert _listed(admin_client, "assigned=mine") == [p.id]
    assert _post(admin_client, url, {"assignee": str(other.id)}).status_code == 303
    assert _listed(admin_client, "assigned=mine") == []
    assert _post(admin_client, url, {"assignee": ""}).status_code == 303
    assert session.scalar(select(func.count()).select_from(VettingAssignment)) == 0
    assigned = [json.loads(e.details) for e in _audit("vetting.assigned")]
    assert [(d["old"], d["new"]) for d in assigned] == [(None, me.id), (me.id, other.id)]
    assert [json.loads(e.details)["old"] for e in _audit("vetting.unassigned")] == [other.id]
    assert {e.actor_id for e in _audit("vetting.assigned")} == {me.id}


def test_assigning_to_someone_who_is_not_an_admin_is_refused(admin_client: FlaskClient, session: Any) -> None:
    p = us_practitioner(npi=None)
    patient = factories.user("patient")
    response = _post(admin_client, f"/admin/vetting/practitioners/{p.id}/assign", {"assignee": str(patient.id)})
    assert response.status_code == 400
    assert "Not a valid choice" in response.get_data(as_text=True)
    assert session.scalar(select(func.count()).select_from(VettingAssignment)) == 0
    with pytest.raises(InvalidParameter, match="active admin"):
        assign(p.id, patient.id, _me(admin_client))


def test_the_way_back_after_assigning_never_leaves_the_queue(admin_client: FlaskClient, session: Any) -> None:
    p = us_practitioner(npi=None)
    response = _post(admin_client, f"/admin/vetting/practitioners/{p.id}/assign",
                     {"assignee": str(_me(admin_client).id), "back": "next=https://evil.example/&status=bogus"})
    assert response.status_code == 303 and response.headers["Location"] == "/admin/vetting/"


def test_assigning_an_unknown_practitioner_is_404(admin_client: FlaskClient, session: Any) -> None:
    assert _post(admin_client, "/admin/vetting/practitioners/999999/assign",
                 {"assignee": str(_me(admin_client).id)}).status_code == 404


# --- due dates of decisions


def test_a_name_match_review_is_due_after_the_configured_days(app: Flask, admin_client: FlaskClient,
                                                              session: Any) -> None:
    p = _name_match(20)
    html = admin_client.get(QUEUE + "?kind=name_match").get_data(as_text=True)
    assert f"decide by {today() - timedelta(days=6)}" in html and "overdue" in html
    assert _listed(admin_client, "due=overdue") == [p.id]
    app.config["VETTING_NAME_MATCH_REVIEW_DAYS"] = "30"
    try:
        assert _listed(admin_client, "due=overdue") == []
        assert f"decide by {today() + timedelta(days=10)}" in admin_client.get(QUEUE).get_data(as_text=True)
    finally:
        del app.config["VETTING_NAME_MATCH_REVIEW_DAYS"]


def test_a_pending_claim_is_a_queue_item_due_in_five_days_linking_to_its_decision(app: Flask,
                                                                                  admin_client: FlaskClient,
                                                                                  session: Any) -> None:
    p = us_practitioner(npi=None, licence=False, first_name="Clara", last_name="Claimed")
    claim = _claim(p, days_ago=2)
    html = admin_client.get(QUEUE).get_data(as_text=True)
    assert f"claimant{p.id}@example.org asks to own this profile" in html
    assert f"decide by {today() + timedelta(days=3)}" in html
    assert f'href="/admin/users#claim-{claim.id}"' in html
    assert f'id="claim-{claim.id}"' in admin_client.get("/admin/users").get_data(as_text=True)
    app.config["CLAIM_REVIEW_DAYS"] = 1
    try:
        assert _listed(admin_client, "due=overdue") == [p.id]
    finally:
        del app.config["CLAIM_REVIEW_DAYS"]
    claim.decision, claim.decided_at = "rejected", utcnow()
    db.session.flush()
    assert _listed(admin_client) == []


# --- batches


def _batch_people(count: int, registry: FakeNpiRegistry) -> list[Practitioner]:
    """Add ``count`` Wyoming practitioners with their own NPIs, each found in the registry."""
    people = []
    for i in range(count):
        npi = _valid_npi(7000 + i)
        p = us_practitioner(npi=npi, licence=False, first_name="Wyn", last_name=f"Batch{i:02d}",
                            locations=[{"city": "Cheyenne", "region": "WY", "postal_code": "82001"}])
        registry.answer(npi, Scripted(body=found(npi_record(npi, first="WYN", last=f"BATCH{i:02d}", state="WY",
                                                            city="CHEYENNE", postal_code="82001"))))
        people.append(p)
    return people


def _start(client: FlaskClient, back: str) -> Any:
    return _post(client, "/admin/vetting/batches", {"back": back})


def _step(client: FlaskClient, batch_id: int, at: int, **kw: Any) -> Any:
    return _post(client, f"/admin/vetting/batches/{batch_id}/step", {"at": str(at)}, **kw)


def _checks(source: str | None = None) -> int:
    statement = select(func.count()).select_from(VerificationCheck)
    if source:
        statement = statement.where(VerificationCheck.source == source)
    return int(db.session.scalar(statement) or 0)


def test_a_batch_runs_the_filter_to_completion_in_steps_with_the_right_numbers(
        admin_client: FlaskClient, session: Any, registry: FakeNpiRegistry) -> None:
    import_exclusion_list(DATA / "leie_sample.csv")
    people = _batch_people(23, registry)
    outside = us_practitioner(npi=None, first_name="Not", last_name="Inthefilter")
    response = _start(admin_client, "jurisdiction=WY")
    assert response.status_code == 303
    batch = session.scalars(select(VettingBatch)).one()
    assert response.headers["Location"] == f"/admin/vetting/batches/{batch.id}"
    assert (batch.total, batch.done, batch.failed, batch.filter_query) == (23, 0, 0, "jurisdiction=WY")
    assert set(batch.ids()) == {p.id for p in people} and outside.id not in batch.ids()
    page = admin_client.get(f"/admin/vetting/batches/{batch.id}").get_data(as_text=True)
    assert '<progress id="batch-bar" max="23" value="0"' in page and "Continue (23 left)" in page

    assert _step(admin_client, batch.id, 0).status_code == 303
    page = admin_client.get(f"/admin/vetting/batches/{batch.id}").get_data(as_text=True)
    assert "10 of 23 practitioners checked" in page and "Continue (13 left)" in page
    assert _checks() == 20  # ten practitioners, two sources each
    assert _step(admin_client, batch.id, 10).status_code == 303
    assert _step(admin_client, batch.id, 20).status_code == 303
    db.session.refresh(batch)
    assert (batch.done, batch.failed, batch.finished_at is not None) == (23, 0, True)
    assert sum(batch.outcome_counts()["npi_registry"].values()) == 23
    assert batch.outcome_counts()["exclusion_list"] == {"pass": 23}
    assert _checks("npi_registry") == 23 and _checks("exclusion_list") == 23
    page = admin_client.get(f"/admin/vetting/batches/{batch.id}").get_data(as_text=True)
    assert "The batch is finished" in page and "Continue (" not in page and "<script" not in page
    assert "Errors (0)" in page and "NPI registry" in page and "OIG exclusion list (LEIE)" in page
    assert [json.loads(e.details)["total"] for e in _audit("vetting.batch_started")] == [23]
    assert len(_audit("vetting.batch_finished")) == 1
    assert len(_audit("vetting.check_run")) == 46


def test_a_finished_batch_and_a_replayed_step_do_nothing(admin_client: FlaskClient, session: Any,
                                                         registry: FakeNpiRegistry) -> None:
    import_exclusion_list(DATA / "leie_sample.csv")
    _batch_people(12, registry)
    _start(admin_client, "jurisdiction=WY")
    batch = session.scalars(select(VettingBatch)).one()
    _step(admin_client, batch.id, 0)
    before = _checks()
    replay = _step(admin_client, batch.id, 0, follow_redirects=True)  # the same "Continue" posted twice
    assert "already been run" in replay.get_data(as_text=True)
    assert _checks() == before
    db.session.refresh(batch)
    assert batch.done == 10
    _step(admin_client, batch.id, 10)
    finished = _checks()
    for at in (12, 10, 0):
        assert _step(admin_client, batch.id, at).status_code == 303
    assert _checks() == finished == 24
    db.session.refresh(batch)
    assert (batch.done, batch.total) == (12, 12)


def test_two_admins_at_the_same_position_run_the_chunk_once(admin_client: FlaskClient, session: Any,
                                                            registry: FakeNpiRegistry) -> None:
    import_exclusion_list(DATA / "leie_sample.csv")
    people = _batch_people(3, registry)
    me, other = _me(admin_client), factories.user("admin", approved_at=utcnow())
    batch = batches.start_batch([p.id for p in people], "", me)
    first = batches.run_step(batch.id, 0, me)
    second = batches.run_step(batch.id, 0, other)
    assert (first.ran, second.ran) == (True, False)
    assert _checks() == 6 and second.batch.done == 3


def test_the_step_answers_json_for_the_page_script(admin_client: FlaskClient, session: Any,
                                                   registry: FakeNpiRegistry) -> None:
    import_exclusion_list(DATA / "leie_sample.csv")
    _batch_people(11, registry)
    _start(admin_client, "jurisdiction=WY")
    batch = session.scalars(select(VettingBatch)).one()
    response = _step(admin_client, batch.id, 0, headers={"Accept": "application/json"})
    assert response.status_code == 200
    body = response.get_json()
    assert {k: body[k] for k in ("total", "done", "left", "failed", "finished", "ran")} == \
        {"total": 11, "done": 10, "left": 1, "failed": 0, "finished": False, "ran": True}
    again = _step(admin_client, batch.id, 0, headers={"Accept": "application/json"}).get_json()
    assert (again["ran"], again["done"]) == (False, 10)
    last = _step(admin_client, batch.id, 10, headers={"Accept": "application/json"}).get_json()
    assert (last["done"], last["finished"]) == (11, True)
    bad = _step(admin_client, batch.id, -5, headers={"Accept": "application/json"})
    assert bad.status_code == 400 and bad.get_json()["message"]


def test_a_registry_that_times_out_is_a_recorded_error_and_the_batch_goes_on(
        admin_client: FlaskClient, session: Any, registry: FakeNpiRegistry) -> None:
    import_exclusion_list(DATA / "leie_sample.csv")
    people = _batch_people(4, registry)
    slow = people[1]
    registry.answer(slow.npi or "", Scripted(delay=1.0))  # the client gives up after 0.5 s, twice
    _start(admin_client, "jurisdiction=WY")
    batch = session.scalars(select(VettingBatch)).one()
    _step(admin_client, batch.id, 0)
    db.session.refresh(batch)
    assert (batch.done, batch.failed, batch.finished_at is not None) == (4, 1, True)
    [error] = session.scalars(select(VerificationCheck).where(VerificationCheck.outcome == "error")).all()
    assert (error.practitioner_id, error.source) == (slow.id, "npi_registry")
    assert batch.outcome_counts()["npi_registry"]["error"] == 1
    assert sum(batch.outcome_counts()["npi_registry"].values()) == 4
    assert batch.outcome_counts()["exclusion_list"] == {"pass": 4}
    page = admin_client.get(f"/admin/vetting/batches/{batch.id}").get_data(as_text=True)
    assert "Errors (1)" in page and f"{slow.display_name} (#{slow.id}), NPI registry:" in page
    assert "1 with errors" in page


def test_a_practitioner_without_an_npi_gets_the_exclusion_list_only(admin_client: FlaskClient, session: Any,
                                                                    registry: FakeNpiRegistry) -> None:
    import_exclusion_list(DATA / "leie_sample.csv")
    p = us_practitioner(npi=None, first_name="Ned", last_name="Nonpi")
    batch = batches.start_batch([p.id], "", _me(admin_client))
    batches.run_step(batch.id, 0, _me(admin_client))
    assert batch.outcome_counts() == {"exclusion_list": {"pass": 1}} and batch.error_list() == []
    assert registry.requests == []


def test_a_batch_over_nothing_or_a_bad_filter_is_refused(admin_client: FlaskClient, session: Any) -> None:
    us_practitioner(npi=None)
    empty = _start(admin_client, "jurisdiction=ZZ")
    assert empty.status_code == 400 and "Nothing in this filter to check" in empty.get_data(as_text=True)
    bad = _start(admin_client, "source=bogus")
    assert bad.status_code == 400 and "There is no source with the code" in bad.get_data(as_text=True)
    assert session.scalar(select(func.count()).select_from(VettingBatch)) == 0


def test_an_unknown_batch_is_404(admin_client: FlaskClient, session: Any) -> None:
    assert admin_client.get("/admin/vetting/batches/999999").status_code == 404
    assert _step(admin_client, 999999, 0).status_code == 404


@pytest.mark.parametrize("role", ["patient", "doctor", "practitioner"])
def test_other_roles_cannot_use_the_workbench(client: FlaskClient, session: Any, role: str) -> None:
    p = us_practitioner(npi=None)
    sign_in(client, factories.user(role, email_confirmed_at=utcnow(), approved_at=utcnow()))
    assert client.get(QUEUE + "?assigned=mine").status_code == 403
    assert client.post(f"/admin/vetting/practitioners/{p.id}/assign", data={"assignee": "1"}).status_code in (400, 403)
    assert client.post("/admin/vetting/batches", data={"back": ""}).status_code in (400, 403)
    assert session.scalar(select(func.count()).select_from(VettingBatch)) == 0
