"""A practitioner's referral numbers, computed from the events alone."""

from __future__ import annotations

from datetime import datetime, timedelta

from directory.referrals.numbers import numbers_from_events

T = datetime(2026, 12, 1, 9, 0)


def _h(hours: float) -> datetime:
    return T + timedelta(hours=hours)


def test_no_referrals_give_no_rates() -> None:
    numbers = numbers_from_events([])
    assert (numbers.received, numbers.acceptance_rate, numbers.median_first_answer, numbers.completion_rate) == (
        0, None, None, None)


def test_rates_and_the_median_time_to_first_answer() -> None:
    events = [
        (1, "sent", T), (1, "accepted", _h(2)), (1, "scheduled", _h(3)), (1, "attended", _h(50)),
        (1, "completed", _h(51)),
        (2, "sent", T), (2, "declined", _h(4)),
        (3, "sent", T), (3, "accepted", _h(10)), (3, "cancelled", _h(11)),
        (4, "sent", T), (4, "expired", _h(168)),
        (5, "sent", T),  # still waiting: received, not decided
    ]
    numbers = numbers_from_events(events)
    assert (numbers.received, numbers.accepted, numbers.declined, numbers.expired, numbers.completed) == (5, 2, 1, 1, 1)
    assert numbers.acceptance_rate == 2 / 4  # an expired referral counts as a no
    assert numbers.median_first_answer == timedelta(hours=4)  # answers after 2, 4 and 10 hours
    assert numbers.completion_rate == 1 / 2
