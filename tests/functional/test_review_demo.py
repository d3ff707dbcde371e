"""Demo reviews: `flask bootstrap` tells every review story through the services."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from directory.extensions import db
from directory.reviews.models import Review
from directory.reviews.services import adverse_event_signals


@pytest.fixture
def bootstrapped(app: Flask, session: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run `flask bootstrap` on the empty test database with a small demo."""
    monkeypatch.setitem(app.config, "DEMO_PRACTITIONERS", 40)
    result = app.test_cli_runner().invoke(args=["bootstrap"])
    assert result.exit_code == 0, result.output


def test_the_demo_shows_every_part_of_reviews(client: Any, bootstrapped: None) -> None:
    written = list(db.session.scalars(select(Review).where(Review.author_id.is_not(None))))
    verified = next(r for r in written if r.referral_id is not None)
    assert len(verified.revisions) == 2 and len(verified.responses) == 2 and verified.pain_before == 7
    assert verified.moderation_state == "published"
    assert [r.removal_category for r in written if r.moderation_state == "removed"] == ["suspected_fake"]
    holds = sorted(r.hold_reason for r in written if r.moderation_state == "pending")
    assert holds == ["account younger than 3 days", "contact details in the text"]
    assert adverse_event_signals([verified.practitioner_id])
    page = client.get(f"/reviews/{verified.id}").get_data(as_text=True)
    assert "Verified visit" in page and "Thank you for the kind words." in page
