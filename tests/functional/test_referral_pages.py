"""The referral pages: a doctor refers, a patient requests, the practitioner answers, everyone reads their inbox."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from directory.accounts.models import AuditEvent, User
from directory.clock import utcnow
from directory.extensions import db
from directory.models import Practitioner, Referral
from directory.referrals import services
from directory.referrals.models import Notification, ReferralEvent
from directory.screening.models import Screening
from tests import factories
from tests.support.web import csrf_from, sign_in_as

SCRIPT = "<script>alert(1)</script>"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"


def _saved(value: Any) -> Any:
    """Commit (a savepoint in tests) so a refused request's rollback keeps the test's data."""
    db.session.commit()
    return value


@pytest.fixture
def profile(session: Any) -> Practitioner:
    return _saved(factories.practitioner(methods=("filiform-needling", "electroacupuncture")))


@pytest.fixture
def owner(profile: Practitioner) -> User:
    return _saved(factories.practitioner_account(profile))


@pytest.fixture
def doctor(session: Any) -> User:
    return _saved(factories.doctor(full_name="Dr Rosa Ferreira"))


def _form_data(client: Any, url: str, **values: Any) -> dict[str, Any]:
    """Return the hidden values of the form at ``url`` (CSRF token, one-time key) with ``values``."""
    page = client.get(url).get_data(as_text=True)
    key = page.split('name="idempotency_key" type="hidden" value="')[1].split('"')[0]
    return {"csrf_token": csrf_from(page), "idempotency_key": key, **values}


def _refer(client: Any, profile: Practitioner, **values: Any) -> Any:
    url = f"/referrals/new/{profile.slug}"
    data = {"patient_name": "Ada Patient", "patient_contact": "ada@example.org", "reason": "Low back pain",
            "urgency": "routine", "condition": "low-back-pain", **values}
    return client.post(url, data=_form_data(client, url, **data))


def _count() -> int:
    return int(db.session.scalar(select(func.count(Referral.id))) or 0)


def _act(client: Any, referral: Referral, action: str, **values: str) -> Any:
    page = client.get(f"/referrals/{referral.id}").get_data(as_text=True)
    return client.post(f"/referrals/{referral.id}/{action}", data={"csrf_token": csrf_from(page), **values})


def test_a_doctor_refers_a_patient_and_reads_the_referral(client: Any, doctor: User, owner: User,
                                                          profile: Practitioner) -> None:
    sign_in_as(client, doctor)
    form = client.get(f"/referrals/new/{profile.slug}").get_data(as_text=True)
    assert "Refer a patient" in form and "Electroacupuncture" in form and "Routine" in form
    response = _refer(client, profile, method="electroacupuncture")
    assert response.status_code == 303
    referral = db.session.scalars(select(Referral)).one()
    assert response.headers["Location"].endswith(f"/referrals/{referral.id}")
    page = client.get(f"/referrals/{referral.id}").get_data(as_text=True)
    assert "Ada Patient" in page and "ada@example.org" in page and "Sent" in page and "Cancel" in page
    assert "Accept" not in page  # the doctor cannot answer their own referral


def test_flagged_answers_need_the_acknowledgement(client: Any, doctor: User, owner: User,
                                                  profile: Practitioner) -> None:
    sign_in_as(client, doctor)
    refused = _refer(client, profile, screening_answers=["pregnancy"])
    page = refused.get_data(as_text=True)
    assert refused.status_code == 400 and _count() == 0
    assert "raise flags" in page and "Not this method" in page and "confirm you have taken them" in page
    assert _refer(client, profile, screening_answers=["pregnancy"], flags_acknowledged="y").status_code == 303
    assert db.session.scalars(select(Referral)).one().flags_acknowledged_at is not None


def test_a_double_submit_sends_one_referral(client: Any, doctor: User, owner: User, profile: Practitioner) -> None:
    sign_in_as(client, doctor)
    url = f"/referrals/new/{profile.slug}"
    data = _form_data(client, url, patient_name="Ada", patient_contact="ada@example.org", reason="Back pain",
                      urgency="routine")
    first, second = client.post(url, data=data), client.post(url, data=data)
    assert first.status_code == second.status_code == 303
    assert first.headers["Location"] == second.headers["Location"] and _count() == 1


def test_an_unapproved_doctor_is_told_why(client: Any, owner: User, profile: Practitioner) -> None:
    waiting = _saved(factories.doctor(approved=False))
    sign_in_as(client, waiting)
    response = client.get(f"/referrals/new/{profile.slug}")
    assert response.status_code == 403 and "waiting for an admin" in response.get_data(as_text=True)
    token = csrf_from(response.get_data(as_text=True))
    sent = client.post(f"/referrals/new/{profile.slug}", data={"csrf_token": token, "idempotency_key": "k",
                                                               "patient_name": "Ada", "reason": "Back pain"})
    assert sent.status_code == 403 and "waiting for an admin" in sent.get_data(as_text=True) and _count() == 0
    audit = db.session.scalars(select(AuditEvent).where(AuditEvent.actor_id == waiting.id)).all()
    assert [event.action for event in audit] == ["forbidden"]  # the attempt to send is evidence


@pytest.mark.parametrize("status", ["unverified", "suspended"])
def test_an_unverified_or_suspended_practitioner_cannot_be_referred_to(client: Any, doctor: User,
                                                                        status: str) -> None:
    profile = factories.practitioner(vetting_status=status)
    _saved(factories.practitioner_account(profile))
    sign_in_as(client, doctor)
    response = client.get(f"/referrals/new/{profile.slug}")
    assert response.status_code == 400 and "not verified on Meridian" in response.get_data(as_text=True)
    assert 'name="reason"' not in response.get_data(as_text=True)


def test_a_patient_requests_an_appointment_with_their_kept_screening(client: Any, owner: User,
                                                                     profile: Practitioner) -> None:
    patient = factories.user("patient", full_name="Ada Patient", email_confirmed_at=utcnow())
    db.session.add(Screening(user_id=patient.id, answers='["pregnancy"]', verdicts="{}"))
    _saved(patient)
    sign_in_as(client, patient)
    url = f"/referrals/new/{profile.slug}"
    form = client.get(url).get_data(as_text=True)
    assert "Request an appointment" in form and re.search(r'<input checked [^>]*value="pregnancy"', form)
    data = _form_data(client, url, reason="Shoulder pain", preferred_times="Mornings", screening_answers=["pregnancy"],
                      flags_acknowledged="y")
    assert client.post(url, data=data).status_code == 303
    referral = db.session.scalars(select(Referral)).one()
    assert (referral.kind, referral.patient_id, referral.patient_name) == ("request", patient.id, "Ada Patient")


def test_the_practitioner_takes_a_referral_from_accept_to_complete(client: Any, doctor: User, owner: User,
                                                                  profile: Practitioner) -> None:
    referral = _saved(factories.referral(doctor, profile))
    sign_in_as(client, owner)
    assert _act(client, referral, "accept").status_code == 303
    past = (utcnow() - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    refused = _act(client, referral, "schedule", when=past)
    assert refused.status_code == 400 and "must be in the future" in refused.get_data(as_text=True)
    later = (utcnow() + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    assert _act(client, referral, "schedule", when=later).status_code == 303
    assert _act(client, referral, "attended").status_code == 303
    missing = _act(client, referral, "complete", note="")
    assert missing.status_code == 400 and "Give the outcome" in missing.get_data(as_text=True)
    assert _act(client, referral, "complete", note="Pain down from 7 to 3.").status_code == 303
    db.session.refresh(referral)
    assert (referral.state, referral.outcome) == ("completed", "Pain down from 7 to 3.")
    sign_in_as(client, doctor)
    page = client.get(f"/referrals/{referral.id}").get_data(as_text=True)
    assert "Outcome" in page and "Pain down from 7 to 3." in page and "attended → <strong>completed" in page


def _next_spring_forward(zone: ZoneInfo) -> datetime:
    """Return the first wall-clock half hour after today that ``zone``'s clocks skip (summer time starts)."""
    day = utcnow().date() + timedelta(days=1)
    while True:
        start = datetime(day.year, day.month, day.day, 2, 30)
        if start.replace(tzinfo=zone).astimezone(UTC).astimezone(zone).replace(tzinfo=None) != start:
            return start
        day += timedelta(days=1)


