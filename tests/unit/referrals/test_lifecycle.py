"""The referral lifecycle: every (state, action, role) is allowed exactly as the table says, or refused with a message."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta

import pytest

from directory.errors import DomainError, Forbidden, InvalidParameter
from directory.referrals import lifecycle
from directory.referrals.lifecycle import (
    ACTIONS,
    FHIR_TASK_STATUS,
    MOVES,
    NOTE_MAX_LENGTH,
    ROLES,
    STATES,
    TRANSITIONS,
    TransitionRefused,
    allowed_actions,
    next_state,
)

NOW = datetime(2026, 12, 1, 10, 0)
LATER = NOW + timedelta(days=3)

# The table, written out by hand so the code cannot quietly drift from it.
EXPECTED = {
    ("sent", "accept", "practitioner"): "accepted",
    ("sent", "decline", "practitioner"): "declined",
    ("sent", "cancel", "sender"): "cancelled",
    ("sent", "cancel", "admin"): "cancelled",
    ("sent", "expire", "system"): "expired",
    ("accepted", "schedule", "practitioner"): "scheduled",
    ("accepted", "cancel", "sender"): "cancelled",
    ("accepted", "cancel", "admin"): "cancelled",
    ("scheduled", "attended", "practitioner"): "attended",
    ("scheduled", "no_show", "practitioner"): "no_show",
    ("scheduled", "cancel", "sender"): "cancelled",
    ("scheduled", "cancel", "admin"): "cancelled",
    ("attended", "complete", "practitioner"): "completed",
    ("no_show", "complete", "practitioner"): "completed",
}


def _attempt(state: str, action: str, role: str) -> str:
    """Try a move with everything any move could need (a note, a future time)."""
    return next_state(state, action, role, note="a note", when=LATER, now=NOW)


@pytest.mark.parametrize(("state", "action", "role"), list(itertools.product(STATES, ACTIONS, ROLES)))
def test_every_combination_is_allowed_as_the_table_says_or_refused_with_a_message(
        state: str, action: str, role: str) -> None:
    expected = EXPECTED.get((state, action, role))
    if expected is not None:
        assert _attempt(state, action, role) == expected
        return
    with pytest.raises(DomainError) as refused:
        _attempt(state, action, role)
    assert isinstance(refused.value, Forbidden | TransitionRefused)
    assert len(refused.value.message) > 20


def test_a_wrong_role_is_forbidden_before_the_state_is_considered() -> None:
    with pytest.raises(Forbidden, match="Only the practitioner can accept"):
        next_state("completed", "accept", "sender")
    with pytest.raises(Forbidden, match="Only the sender or an admin can cancel"):
        next_state("sent", "cancel", "practitioner", note="no")


def test_an_out_of_order_move_names_the_states_it_needs() -> None:
    with pytest.raises(TransitionRefused, match="A referral that is sent cannot .* 'schedule'.* accepted"):
        next_state("sent", "schedule", "practitioner", when=LATER, now=NOW)
    with pytest.raises(TransitionRefused, match="no show cannot"):
        next_state("no_show", "cancel", "sender", note="moved away")


def test_an_unknown_action_is_an_invalid_parameter() -> None:
    with pytest.raises(InvalidParameter, match="Unknown action 'teleport'") as refused:
        next_state("sent", "teleport", "admin")
    assert refused.value.field == "action"


@pytest.mark.parametrize(("state", "action", "role", "label"), [
    ("sent", "decline", "practitioner", "a reason"),
    ("sent", "cancel", "sender", "a reason"),
    ("scheduled", "cancel", "admin", "a reason"),
    ("attended", "complete", "practitioner", "the outcome"),
])
def test_moves_that_need_a_note_refuse_none_or_blank(state: str, action: str, role: str, label: str) -> None:
    for note in (None, "", "   "):
        with pytest.raises(InvalidParameter, match=f"Give {label}") as refused:
            next_state(state, action, role, note=note)
        assert refused.value.field == "note"


def test_other_moves_take_no_note() -> None:
    assert next_state("sent", "accept", "practitioner") == "accepted"
    assert next_state("sent", "expire", "system") == "expired"
    assert next_state("scheduled", "attended", "practitioner") == "attended"


def test_a_note_over_4000_characters_is_refused_with_its_length() -> None:
    with pytest.raises(InvalidParameter, match="4,000 characters; this one has 20,000"):
        next_state("sent", "decline", "practitioner", note="x" * 20_000)
    assert next_state("sent", "decline", "practitioner", note="x" * NOTE_MAX_LENGTH) == "declined"


def test_scheduling_needs_a_time_in_the_future() -> None:
    with pytest.raises(InvalidParameter, match="Give the date and time") as missing:
        next_state("accepted", "schedule", "practitioner", now=NOW)
    assert missing.value.field == "when"
    for past in (NOW, NOW - timedelta(minutes=1)):
        with pytest.raises(InvalidParameter, match="must be in the future"):
            next_state("accepted", "schedule", "practitioner", when=past, now=NOW)
    assert next_state("accepted", "schedule", "practitioner", when=NOW + timedelta(minutes=1), now=NOW) == "scheduled"


def test_the_transition_table_is_the_one_in_the_architecture() -> None:
    assert dict(TRANSITIONS) == {
        "sent": ("accepted", "declined", "cancelled", "expired"),
        "accepted": ("scheduled", "cancelled"),
        "declined": (),
        "scheduled": ("attended", "no_show", "cancelled"),
        "attended": ("completed",),
        "no_show": ("completed",),
        "completed": (),
        "cancelled": (),
        "expired": (),
    }


def test_terminal_states_are_exactly_those_nothing_leaves() -> None:
    assert {s for s in STATES if not TRANSITIONS[s]} == lifecycle.TERMINAL_STATES
    assert all(lifecycle.is_open(s) == bool(TRANSITIONS[s]) for s in STATES)
    # Every state but the first is reached by some move: no dead rows in the table.
    assert {m.target for m in MOVES.values()} == set(STATES) - {"sent"}


def test_every_state_maps_onto_a_fhir_r4_task_status() -> None:
    fhir = {"requested", "accepted", "rejected", "in-progress", "completed", "cancelled", "failed"}
    assert set(FHIR_TASK_STATUS) == set(STATES)
    assert set(FHIR_TASK_STATUS.values()) <= fhir


def test_allowed_actions_are_the_buttons_for_a_role() -> None:
    assert allowed_actions("sent", "practitioner") == ("accept", "decline")
    assert allowed_actions("sent", "sender") == ("cancel",)
    assert allowed_actions("scheduled", "practitioner") == ("attended", "no_show")
    assert allowed_actions("completed", "admin") == ()
    assert allowed_actions("sent", "patient") == ()
