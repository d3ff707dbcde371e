"""Every source of verification checks, in one list: callers ask here instead of comparing codes.

To add a source (the SAM.gov exclusion list, say):

1. write ``vetting/sources/sam.py`` with a frozen dataclass built on ``SourceInfo`` whose
   ``run(subject, context)`` returns a ``Finding`` (it reads; it never writes) and one instance
   of it (``SAM = SamSource(code="sam_exclusions", label=..., ...)``);
2. add that instance to ``SOURCES`` below (one line);
3. add a migration that widens the ``source_known`` check constraint of ``verification_check``,
   and the code to the ``CHECK_SOURCES`` tuple in ``vetting/models.py`` that mirrors it
   (``tests/unit/vetting/test_registry.py`` fails until the registry, the model and the
   migrated database agree).

Forms, the admin screens, the runner, the due rules, the queue and the public profile then
offer, run, queue and name the new source by themselves.
"""

from __future__ import annotations

from collections.abc import Mapping

from directory.errors import InvalidParameter, NotFound
from directory.vetting.sources.base import Source
from directory.vetting.sources.exclusions import EXCLUSION_LIST
from directory.vetting.sources.manual import CERTIFICATION_BODY, DOCUMENT, OTHER, STATE_BOARD
from directory.vetting.sources.npi_registry import NPI_REGISTRY
from directory.vetting.sources.review_signals import REVIEW_SIGNAL
from directory.vetting.sources.sam import SAM_EXCLUSIONS

# Order matters where a choice is offered: automated sources first, then the manual ones as
# the admin form lists them.
SOURCES: tuple[Source, ...] = (NPI_REGISTRY, EXCLUSION_LIST, SAM_EXCLUSIONS, STATE_BOARD, CERTIFICATION_BODY, DOCUMENT,
                               OTHER, REVIEW_SIGNAL)
_BY_CODE: Mapping[str, Source] = {source.code: source for source in SOURCES}


class UnknownSource(NotFound):
    """No registered source has that code (a mistyped URL or a forged form)."""

    code = "unknown_source"


def codes() -> tuple[str, ...]:
    """Return every registered source code."""
    return tuple(_BY_CODE)


def get(code: str) -> Source:
    """Return the source with ``code``, or raise UnknownSource."""
    source = _BY_CODE.get(code)
    if source is None:
        raise UnknownSource("There is no check source with that name.", field="source")
    return source


def get_automated(code: str) -> Source:
    """Return the automated source with ``code``; a manual or unknown one raises UnknownSource."""
    source = get(code)
    if not source.automated:
        raise UnknownSource("No such automated source: that check is recorded by an admin.", field="source")
    return source


def get_manual(code: str) -> Source:
    """Return the manual source with ``code``, or refuse the choice as a form error."""
    source = _BY_CODE.get(code)
    if source is None or source.automated:
        raise InvalidParameter("Choose where the check was made.", field="source")
    return source


def automated() -> tuple[Source, ...]:
    """Return the sources a scheduled run may call without a person."""
    return tuple(s for s in SOURCES if s.automated)


def manual() -> tuple[Source, ...]:
    """Return the sources an admin consults by hand."""
    return tuple(s for s in SOURCES if not s.automated)


def exclusion_screens() -> tuple[Source, ...]:
    """Return the sources that screen a person against a list of excluded individuals."""
    return tuple(s for s in SOURCES if s.exclusion_screen)


def for_credential_kind(kind: str) -> tuple[Source, ...]:
    """Return the sources whose passing check confirms a credential of ``kind`` (its primary sources)."""
    return tuple(s for s in SOURCES if kind in s.credential_kinds)


def primary_source_codes(kind: str) -> frozenset[str]:
    """Return the codes of the primary sources for a credential of ``kind``."""
    return frozenset(s.code for s in for_credential_kind(kind))


def due_source(kind: str) -> Source:
    """Return the source a due check of a credential of ``kind`` is queued for."""
    queued = next((s for s in SOURCES if kind in s.due_for_kinds), None)
    if queued is None:
        raise UnknownSource(f"No source checks a credential of kind {kind!r}.", field="kind")
    return queued


def label(code: str) -> str:
    """Return what admins read for the source ``code``."""
    return get(code).label


def history_label(code: str) -> str:
    """Return how the public history names the source ``code`` (the code itself when unregistered)."""
    source = _BY_CODE.get(code)
    return source.history_label if source else code


def outcome_label(code: str, outcome: str) -> str | None:
    """Return the public words for ``outcome`` of the source ``code`` when it means something special."""
    source = _BY_CODE.get(code)
    return source.outcome_labels.get(outcome) if source else None


def person_check_label(code: str) -> str:
    """Return what a check of the person (no credential) by source ``code`` confirmed, or ''."""
    source = _BY_CODE.get(code)
    return source.person_check_label if source else ""