def test_an_appointment_is_typed_and_read_on_the_clinic_s_clock(client: Any, doctor: User, owner: User,
                                                               profile: Practitioner) -> None:
    referral = _saved(factories.referral(doctor, profile))
    sign_in_as(client, owner)
    assert _act(client, referral, "accept").status_code == 303
    page = client.get(f"/referrals/{referral.id}").get_data(as_text=True)
    assert "Date and time (clinic time, America/New_York)" in page and "(UTC)" not in page
    zone = ZoneInfo("America/New_York")  # the factory's clinic is in Cambridge, MA
    skipped = _next_spring_forward(zone)
    refused = _act(client, referral, "schedule", when=f"{skipped:%Y-%m-%dT%H:%M}")
    assert refused.status_code == 400 and "does not exist" in refused.get_data(as_text=True)
    assert db.session.get(Referral, referral.id).state == "accepted"

    visit = datetime.combine(utcnow().date() + timedelta(days=9), datetime.min.time()).replace(hour=9, minute=30)
    assert _act(client, referral, "schedule", when=f"{visit:%Y-%m-%dT%H:%M}").status_code == 303
    db.session.refresh(referral)
    local = visit.replace(tzinfo=zone)
    assert referral.scheduled_for == local.astimezone(UTC).replace(tzinfo=None)
    assert referral.scheduled_zone == "America/New_York"
    shown = f"{visit:%d %b %Y} 09:30 {local:%Z}"  # what the practitioner typed, zone named
    sign_in_as(client, doctor)
    assert shown in client.get(f"/referrals/{referral.id}").get_data(as_text=True)
    assert shown in client.get("/referrals").get_data(as_text=True)
    [told] = [n.text for n in db.session.scalars(select(Notification).where(Notification.user_id == doctor.id))
              if "scheduled" in n.text]
    assert told.endswith(f"for {shown}.")


