"""Where an imported listing came from, and how far each API import run has got (so a crash can resume)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from directory.clock import utcnow
from directory.extensions import db

IMPORT_SOURCES = ("nppes_api", "nppes_file")
RUN_STATES = ("running", "done")
SLICE_STATES = ("pending", "done", "split", "error")


def _one_of(column: str, values: tuple[str, ...], name: str) -> CheckConstraint:
    """Return a CHECK constraint limiting ``column`` to ``values``."""
    return CheckConstraint(f"{column} IN ({', '.join(repr(v) for v in values)})", name=name)


class RegistryListing(db.Model):  # type: ignore[name-defined,misc]
    """A practitioner listed from the NPI registry: keyed by NPI, updated by every later import until claimed."""

    __tablename__ = "registry_listing"
    __table_args__ = (
        CheckConstraint("length(npi) = 10", name="npi_length"),
        _one_of("source", IMPORT_SOURCES, "source_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    npi: Mapped[str] = mapped_column(String(10), unique=True)
    practitioner_id: Mapped[int] = mapped_column(ForeignKey("practitioner.id", ondelete="CASCADE"), unique=True)
    source: Mapped[str] = mapped_column(String(12))
    first_imported_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    last_imported_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    # The registry's practice address as text when the gazetteer could not place it (no Location
    # is written then: search needs coordinates, and 0,0 would be a lie); empty once placed.
    unplaced_address: Mapped[str] = mapped_column(String(400), default="")


class ImportRun(db.Model):  # type: ignore[name-defined,misc]
    """One `flask import nppes-api` query; a run left ``running`` is resumed by the next identical command."""

    __tablename__ = "import_run"
    __table_args__ = (_one_of("state", RUN_STATES, "state_known"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    query_key: Mapped[str] = mapped_column(String(300), index=True)
    state: Mapped[str] = mapped_column(String(8), default="running")
    started_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)
    summary: Mapped[str] = mapped_column(Text, default="{}")


class ImportSlice(db.Model):  # type: ignore[name-defined,misc]
    """One query of a run small enough for the API's 1,200-result window, and the next page to ask."""

    __tablename__ = "import_slice"
    __table_args__ = (
        UniqueConstraint("run_id", "query_key"),
        _one_of("state", SLICE_STATES, "state_known"),
        CheckConstraint("next_skip >= 0", name="skip_non_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("import_run.id", ondelete="CASCADE"), index=True)
    query_key: Mapped[str] = mapped_column(String(300))
    state: Mapped[str] = mapped_column(String(8), default="pending")
    next_skip: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str] = mapped_column(Text, default="")
