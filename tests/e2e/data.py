"""The browser tests' database: demo practitioners plus a few known ones around Cambridge, MA 02139."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select

from directory.accounts.passwords import hash_password
from directory.clock import today, utcnow
from directory.extensions import db
from directory.models import Credential, Practitioner, User
from directory.referrals.services import ReferralDetails, send_referral, transition
from directory.seed import seed_practitioners
from tests import factories
from tests.support import profiles

DEMO_PRACTITIONERS = 400
# The referral journeys' accounts (one password): an approved doctor, the owner of Omar Haddad's profile, a patient.
ACCOUNT_PASSWORD = "a referral journey passphrase"
DOCTOR_EMAIL, OWNER_EMAIL, PATIENT_EMAIL = "dr.rosa@example.org", "omar@example.org", "pat.jones@example.org"
# Verified practitioners a few km around 02139, so a method filter has something to keep and drop.
NEIGHBOURS = [
    ("Hana", "Ito", ("moxibustion", "cupping"), 42.3736, -71.1190, "Cambridge"),
    ("Omar", "Haddad", ("electroacupuncture", "filiform-needling"), 42.3876, -71.0995, "Somerville"),
    ("Lena", "Vogel", ("tui-na", "moxibustion"), 42.3505, -71.1054, "Boston"),
    ("Sam", "Okafor", ("cupping", "gua-sha"), 42.3601, -71.0589, "Boston"),
    ("Rita", "Costa", ("moxibustion", "electroacupuncture", "filiform-needling"), 42.3954, -71.1426, "Arlington"),
]
# The credentials journeys' accounts (one password): owners of a listing with one state licence.
CREDENTIALS_PASSWORD = "a credentials journey passphrase"
CAMBRIDGE = {"city": "Cambridge", "region": "MA", "postal_code": "02139", "country": "US", "timezone": "America/New_York"}


def seed_e2e_database() -> dict[str, str]:
    """Seed demo data and the known practitioners; return their slugs by role in the tests."""
    seed_practitioners(DEMO_PRACTITIONERS, seed=2026)
    moxa = factories.practitioner(
        slug="ada-moxley", first_name="Ada", last_name="Moxley", title="L.Ac.",
        methods=("moxibustion", "filiform-needling"), conditions=("low-back-pain", "sciatica"), languages=("en", "zh"),
        bio="Ada treats low back pain and sciatica with moxibustion and gentle needling.",
        locations=[{**CAMBRIDGE, "name": "Moxley Acupuncture", "address_line1": "12 Brookline St",
                    "latitude": 42.3626, "longitude": -71.1030, "phone": "(617) 555-0142",
                    "booking_url": "https://example.org/book/ada", "wheelchair_accessible": True}],
    )
    needles = factories.practitioner(
        slug="bruno-needleman", first_name="Bruno", last_name="Needleman", methods=("filiform-needling",),
        locations=[{**CAMBRIDGE, "address_line1": "200 Mass Ave", "latitude": 42.3650, "longitude": -71.1000}],
    )
    pending = factories.practitioner(
        slug="cora-pending", first_name="Cora", last_name="Pending", vetting_status="pending", methods=("moxibustion",),
        locations=[{**CAMBRIDGE, "address_line1": "5 Pearl St", "latitude": 42.3640, "longitude": -71.1050}],
    )
    for first, last, methods, lat, lon, city in NEIGHBOURS:
        factories.practitioner(
            slug=f"{first}-{last}".lower(), first_name=first, last_name=last, methods=methods,
            conditions=("low-back-pain", "neck-pain"),
            locations=[{**CAMBRIDGE, "city": city, "address_line1": "1 Harbour Rd", "latitude": lat, "longitude": lon}])
    _add_history(moxa)
    profiles.add_reviews(moxa, [5, 5, 4, 3])
    _add_referral_accounts()
    return {"moxa": moxa.slug, "needles": needles.slug, "pending": pending.slug, "omar": "omar-haddad"}


def _add_referral_accounts() -> None:
    """Add the doctor, Omar Haddad's owner and the patient, one open referral with long words in it, one declined."""
    omar = db.session.scalars(select(Practitioner).where(Practitioner.slug == "omar-haddad")).one()
    password = hash_password(ACCOUNT_PASSWORD)
    doctor = factories.doctor(email=DOCTOR_EMAIL, full_name="Dr Rosa Ferreira", password_hash=password)
    owner = factories.practitioner_account(omar, email=OWNER_EMAIL, full_name="Omar Haddad", password_hash=password)
    factories.user("patient", email=PATIENT_EMAIL, full_name="Pat Jones", password_hash=password,
                   email_confirmed_at=utcnow())
    send_referral(doctor, omar, ReferralDetails(
        reason="Chronic neck pain after a whiplash injury; physiotherapy helped a little. " * 3,
        patient_name="Bartholomew Featherstonehaugh-Cholmondeley",
        patient_contact="bartholomew.featherstonehaugh-cholmondeley@example-hospital.org", urgency="soon",
        condition="neck-pain"), "e2e-seeded-referral")
    # One the owner declined, so the doctor has a notice however the tests are ordered or selected.
    declined = send_referral(doctor, omar, ReferralDetails(
        reason="Tension headaches twice a week.", patient_name="Ann Lee", patient_contact="ann.lee@example.org",
        urgency="routine", condition="neck-pain"), "e2e-seeded-declined")
    transition(declined, "decline", owner, note="Fully booked until next month; please try a colleague.")


def _add_history(p: Practitioner) -> None:
    """Give ``p`` a licence, an NPI and three chained, passing checks."""
    licence = profiles.credential(p, valid_until=(utcnow() + timedelta(days=400)).date())
    npi = profiles.credential(p, kind="npi", issuer="CMS NPPES", number="1234567893", jurisdiction="US")
    profiles.add_checks(p, [(licence, "state_board", 90, "MA-LIC-AC12345", "pass"),
                            (npi, "npi_registry", 20, "NPPES 1234567893", "pass"),  # inside its monthly window
                            (None, "exclusion_list", 3, "LEIE 2026-11", "pass")])


def add_credentials_owner(server: Any, email: str, slug: str, *, expired: bool = True) -> tuple[int, int]:
    """Add a Massachusetts listing with a state licence (expired unless told) and its owner; return (id, licence id)."""
    assert server.app is not None
    with server.app.app_context():
        p = factories.practitioner(slug=slug, first_name="Rena", last_name=f"Newell-{slug}")
        until = today() - timedelta(days=5) if expired else today() + timedelta(days=400)
        licence = Credential(practitioner_id=p.id, kind="state_licence", issuer="MA Board of Acupuncture",
                             number="AC55501", jurisdiction="MA", valid_from=until - timedelta(days=730),
                             valid_until=until)
        db.session.add(licence)
        db.session.add(User(email=email, password_hash=hash_password(CREDENTIALS_PASSWORD), role="practitioner",
                            full_name="Rena Newell", practitioner_id=p.id, email_confirmed_at=utcnow(),
                            approved_at=utcnow()))
        db.session.commit()
        ids = p.id, licence.id
        db.session.remove()
    return ids


def sign_in(page: Any, server: Any, email: str, password: str) -> None:
    """Sign in through the form and land on the account page."""
    page.context.clear_cookies()
    page.goto(server.at("/sign-in"))
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(server.at("/account"))