def test_a_practitioner_without_a_location_books_in_utc_and_says_so(client: Any, doctor: User) -> None:
    profile = factories.practitioner(locations=[])
    owner = factories.practitioner_account(profile)
    referral = _saved(factories.referral(doctor, profile))
    sign_in_as(client, owner)
    _act(client, referral, "accept")
    assert "Date and time (UTC)" in client.get(f"/referrals/{referral.id}").get_data(as_text=True)
    visit = (utcnow() + timedelta(days=3)).replace(hour=16, minute=0, second=0, microsecond=0)
    assert _act(client, referral, "schedule", when=f"{visit:%Y-%m-%dT%H:%M}").status_code == 303
    db.session.refresh(referral)
    assert (referral.scheduled_for, referral.scheduled_zone) == (visit, "UTC")
    assert f"{visit:%d %b %Y} 16:00 UTC" in client.get(f"/referrals/{referral.id}").get_data(as_text=True)


def test_another_practitioner_cannot_see_or_act(client: Any, doctor: User, profile: Practitioner) -> None:
    referral = _saved(factories.referral(doctor, profile))
    stranger = factories.practitioner_account()
    sign_in_as(client, stranger)
    assert client.get(f"/referrals/{referral.id}").status_code == 404
    token = csrf_from(client.get("/referrals").get_data(as_text=True))
    assert client.post(f"/referrals/{referral.id}/accept", data={"csrf_token": token}).status_code == 404
    assert db.session.get(Referral, referral.id).state == "sent"


