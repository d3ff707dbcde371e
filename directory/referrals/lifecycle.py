"""The referral lifecycle: states, who may move a referral between them, and what each move needs. Pure.

A referral (from a doctor) and an appointment request (from a patient) share this one lifecycle
(ARCHITECTURE "Referrals and appointment requests"):

    sent -> accepted | declined(reason) -> scheduled(datetime) -> attended | no_show -> completed(outcome)
    cancelled(reason) from sent, accepted or scheduled; expired when a sent referral is not answered in time

Each state maps onto FHIR R4 ``Task.status`` (https://hl7.org/fhir/R4/valueset-task-status.html),
so an export or an API can speak the standard; our finer steps go in ``Task.businessStatus``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from types import MappingProxyType

from directory.clock import utcnow
from directory.errors import DomainError, Forbidden, InvalidParameter

STATES = ("sent", "accepted", "declined", "scheduled", "attended", "no_show", "completed", "cancelled", "expired")
TERMINAL_STATES = frozenset({"declined", "completed", "cancelled", "expired"})
OPEN_STATES = tuple(state for state in STATES if state not in TERMINAL_STATES)
# Cancelling is for plans, not for visits that happened: once attended or missed, only the outcome is left.
CANCELLABLE_STATES = ("sent", "accepted", "scheduled")
# States whose referral carries an appointment time (a database check enforces it).
SCHEDULED_STATES = ("scheduled", "attended", "no_show")

# FHIR R4 Task.status for each state; businessStatus carries our own name where FHIR is coarser.
FHIR_TASK_STATUS: MappingProxyType[str, str] = MappingProxyType({
    "sent": "requested",
    "accepted": "accepted",
    "declined": "rejected",
    "scheduled": "in-progress",  # businessStatus "scheduled": the performer has started acting on it
    "attended": "in-progress",   # businessStatus "attended": the visit happened, the outcome is not written yet
    "no_show": "in-progress",    # businessStatus "no-show": the patient missed it, the outcome is not written yet
    "completed": "completed",
    "cancelled": "cancelled",
    "expired": "failed",         # no answer in time: the task could not be carried out
})

# Who acts: the referral's sender (doctor or patient), its practitioner, the patient it names,
# an admin, or the system (the expiry sweep).
ROLES = ("sender", "practitioner", "patient", "admin", "system")
NOTE_MAX_LENGTH = 4000
# An appointment further ahead than this is almost always a mistyped year (the form takes any year to 9999).
APPOINTMENT_DAYS_AHEAD = 2 * 366


@dataclass(frozen=True)
class Move:
    """One action: where it may start, where it ends, who may take it and what it needs."""

    action: str
    sources: tuple[str, ...]
    target: str
    roles: tuple[str, ...]
    needs_note: str = ""  # the label of the required note ("a reason", "the outcome"), empty when optional
    needs_time: bool = False


MOVES: MappingProxyType[str, Move] = MappingProxyType({move.action: move for move in (
    Move("accept", ("sent",), "accepted", ("practitioner",)),
    Move("decline", ("sent",), "declined", ("practitioner",), needs_note="a reason"),
    Move("schedule", ("accepted",), "scheduled", ("practitioner",), needs_time=True),
    Move("attended", ("scheduled",), "attended", ("practitioner",)),
    Move("no_show", ("scheduled",), "no_show", ("practitioner",)),
    Move("complete", ("attended", "no_show"), "completed", ("practitioner",), needs_note="the outcome"),
    Move("cancel", CANCELLABLE_STATES, "cancelled", ("sender", "admin"), needs_note="a reason"),
    Move("expire", ("sent",), "expired", ("system",)),
)})
ACTIONS = tuple(MOVES)

# The transition table the moves add up to: state -> the states it may move to.
TRANSITIONS: MappingProxyType[str, tuple[str, ...]] = MappingProxyType({
    state: tuple(dict.fromkeys(move.target for move in MOVES.values() if state in move.sources)) for state in STATES
})

ROLE_LABELS = MappingProxyType({"sender": "the sender", "practitioner": "the practitioner", "patient": "the patient",
                                "admin": "an admin", "system": "the expiry sweep"})


class TransitionRefused(DomainError):
    """The referral is not in a state this action can start from."""

    status = 409
    code = "invalid_transition"


def next_state(state: str, action: str, role: str, *, note: str | None = None, when: datetime | None = None,
               now: datetime | None = None) -> str:
    """Return the state ``action`` by ``role`` leads to, or raise a DomainError saying why it may not."""
    move = MOVES.get(action)
    if move is None:
        raise InvalidParameter(f"Unknown action {action!r}: use one of {', '.join(ACTIONS)}.", field="action")
    if role not in move.roles:
        who = " or ".join(ROLE_LABELS[r] for r in move.roles)
        raise Forbidden(f"Only {who} can {action.replace('_', ' ')} a referral.")
    if state not in move.sources:
        raise TransitionRefused(f"A referral that is {state.replace('_', ' ')} cannot be moved with "
                                f"{action.replace('_', ' ')!r}; that needs it to be {' or '.join(move.sources)}.")
    check_note(note, required=move.needs_note)
    if move.needs_time:
        _check_time(when, now)
    return move.target


def check_note(note: str | None, *, required: str = "", field: str = "note") -> None:
    """Refuse a missing required note and any note longer than NOTE_MAX_LENGTH characters."""
    if required and not (note or "").strip():
        raise InvalidParameter(f"Give {required}.", field=field)
    if note is not None and len(note) > NOTE_MAX_LENGTH:
        raise InvalidParameter(f"Keep it to {NOTE_MAX_LENGTH:,} characters; this one has {len(note):,}.", field=field)


def _check_time(when: datetime | None, now: datetime | None) -> None:
    """Refuse a missing appointment time, or one that is not in the future or more than two years ahead."""
    if when is None:
        raise InvalidParameter("Give the date and time of the appointment.", field="when")
    now = now or utcnow()
    if when <= now:
        raise InvalidParameter("The appointment must be in the future.", field="when")
    if when > now + timedelta(days=APPOINTMENT_DAYS_AHEAD):
        raise InvalidParameter("Choose a date within the next 2 years.", field="when")


def allowed_actions(state: str, role: str) -> tuple[str, ...]:
    """Return the actions ``role`` may take on a referral in ``state`` (for the buttons a page shows)."""
    return tuple(action for action, move in MOVES.items() if state in move.sources and role in move.roles)


def is_open(state: str) -> bool:
    """Tell whether a referral in ``state`` can still move (not declined, completed, cancelled or expired)."""
    return state not in TERMINAL_STATES
