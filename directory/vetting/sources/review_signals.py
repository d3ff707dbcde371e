"""Adverse-event signals in patient reviews, as a source an admin works through.

A review that mentions bleeding, a burn or a fainting spell (``reviews.signals``) is flagged
whatever its moderation outcome; the admin reads it and records what the signal means for
vetting (no concern, still looking, or a concern that may lead to a suspension). The finding is
the admin's, so the source has no ``run``; it confirms no credential and changes no status by
itself — a suspension is a decision of its own.
"""

from __future__ import annotations

from directory.vetting.sources.manual import ManualSource

REVIEW_SIGNAL = ManualSource(
    code="review_signal", label="Adverse-event signal in a patient review", public_label="patient reviews",
    history_label="Patient reviews screened for adverse events by a Meridian admin", credential_kinds=(),
    checked_phrase="in patient reviews")