def test_the_sender_cannot_accept_their_own_referral(client: Any, doctor: User, owner: User,
                                                     profile: Practitioner) -> None:
    referral = _saved(factories.referral(doctor, profile))
    sign_in_as(client, doctor)
    response = _act(client, referral, "accept")
    assert response.status_code == 403 and "Only the practitioner can accept" in response.get_data(as_text=True)


@pytest.mark.parametrize("path", ["/referrals/999999", "/referrals/0", "/referrals/abc", "/referrals/-1"])
def test_a_tampered_id_is_not_found(client: Any, doctor: User, path: str) -> None:
    sign_in_as(client, doctor)
    assert client.get(path).status_code == 404


def test_script_in_every_free_text_field_comes_back_escaped(client: Any, doctor: User, owner: User,
                                                            profile: Practitioner) -> None:
    sign_in_as(client, doctor)
    assert _refer(client, profile, patient_name=SCRIPT, patient_contact=SCRIPT, reason=SCRIPT).status_code == 303
    referral = db.session.scalars(select(Referral)).one()
    sign_in_as(client, owner)
    assert _act(client, referral, "decline", note=SCRIPT).status_code == 303
    for role in (owner, doctor):
        sign_in_as(client, role)
        page = client.get(f"/referrals/{referral.id}").get_data(as_text=True)
        assert SCRIPT not in page and page.count(ESCAPED) == 4  # name, contact, reason, decline note
    refused = _refer(client, profile, patient_name=SCRIPT * 10, reason="x" * 5000)
    assert SCRIPT not in refused.get_data(as_text=True)


def test_a_20_kb_note_is_refused_and_nothing_is_written(client: Any, doctor: User, owner: User,
                                                        profile: Practitioner) -> None:
    referral = _saved(factories.referral(doctor, profile))
    sign_in_as(client, owner)
    events = db.session.scalar(select(func.count(ReferralEvent.id)))
    response = _act(client, referral, "decline", note="n" * 20_000)
    assert response.status_code == 400 and "Keep it to 4,000 characters" in response.get_data(as_text=True)
    assert db.session.get(Referral, referral.id).state == "sent"
    assert db.session.scalar(select(func.count(ReferralEvent.id))) == events
    sign_in_as(client, doctor)
    refused = _refer(client, profile, reason="r" * 20_000)
    assert refused.status_code == 400 and "Keep it to 4,000" in refused.get_data(as_text=True) and _count() == 1


def test_inboxes_show_each_role_its_referrals(client: Any, doctor: User, owner: User, profile: Practitioner) -> None:
    mine = factories.referral(doctor, profile)
    other = factories.referral(factories.doctor(), factories.practitioner())
    for user in (doctor, owner):
        sign_in_as(client, user)
        page = client.get("/referrals").get_data(as_text=True)
        assert f"/referrals/{mine.id}" in page and f"/referrals/{other.id}\"" not in page
    sign_in_as(client, doctor)
    assert f"/referrals/{mine.id}" not in client.get("/referrals?status=closed").get_data(as_text=True)
    assert f"/referrals/{mine.id}" in client.get("/referrals?status=sent").get_data(as_text=True)
    assert client.get("/referrals?status=bogus").status_code == 400


def test_notifications_are_counted_highlighted_and_marked_read(client: Any, doctor: User, owner: User,
                                                               profile: Practitioner) -> None:
    sign_in_as(client, doctor)
    _refer(client, profile)
    referral = db.session.scalars(select(Referral)).one()
    sign_in_as(client, owner)
    page = client.get("/notifications").get_data(as_text=True)
    assert "Notifications (1)" in page and 'class="unread"' in page
    notice = db.session.scalars(select(Notification).where(Notification.user_id == owner.id)).one()
    opened = client.post("/notifications/read", data={"csrf_token": csrf_from(page), "notification_id": notice.id})
    assert opened.status_code == 303 and opened.headers["Location"].endswith(f"/referrals/{referral.id}")
    assert "Notifications (1)" not in client.get("/notifications").get_data(as_text=True)
    sign_in_as(client, doctor)
    token = csrf_from(client.get("/notifications").get_data(as_text=True))
    assert client.post("/notifications/read", data={"csrf_token": token, "notification_id": notice.id}).status_code == 404


