"""Demo accounts and referrals for a newcomer: one sign-in per role, and a referral in every lifecycle state.

Everything goes through the services real users go through (sign-up, approval, profile claims,
send_referral, request_appointment, transition), so the patient data is sealed like real data and
every referral has its events and notices. Only the clock is set: each story starts days ago.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from faker import Faker
from sqlalchemy import select

from directory.accounts import services as accounts
from directory.accounts import tokens
from directory.accounts.doctors import DoctorCredentials
from directory.accounts.models import User
from directory.clock import utcnow
from directory.errors import DomainError
from directory.extensions import db
from directory.practitioners.models import Practitioner
from directory.referrals import appointments
from directory.referrals.models import Referral
from directory.referrals.services import ReferralDetails, request_appointment, send_referral, transition
from directory.vetting.status import VERIFIED_STATUSES

# RFC 2606 reserves .example: mail to it never reaches anyone, and email_problem accepts it (it refuses .test).
DOMAIN = "demo.meridian.example"
WHERE_CHECKED = "demo data: no register was looked up, this licence is invented"
JURISDICTION = "US-MA"
FAKER_SEED = 2026


class DemoUnavailable(DomainError):
    """The database has too few verified, unclaimed practitioners to own the demo profiles."""


@dataclass(frozen=True)
class DemoAccount:
    """One demo sign-in: who it is (``handle``), its role, email, password and what it shows."""

    handle: str
    role: str
    email: str
    password: str
    full_name: str
    shows: str
    licence: str = ""  # a doctor's invented licence number, in JURISDICTION


ACCOUNTS = (
    DemoAccount("admin", "admin", f"admin@{DOMAIN}", "demo admin passphrase 2026", "Dana Admin",
                "verification queue, accounts, referral numbers"),
    DemoAccount("doctor", "doctor", f"dr.okafor@{DOMAIN}", "demo doctor passphrase 2026", "Amara Okafor",
                "approved doctor: referrals in every state", "DEMO-0001"),
    DemoAccount("doctor2", "doctor", f"dr.lindqvist@{DOMAIN}", "demo doctor passphrase 2026", "Erik Lindqvist",
                "approved doctor: a few referrals", "DEMO-0002"),
    DemoAccount("waiting", "doctor", f"dr.waiting@{DOMAIN}", "demo doctor passphrase 2026", "Priya Waiting",
                "doctor awaiting approval (approve them as the admin)", "DEMO-0003"),
    DemoAccount("practitioner", "practitioner", f"practitioner.one@{DOMAIN}", "demo practitioner passphrase 2026",
                "Mei Practitioner", "owns a verified profile: incoming referrals to answer"),
    DemoAccount("practitioner2", "practitioner", f"practitioner.two@{DOMAIN}", "demo practitioner passphrase 2026",
                "Tom Practitioner", "owns a verified profile"),
    DemoAccount("patient", "patient", f"patient.one@{DOMAIN}", "demo patient passphrase 2026", "Lena Patient",
                "patient: own requests and a doctor's referral naming them"),
    DemoAccount("patient2", "patient", f"patient.two@{DOMAIN}", "demo patient passphrase 2026", "Sam Patient",
                "patient: an appointment request"),
)


@dataclass(frozen=True)
class Step:
    """One move of a story, ``hours`` after the previous one; a schedule books the visit ``visit_in`` hours later."""

    action: str
    hours: float
    note: str | None = None
    visit_in: float = 0


@dataclass(frozen=True)
class Story:
    """A referral or request from ``sender`` to demo profile ``profile`` (0 or 1), sent ``days_ago``, then moved."""

    key: str
    sender: str
    profile: int
    days_ago: float
    steps: tuple[Step, ...] = ()
    reason: str = "Chronic low back pain for three months; physiotherapy helped only a little."
    patient: str = ""  # the handle of a demo patient the referral names (else a made-up patient)


ACCEPT, VISIT = Step("accept", 5), Step("schedule", 20, visit_in=48)
STORIES = (
    Story("sent", "doctor", 0, 1),
    Story("accepted", "doctor", 0, 3, (ACCEPT,)),
    Story("declined", "doctor", 0, 4, (Step("decline", 26, "Not taking new patients with migraine at the moment; "
                                                           "a colleague nearer the patient may."),),
          reason="Migraine, two to three a month, looking for a non-drug option."),
    Story("scheduled", "doctor", 0, 2, (ACCEPT, Step("schedule", 10, visit_in=24 * 4))),
    Story("attended", "doctor", 0, 9, (ACCEPT, VISIT, Step("attended", 49))),
    Story("no_show", "doctor", 0, 10, (ACCEPT, VISIT, Step("no_show", 49))),
    Story("completed", "doctor", 0, 20, (Step("accept", 2), VISIT, Step("attended", 49),
                                          Step("complete", 30, "Six sessions of needling; pain down from 7 to 3 of 10. "
                                                               "Home exercises given."),),
          patient="patient"),
    Story("cancelled", "doctor", 0, 6, (ACCEPT, Step("cancel", 24, "The patient moved away; referred locally."))),
    Story("expired", "doctor", 0, 12, (Step("expire", 0),)),
    Story("accepted", "doctor2", 1, 5, (Step("accept", 30),), reason="Knee osteoarthritis, waiting for surgery."),
    Story("completed", "doctor2", 1, 25, (Step("accept", 8), VISIT, Step("attended", 49),
                                          Step("complete", 24, "Four sessions; sleeping better."),),
          reason="Insomnia after a bereavement."),
    Story("request-sent", "patient", 0, 1, reason="I would like help with neck pain from desk work."),
    Story("request-scheduled", "patient2", 1, 3, (ACCEPT, Step("schedule", 4, visit_in=24 * 6)),
          reason="Nausea during chemotherapy; my oncologist agrees."),
    Story("request-declined", "patient", 1, 7, (Step("decline", 50, "I do not treat this; please see your GP first."),),
          reason="Tinnitus in one ear for a year."),
)


def demo_accounts_present() -> bool:
    """Tell whether the demo accounts were seeded (the demo admin exists)."""
    return db.session.scalar(select(User.id).where(User.email == ACCOUNTS[0].email)) is not None


def seed_demo(now: datetime | None = None) -> bool:
    """Create the demo accounts and referrals unless they exist; return whether it created them (never commits)."""
    if demo_accounts_present():
        return False
    profiles = _unclaimed_profiles(2)
    users = _accounts(profiles)
    fake = Faker("en_US")
    fake.seed_instance(FAKER_SEED)
    for story in STORIES:
        _tell(story, users, profiles[story.profile], fake, now or utcnow())
    # Imported here: reviews build on referrals (a verified visit is a completed referral).
    from directory.reviews.demo import seed_reviews

    seed_reviews(users, profiles, now or utcnow())
    return True


def _unclaimed_profiles(count: int) -> list[Practitioner]:
    """Return the first ``count`` verified, visible practitioners nobody has claimed."""
    owned = select(User.practitioner_id).where(User.practitioner_id.is_not(None))
    query = (select(Practitioner).where(Practitioner.vetting_status.in_(VERIFIED_STATUSES),
                                        Practitioner.hidden.is_(False), Practitioner.id.not_in(owned))
             .order_by(Practitioner.id).limit(count))
    profiles = list(db.session.scalars(query))
    if len(profiles) < count:
        raise DemoUnavailable(f"the demo needs {count} verified practitioners nobody has claimed, and there are "
                              f"{len(profiles)}: seed practitioners first (flask seed)")
    return profiles


def _accounts(profiles: list[Practitioner]) -> dict[str, User]:
    """Create every demo account the way its real counterpart comes to exist; return them by handle."""
    admin = accounts.make_admin(ACCOUNTS[0].email, ACCOUNTS[0].full_name, ACCOUNTS[0].password, via="demo")
    users = {"admin": admin}
    for account in ACCOUNTS[1:]:
        credentials = DoctorCredentials(licence_number=account.licence, jurisdiction=JURISDICTION)
        user = accounts.sign_up(account.email, account.password, account.full_name, account.role,
                                credentials if account.role == "doctor" else None)
        accounts.confirm_email(tokens.make_token("confirm", {"uid": user.id, "email": user.email}))
        users[account.handle] = user
    for account in ACCOUNTS:
        if account.role == "doctor" and account.handle != "waiting":
            accounts.approve_user(admin, users[account.handle].id, account.licence, JURISDICTION, WHERE_CHECKED)
    for handle, profile in zip(("practitioner", "practitioner2"), profiles, strict=True):
        claim = accounts.request_claim(users[handle], profile.slug, "demo data: an invented claim")
        db.session.flush()
        accounts.decide_claim(admin, claim.id, True, "demo data")
    return users


def _tell(story: Story, users: dict[str, User], profile: Practitioner, fake: Faker, now: datetime) -> Referral:
    """Send one story's referral or request at its start, then take each of its steps at its time."""
    sender = users[story.sender]
    at = now - timedelta(days=story.days_ago)
    referral = _send(story, sender, profile, fake, users, at)
    owner = users["practitioner" if story.profile == 0 else "practitioner2"]
    for step in story.steps:
        at = referral.respond_by + timedelta(hours=1) if step.action == "expire" else at + timedelta(hours=step.hours)
        actor = {"cancel": sender, "expire": None}.get(step.action, owner)
        when = _clinic_morning(profile, at + timedelta(hours=step.visit_in)) if step.action == "schedule" else None
        transition(referral, step.action, actor, note=step.note, when=when, now=at)
    return referral


