"""axe-core (from npm) on the patient pages: no serious or critical accessibility violations."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.conftest import AXE_JS, LiveServer, new_page, screenshot
from tests.e2e.data import ACCOUNT_PASSWORD, DOCTOR_EMAIL, OWNER_EMAIL

pytestmark = pytest.mark.e2e

# WCAG 2.1 A and AA, plus axe's best practices (landmarks, headings).
AXE_OPTIONS = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]}}
PAGES = {
    "home": "/",
    "search": "/search?place=02139&method=moxibustion&radius_km=50&verified_only=false",
    "search-empty": "/search?place=02139&radius_km=5&q=homeopathy",
    "search-error": "/search?place=%3Cscript%3E&radius_km=9999",
    "profile": "/practitioners/ada-moxley",
    "screening": "/screening?method=moxibustion",
    "about": "/about-acupuncture",
    "not-found": "/practitioners/nobody",
    "sign-in": "/sign-in",
    "sign-up": "/sign-up",
    "reset-password": "/reset-password",
}


def axe_violations(page: Any) -> list[dict[str, Any]]:
    """Inject axe-core and return the serious and critical violations on the page."""
    page.add_script_tag(path=str(AXE_JS))
    result = page.evaluate("options => axe.run(document, options)", AXE_OPTIONS)
    return [v for v in result["violations"] if v["impact"] in ("serious", "critical")]


def duplicate_ids(page: Any) -> list[str]:
    """Return the ids used more than once on the page: a label names the first element only (axe no longer says).

    Hidden inputs are left out: each form's CSRF token is ``csrf_token`` (Flask-WTF), and nothing labels one.
    """
    return page.evaluate("() => { const ids = [...document.querySelectorAll('[id]:not(input[type=hidden])')]"
                         ".map(e => e.id);"
                         " return [...new Set(ids.filter((id, i) => ids.indexOf(id) !== i))]; }")


def describe(violations: list[dict[str, Any]]) -> str:
    return "\n".join(f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes'][:3]]}"
                     for v in violations)


@pytest.fixture
def axe_page(browser: Any, live_server: LiveServer) -> Any:
    """A page whose context lets the test inject axe-core despite the CSP (the app's own code never needs this)."""
    page, _ = new_page(browser, live_server, bypass_csp=True)
    yield page
    page.context.close()


@pytest.mark.parametrize("name", list(PAGES))
def test_no_serious_accessibility_violations(axe_page: Any, live_server: LiveServer, name: str) -> None:
    axe_page.goto(live_server.at(PAGES[name]))
    axe_page.wait_for_load_state("networkidle")
    violations = axe_violations(axe_page)
    assert not violations, describe(violations)
    assert duplicate_ids(axe_page) == []


def test_screening_result_has_no_serious_violations(axe_page: Any, live_server: LiveServer) -> None:
    axe_page.goto(live_server.at("/screening"))
    axe_page.get_by_label("pregnant").check()
    axe_page.get_by_label("blood thinners").check()
    axe_page.get_by_role("button", name="See my results").click()
    axe_page.wait_for_load_state("networkidle")
    violations = axe_violations(axe_page)
    screenshot(axe_page, "screening-result-axe")
    assert not violations, describe(violations)


@pytest.mark.parametrize("email", [DOCTOR_EMAIL, OWNER_EMAIL])
def test_referral_pages_have_no_serious_violations(axe_page: Any, live_server: LiveServer, email: str) -> None:
    axe_page.goto(live_server.at("/sign-in"))
    axe_page.get_by_label("Email").fill(email)
    axe_page.get_by_label("Password").fill(ACCOUNT_PASSWORD)
    axe_page.get_by_role("button", name="Sign in").click()
    axe_page.wait_for_url(live_server.at("/account"))
    found = {}
    axe_page.goto(live_server.at("/referrals"))
    detail = axe_page.get_by_role("link", name="Referral #").first.get_attribute("href")
    paths = ["/account", "/referrals", "/notifications", detail]
    if email == DOCTOR_EMAIL:
        paths.append("/referrals/new/omar-haddad")
    else:  # the owner's listing editor: checkbox groups, the photo field; a location's hours and exceptions
        axe_page.goto(live_server.at("/practitioners/omar-haddad/locations"))
        location = axe_page.get_by_role("link", name="Edit the address, hours and exceptions").first.get_attribute("href")
        paths += ["/practitioners/omar-haddad/edit", "/practitioners/omar-haddad/locations", location]
    for path in paths:
        axe_page.goto(live_server.at(path))
        found[path] = describe(axe_violations(axe_page)) + "".join(f"\nid used twice: {i}" for i in duplicate_ids(axe_page))
    if email == DOCTOR_EMAIL:  # the form again, refused, with its flags and field errors
        axe_page.get_by_label("Are you pregnant, or could you be?").check()
        axe_page.get_by_role("button", name="Send the referral").click()
        axe_page.get_by_role("heading", name="These answers raise flags").wait_for()
        found["refused form"] = describe(axe_violations(axe_page))
    assert {path: text for path, text in found.items() if text} == {}