def test_the_profile_links_to_the_viewers_form(client: Any, doctor: User, owner: User, profile: Practitioner) -> None:
    url = f"/practitioners/{profile.slug}"
    assert "/sign-in?next=/referrals/new/" in client.get(url).get_data(as_text=True)
    sign_in_as(client, doctor)
    assert "Refer a patient" in client.get(url).get_data(as_text=True)
    sign_in_as(client, factories.user("patient"))
    assert "Request an appointment" in client.get(url).get_data(as_text=True)


def test_the_dashboard_says_what_is_waiting(client: Any, doctor: User, owner: User, profile: Practitioner) -> None:
    factories.referral(doctor, profile)
    sign_in_as(client, owner)
    assert "1 new referral or request to answer" in client.get("/account").get_data(as_text=True)
    sign_in_as(client, doctor)
    assert "1 of your referrals is open" in client.get("/account").get_data(as_text=True)


def test_an_admins_read_is_audited(client: Any, doctor: User, profile: Practitioner) -> None:
    referral = _saved(factories.referral(doctor, profile))
    admin = _saved(factories.user("admin", email_confirmed_at=utcnow(), approved_at=utcnow()))
    sign_in_as(client, admin)
    assert "Ada Patient" in client.get(f"/referrals/{referral.id}").get_data(as_text=True)
    read = db.session.scalars(select(AuditEvent).where(AuditEvent.actor_id == admin.id)).one()
    assert (read.action, read.subject_id) == ("referral.read", referral.id)


def test_a_profile_nobody_can_refer_to_offers_no_referral_link(client: Any, doctor: User) -> None:
    # Found walking the demo: "Refer a patient" on an unclaimed profile led only to a refusal.
    unclaimed = _saved(factories.practitioner(vetting_status="verified"))
    sign_in_as(client, doctor)
    html = client.get(f"/practitioners/{unclaimed.slug}").get_data(as_text=True)
    assert f"/referrals/new/{unclaimed.slug}" not in html and "Refer a patient" not in html


def test_a_name_ending_in_a_full_stop_makes_no_double_stop(client: Any, doctor: User) -> None:
    profile = _saved(factories.practitioner(title="L.Ac."))
    owner = _saved(factories.practitioner_account(profile))
    assert profile.display_name.endswith(".")
    sign_in_as(client, doctor)
    sent = _refer(client, profile)
    assert ".." not in client.get(sent.headers["Location"]).get_data(as_text=True)
    referral = db.session.scalars(select(Referral).order_by(Referral.id.desc())).first()
    assert referral is not None
    services.transition(referral, "accept", owner)
    assert not [n.text for n in db.session.scalars(select(Notification)) if ".." in n.text]


@pytest.mark.parametrize(("when", "message"), [
    ("9999-12-31T23:59", "within the next few years"),  # past the year 9999 in UTC: no instant Python can hold
    ("0001-01-01T00:00", "must be in the future"),  # UTC-5: still the year 1
    ("2999-06-01T10:00", "within the next 2 years"),  # a mistyped year
])
def test_a_far_off_appointment_is_refused_on_the_form_not_answered_with_a_500(
        client: Any, doctor: User, owner: User, profile: Practitioner, when: str, message: str) -> None:
    referral = _saved(factories.referral(doctor, profile, state="accepted"))
    sign_in_as(client, owner)
    refused = _act(client, referral, "schedule", when=when)
    assert refused.status_code == 400 and message in refused.get_data(as_text=True)
    assert db.session.get(Referral, referral.id).state == "accepted"
