"""GET /practitioners/<slug>: what a patient sees, the verification evidence, and the friendly 404."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from directory.accounts.models import AuditEvent, OutgoingEmail
from directory.clock import today
from directory.extensions import db
from directory.practitioners.cards import load_cards
from directory.vetting.decisions import recompute_status, reinstate, suspend
from directory.vetting.workbench import open_items
from tests import factories
from tests.support import profiles


@pytest.fixture
def ada(session: Any) -> Any:
    """A verified practitioner with two credentials, three chained checks and four reviews."""
    p = factories.practitioner(slug="ada-moxley", first_name="Ada", last_name="Moxley",
                               methods=("moxibustion", "filiform-needling"), conditions=("low-back-pain", "sciatica"),
                               languages=("en", "zh"),
                               locations=[{"name": "Moxley Acupuncture", "phone": "(617) 555-0142",
                                           "booking_url": "https://example.org/book"}])
    licence = profiles.credential(p)
    npi = profiles.credential(p, kind="npi", issuer="CMS NPPES", number="1234567893", jurisdiction="US")
    profiles.add_checks(p, [(licence, "state_board", 90, "MA-LIC", "pass"), (npi, "npi_registry", 60, "NPPES", "error"),
                            (None, "exclusion_list", 3, "LEIE", "pass")])
    profiles.add_reviews(p, [5, 5, 4, 2])
    profiles.add_reviews(p, [1], state="pending")
    db.session.commit()
    return p


def page(client: Any, slug: str) -> tuple[int, str]:
    response = client.get(f"/practitioners/{slug}")
    return response.status_code, response.get_data(as_text=True)


def test_profile_shows_what_a_patient_needs(client: Any, ada: Any) -> None:
    status, html = page(client, "ada-moxley")
    assert status == 200
    for text in ("Ada Moxley, L.Ac.", "Moxibustion", "Filiform needling", "Low back pain", "Sciatica",
                 "English, Chinese", "Moxley Acupuncture", "1 Main St", "Monday", "09:00–17:00", "Closed",
                 "Verified", "Book online", "tel:(617)555-0142", "Take the one-minute screening"):
        assert text in html, text
    assert "complements conventional medical treatment; it does not replace it" in html


def test_verification_history_is_newest_first_in_plain_words(client: Any, ada: Any) -> None:
    html = page(client, "ada-moxley")[1]
    history = html[html.index('class="history"'):html.index("</table>", html.index('class="history"'))]
    rows = re.findall(r"<tr>\s*<td data-label=\"Date\"><time datetime=\"([\d-]+)\"", history)
    assert len(rows) == 3 and rows == sorted(rows, reverse=True)
    assert history.index("Federal exclusion list") < history.index("NPI registry") < history.index("State licensing board")
    assert "Could not be completed; will be repeated" in history and "Confirmed" in history
    assert "State licence AC12345, MA" in history


def test_chain_head_hash_is_shown_and_verified(client: Any, ada: Any) -> None:
    html = page(client, "ada-moxley")[1]
    head = ada.checks[-1].row_hash
    assert f'<code class="hash">{head}</code>' in html
    assert "The chain adds up." in html


def test_a_broken_chain_is_said_plainly(client: Any, session: Any) -> None:
    p = factories.practitioner(slug="broken-chain")
    profiles.add_checks(p, [(None, "exclusion_list", 9, "", "pass"), (None, "exclusion_list", 1, "", "pass")],
                        tamper_at=2)
    db.session.commit()
    html = page(client, "broken-chain")[1]
    assert "The chain does not add up" in html


def test_reviews_show_the_published_rating_distribution(client: Any, ada: Any) -> None:
    html = page(client, "ada-moxley")[1]
    assert "4.0 out of 5 from 4 reviews." in html
    assert re.search(r"5 stars</th>\s*<td><meter min=\"0\" max=\"4\" value=\"2\"", html)
    assert re.search(r"1 star</th>\s*<td><meter min=\"0\" max=\"4\" value=\"0\"", html)
    assert html.count("helpful and careful") == 4  # the pending review is not shown


def test_statuses_are_explained_in_plain_words(client: Any, session: Any) -> None:
    factories.practitioner(slug="still-pending", vetting_status="pending")
    db.session.commit()
    html = page(client, "still-pending")[1]
    assert "Checks in progress" in html and "have not been confirmed yet" in html
    assert "No checks have been recorded yet." in html


def test_hidden_profiles_are_a_friendly_404(client: Any, session: Any) -> None:
    factories.practitioner(slug="not-listed", hidden=True)
    db.session.commit()
    status, html = page(client, "not-listed")
    assert status == 404 and "We could not find that practitioner" in html


def test_a_suspended_listing_says_so_with_its_history_and_no_contact_details(client: Any, ada: Any) -> None:
    boss = factories.user("admin")
    suspend(ada, "Patient J. Doe complained about an unsafe needling on 3 March", boss, "administrative_review")
    db.session.commit()
    status, html = page(client, "ada-moxley")
    assert status == 200, "not the generic 404: the listing exists and is suspended"
    since = ada.vetting_status_since.strftime("%d %b %Y")
    assert "This listing is suspended since" in html and since in html
    assert "Reason: Administrative review." in html
    history = html[html.index('class="history"'):html.index("</table>", html.index('class="history"'))]
    assert "Listing suspended" in history and "Administrative review" in history
    assert history.index("Listing suspended") < history.index("Federal exclusion list"), "newest first"
    assert "J. Doe" not in html and "unsafe needling" not in html, "the admin's note stays private"
    for contact in ("Book online", "tel:", "(617) 555-0142", "1 Main St", "refer a patient", "Contact or refer"):
        assert contact not in html, contact
    assert '<meta name="robots" content="noindex">' in html


def test_reinstatement_is_in_the_public_history_too(client: Any, ada: Any) -> None:
    boss = factories.user("admin")
    suspend(ada, "private: licence query", boss, "credential_problem")
    reinstate(ada, "private: board confirmed the licence", boss)
    db.session.commit()
    status, html = page(client, "ada-moxley")
    history = html[html.index('class="history"'):html.index("</table>", html.index('class="history"'))]
    assert status == 200 and "This listing is suspended" not in html and "Book online" in html
    assert history.index("Listing reinstated") < history.index("Listing suspended")
    assert "Credential could not be confirmed" in history and "private:" not in html


def test_a_broken_chain_tells_the_admins_once(client: Any, session: Any) -> None:
    boss = factories.user("admin")
    p = factories.practitioner(slug="broken-chain")
    profiles.add_checks(p, [(None, "exclusion_list", 9, "", "pass"), (None, "exclusion_list", 1, "", "pass")],
                        tamper_at=2)
    db.session.commit()
    assert "our admins have been told" in page(client, "broken-chain")[1]
    page(client, "broken-chain")
    alerts = session.scalars(select(AuditEvent).where(AuditEvent.action == "vetting.chain_broken")).all()
    assert [(a.subject_id, a.actor_id) for a in alerts] == [(p.id, None)], "one alert, not one per page view"
    mail = session.scalars(select(OutgoingEmail).where(OutgoingEmail.kind == "chain_broken")).all()
    assert [m.recipient for m in mail] == [boss.email]
    assert "sequence 2: previous_hash does not match" in mail[0].body
    items = open_items(today())[p.id]
    assert any(i.kind == "chain" and "does not add up" in i.reason for i in items)


@pytest.mark.parametrize("slug", ["nobody-here", "x" * 5000, "%3Cscript%3Ealert(1)%3C%2Fscript%3E", "%C3%BC%F0%9F%98%80",
                                  "..%2F..%2Fetc%2Fpasswd"])
def test_missing_or_tampered_slugs_are_a_friendly_404(client: Any, ada: Any, slug: str) -> None:
    status, html = page(client, slug)
    assert status == 404
    assert "We could not find that practitioner" in html or "We could not find that page" in html
    assert "<script>alert(1)" not in html


def test_a_booking_link_that_is_not_a_web_address_is_not_shown(client: Any, session: Any) -> None:
    factories.practitioner(slug="bad-link", locations=[{"booking_url": "javascript:alert(1)"}])
    db.session.commit()
    html = page(client, "bad-link")[1]
    assert "javascript:" not in html and "Book online" not in html


def test_profile_offers_the_screening_for_its_first_method(client: Any, ada: Any) -> None:
    html = page(client, "ada-moxley")[1]
    assert "/screening?practitioner=ada-moxley&amp;method=filiform-needling" in html


def test_verified_since_is_the_day_the_history_verified_them_on_profile_and_card(client: Any, session: Any) -> None:
    p = factories.practitioner(slug="since-when", vetting_status="unverified")
    licence = profiles.credential(p, valid_from=today() - timedelta(days=400), valid_until=today() + timedelta(days=400))
    npi = profiles.credential(p, kind="npi", issuer="CMS NPPES", number="1234567893", jurisdiction="US")
    profiles.add_checks(p, [(None, "exclusion_list", 52, "LEIE", "pass"), (licence, "state_board", 50, "MA", "pass"),
                            (npi, "npi_registry", 48, "NPPES", "pass"), (None, "exclusion_list", 22, "LEIE", "pass"),
                            (npi, "npi_registry", 18, "NPPES", "pass")])  # the monthly NPI re-check
    assert recompute_status(p) == "verified"
    decided = today() - timedelta(days=48)
    assert p.verified_since == decided, "the NPI check of 48 days ago completed the evidence"
    db.session.commit()
    assert load_cards([p.id], verified_only=True)[p.id].verified_since == decided
    badge = f'since <time datetime="{decided.isoformat()}">{decided.strftime("%b %Y")}</time>'
    assert badge in page(client, "since-when")[1]
    assert recompute_status(p) == "verified" and p.verified_since == decided, "a recompute keeps the day"


def test_no_since_date_is_shown_for_a_practitioner_who_is_not_verified(client: Any, session: Any) -> None:
    factories.practitioner(slug="not-yet", vetting_status="pending")
    db.session.commit()
    html = page(client, "not-yet")[1]
    assert "Checks in progress" in html and "badge-date" not in html


def test_a_name_only_match_is_not_worded_as_a_finding(client: Any, ada: Any) -> None:
    from directory.vetting.services import record_check

    record_check(ada, source="exclusion_list", outcome="needs_review", note="possible name match")
    db.session.commit()
    status, html = page(client, "ada-moxley")
    assert status == 200 and "No NPI match; a listing with a similar name is being ruled out" in html


def test_a_check_s_reference_is_shown_only_when_its_source_does_not_already_say_it(client: Any, session: Any) -> None:
    p = factories.practitioner(slug="said-once", vetting_status="unverified")
    licence = profiles.credential(p, valid_from=today() - timedelta(days=400), valid_until=today() + timedelta(days=400))
    profiles.add_checks(p, [(None, "exclusion_list", 9, "LEIE", "pass"), (licence, "state_board", 5, "MA", "pass"),
                            (None, "exclusion_list", 2, "LEIE 2026-11-01 sha256:0123456789ab", "pass")])
    db.session.commit()
    html = page(client, "said-once")[1]
    assert "Federal exclusion list (OIG LEIE)" in html
    assert '<span class="muted">(LEIE)</span>' not in html, "the bare list code repeated what the source says"
    assert "(LEIE 2026-11-01 sha256:0123456789ab)" in html, "an import's own reference still shows"
    assert "(MA)</span>" in html