def _clinic_morning(profile: Practitioner, by: datetime) -> datetime:
    """Return the last 10:00 on the clinic's clock at or before ``by`` (naive UTC), as a practitioner books.

    Every demo visit is booked at least a day ahead, so that morning is still after the booking; and it is never
    later than ``by``, so a visit the story records as attended ``hours`` later had taken place by then.
    """
    zone = appointments.clinic_zone(profile)
    day = appointments.local_time(by, zone).date()
    morning = appointments.in_clinic_time(datetime(day.year, day.month, day.day, 10, 0), zone)
    if morning.astimezone(UTC).replace(tzinfo=None) > by:
        day -= timedelta(days=1)
        morning = appointments.in_clinic_time(datetime(day.year, day.month, day.day, 10, 0), zone)
    return morning


def _send(story: Story, sender: User, profile: Practitioner, fake: Faker, users: dict[str, User],
          at: datetime) -> Referral:
    """Send the story's referral (a doctor) or appointment request (a patient) at ``at``."""
    key = f"demo-{story.key}"
    if sender.role == "patient":
        return request_appointment(sender, profile, ReferralDetails(reason=story.reason), key, now=at)
    named = users.get(story.patient)
    first, last = fake.first_name(), fake.last_name()
    details = ReferralDetails(reason=story.reason, urgency="routine",
                              patient_name=named.full_name if named else f"{first} {last} (demo)",
                              patient_contact=named.email if named else f"{first}.{last}@example.org".lower(),
                              preferred_times="Weekday mornings")
    return send_referral(sender, profile, details, key, now=at)
