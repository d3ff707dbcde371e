"""The contraindication screening pages: questionnaire, per-method result, keeping answers only on request."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from sqlalchemy import func, select

from directory.clock import utcnow
from directory.extensions import db
from directory.models import Screening
from tests import factories
from tests.support.web import csrf_from, sign_in_as


def csrf_token(client: Any, url: str = "/screening") -> str:
    return csrf_from(client.get(url).get_data(as_text=True))


def submit(client: Any, *ticked: str, **fields: str) -> Any:
    data = {"csrf_token": csrf_token(client), **{key: "y" for key in ticked}, **fields}
    return client.post("/screening", data=data)


def test_questionnaire_asks_every_question_with_a_label(client: Any) -> None:
    html = client.get("/screening").get_data(as_text=True)
    for key in ("exhaustion", "intoxication", "radiotherapy_steroids", "heart_disease", "kidney_liver", "seizures",
                "bleeding", "pregnancy", "implanted_device", "cancer"):
        assert f'<input id="{key}" name="{key}" type="checkbox"' in html
        assert f'<label for="{key}">' in html
    assert "not a diagnosis" in html


def test_no_flags_means_every_method_is_ok(client: Any) -> None:
    response = submit(client)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Nothing you ticked stands in the way of any method." in html
    assert html.count('class="verdict verdict-ok"') == 10


def test_anticoagulants_and_a_pacemaker_give_method_specific_verdicts(client: Any) -> None:
    html = submit(client, "bleeding", "implanted_device").get_data(as_text=True)
    rows = dict(re.findall(r'<th scope="row">([^<]+?)(?: <span[^>]*>[^<]*</span>)?</th>\s*<td><span class="verdict '
                           r'verdict-(\w+)">', html))
    assert rows["Filiform needling"] == "clearance"
    assert rows["Cupping"] == "clearance"
    assert rows["Moxibustion"] == "caution"
    assert rows["Tui Na"] == "caution"
    assert rows["Electroacupuncture"] == "not_method"
    assert "Ask your doctor first" in html and "refer you" in html
    assert "not a diagnosis" in html


def test_intoxication_is_not_today(client: Any) -> None:
    html = submit(client, "intoxication").get_data(as_text=True)
    assert "treatment should wait for another day" in html
    assert html.count('verdict-not_today">Not today') >= 10


def test_answers_are_not_stored_unless_asked(client: Any, session: Any) -> None:
    submit(client, "pregnancy")
    assert db.session.scalar(select(func.count(Screening.id))) == 0
    with client.session_transaction() as cookie:
        assert "screening_flags" not in cookie


def test_remembering_keeps_answers_in_the_browser_session_only(client: Any, session: Any) -> None:
    html = submit(client, "pregnancy", remember="y").get_data(as_text=True)
    assert "Forget my answers" in html
    with client.session_transaction() as cookie:
        assert cookie["screening_flags"] == ["pregnancy"]
    assert db.session.scalar(select(func.count(Screening.id))) == 0
    forget = client.post("/screening/forget", data={"csrf_token": csrf_token(client), "return_to": "/search?method=cupping"})
    assert forget.status_code == 303 and forget.headers["Location"].endswith("/search?method=cupping")
    with client.session_transaction() as cookie:
        assert "screening_flags" not in cookie


def test_a_signed_in_patient_can_save_their_answers(client: Any, session: Any) -> None:
    patient = factories.user("patient", email_confirmed_at=utcnow())
    db.session.commit()
    sign_in_as(client, patient)
    assert 'name="save"' in client.get("/screening").get_data(as_text=True)
    submit(client, "bleeding", save="y")
    saved = db.session.scalars(select(Screening).where(Screening.user_id == patient.id)).one()
    assert json.loads(saved.answers) == ["bleeding"]
    assert json.loads(saved.verdicts)["cupping"] == "clearance"


def test_save_is_ignored_for_anonymous_patients(client: Any, session: Any) -> None:
    submit(client, "bleeding", save="y")
    assert db.session.scalar(select(func.count(Screening.id))) == 0


def test_a_post_without_csrf_token_is_refused_without_a_500(client: Any) -> None:
    response = client.post("/screening", data={"bleeding": "y"})
    assert response.status_code == 400


@pytest.mark.parametrize("query", [
    "method=moxibustion&return_to=/search?place=02139%26method=moxibustion",
    "method=<script>alert(1)</script>&return_to=javascript:alert(1)",
    "return_to=https://evil.example/search", "return_to=//evil.example/search", "practitioner=" + "p" * 5000,
    "method=telepathy",
])
def test_questionnaire_context_is_checked_and_escaped(client: Any, query: str) -> None:
    response = client.get(f"/screening?{query}")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<script>alert(1)" not in html and "javascript:alert" not in html and "evil.example" not in html


def test_a_method_and_the_search_come_along(client: Any) -> None:
    html = client.get("/screening?method=moxibustion&return_to=/search?method=moxibustion").get_data(as_text=True)
    assert "you asked about <strong>Moxibustion</strong>" in html
    assert 'href="/search?method=moxibustion"' in html
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)
    result = client.post("/screening", data={"csrf_token": token, "method": "moxibustion",
                                             "return_to": "/search?method=moxibustion", "bleeding": "y"})
    body = result.get_data(as_text=True)
    assert "(you asked about this one)" in body and "Back to your search" in body


def test_forget_refuses_foreign_return_addresses(client: Any) -> None:
    response = client.post("/screening/forget", data={"csrf_token": csrf_token(client),
                                                       "return_to": "https://evil.example/"})
    assert response.status_code == 303 and response.headers["Location"].endswith("/screening")
