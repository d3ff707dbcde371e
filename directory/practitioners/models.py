"""Practitioners, locations, opening hours, languages and the controlled vocabularies."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    SmallInteger,
    String,
    Table,
    Text,
    Time,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, declared_attr, mapped_column, relationship

from directory.clock import utcnow
from directory.extensions import db

if TYPE_CHECKING:
    from directory.vetting.models import Credential, VerificationCheck

GENDERS = ("female", "male", "nonbinary", "unspecified")
VETTING_STATUSES = ("unverified", "pending", "verified", "expiring", "lapsed", "suspended")
SLUG_CHECK = "slug <> '' AND slug = lower(slug) AND slug NOT LIKE '% %'"


def _enum_check(column: str, values: tuple[str, ...], name: str) -> CheckConstraint:
    """Return a CHECK constraint limiting ``column`` to ``values``."""
    quoted = ", ".join(f"'{v}'" for v in values)
    return CheckConstraint(f"{column} IN ({quoted})", name=name)


practitioner_method = Table(
    "practitioner_method",
    db.metadata,
    Column("practitioner_id", ForeignKey("practitioner.id", ondelete="CASCADE"), primary_key=True),
    Column("method_id", ForeignKey("method.id", ondelete="RESTRICT"), primary_key=True, index=True),
)

practitioner_condition = Table(
    "practitioner_condition",
    db.metadata,
    Column("practitioner_id", ForeignKey("practitioner.id", ondelete="CASCADE"), primary_key=True),
    Column("condition_id", ForeignKey("condition.id", ondelete="RESTRICT"), primary_key=True, index=True),
)

practitioner_language = Table(
    "practitioner_language",
    db.metadata,
    Column("practitioner_id", ForeignKey("practitioner.id", ondelete="CASCADE"), primary_key=True),
    Column("language_code", ForeignKey("language.code", ondelete="RESTRICT"), primary_key=True, index=True),
)


class VocabularyTermMixin:
    """What every controlled-vocabulary entry has: a slug for URLs, a display name, an order."""

    @declared_attr.directive
    def __table_args__(cls) -> tuple[Any, ...]:  # noqa: N805 (SQLAlchemy declared_attr)
        return (CheckConstraint(SLUG_CHECK, name="slug_format"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(60), unique=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    sort_order: Mapped[int] = mapped_column(Integer, default=0)


class SynonymMixin:
    """Another name patients use for a vocabulary entry, stored lower-case and unique."""

    @declared_attr.directive
    def __table_args__(cls) -> tuple[Any, ...]:  # noqa: N805 (SQLAlchemy declared_attr)
        return (CheckConstraint("term <> '' AND term = lower(term)", name="term_lower"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    term: Mapped[str] = mapped_column(String(120), unique=True)


class Method(VocabularyTermMixin, db.Model):  # type: ignore[name-defined,misc]
    """A treatment method (filiform needling, moxibustion, ...)."""

    __tablename__ = "method"

    synonyms: Mapped[list[MethodSynonym]] = relationship(
        back_populates="method", cascade="all, delete-orphan", order_by="MethodSynonym.term"
    )


class MethodSynonym(SynonymMixin, db.Model):  # type: ignore[name-defined,misc]
    """Another name for a method ("moxa" for moxibustion)."""

    __tablename__ = "method_synonym"

    method_id: Mapped[int] = mapped_column(ForeignKey("method.id", ondelete="CASCADE"), index=True)
    method: Mapped[Method] = relationship(back_populates="synonyms")


class Condition(VocabularyTermMixin, db.Model):  # type: ignore[name-defined,misc]
    """A condition patients seek treatment for (low back pain, sciatica, ...)."""

    __tablename__ = "condition"

    synonyms: Mapped[list[ConditionSynonym]] = relationship(
        back_populates="condition", cascade="all, delete-orphan", order_by="ConditionSynonym.term"
    )


class ConditionSynonym(SynonymMixin, db.Model):  # type: ignore[name-defined,misc]
    """Another name for a condition ("lumbago" for low back pain)."""

    __tablename__ = "condition_synonym"

    condition_id: Mapped[int] = mapped_column(ForeignKey("condition.id", ondelete="CASCADE"), index=True)
    condition: Mapped[Condition] = relationship(back_populates="synonyms")


class Language(db.Model):  # type: ignore[name-defined,misc]
    """A language a practitioner consults in (ISO 639-1 code)."""

    __tablename__ = "language"
    __table_args__ = (CheckConstraint("length(code) = 2 AND code = lower(code)", name="iso_639_1"),)

    code: Mapped[str] = mapped_column(String(2), primary_key=True)
    name: Mapped[str] = mapped_column(String(60), unique=True)


class Practitioner(db.Model):  # type: ignore[name-defined,misc]
    """A practitioner's public profile; the unit that search finds and vetting verifies."""

    __tablename__ = "practitioner"
    __table_args__ = (
        CheckConstraint(SLUG_CHECK, name="slug_format"),
        CheckConstraint("first_name <> '' AND last_name <> ''", name="names_present"),
        CheckConstraint("npi IS NULL OR length(npi) = 10", name="npi_length"),
        _enum_check("gender", GENDERS, "gender_known"),
        _enum_check("vetting_status", VETTING_STATUSES, "vetting_status_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(120), unique=True)
    first_name: Mapped[str] = mapped_column(String(80))
    last_name: Mapped[str] = mapped_column(String(80))
    title: Mapped[str] = mapped_column(String(40), default="")
    bio: Mapped[str] = mapped_column(Text, default="")
    gender: Mapped[str] = mapped_column(String(12), default="unspecified")
    npi: Mapped[str | None] = mapped_column(String(10), unique=True)
    accepting_new_patients: Mapped[bool] = mapped_column(Boolean, default=True)
    telehealth: Mapped[bool] = mapped_column(Boolean, default=False)
    photo_path: Mapped[str | None] = mapped_column(String(255))
    # Free text for now (issue 13): practitioners word their fees and plans their own way.
    fees: Mapped[str] = mapped_column(Text, default="", server_default="")
    insurance: Mapped[str] = mapped_column(Text, default="", server_default="")
    hidden: Mapped[bool] = mapped_column(Boolean, default=False)
    # Why an admin hid the listing ("" when not hidden by an admin); a merged listing says where it went.
    hidden_reason: Mapped[str] = mapped_column(String(300), default="", server_default="")
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("practitioner.id", ondelete="SET NULL"))
    # Cached result of vetting.status rules, recomputed on every check; search and
    # listings filter on it, the verification history is the evidence behind it.
    vetting_status: Mapped[str] = mapped_column(String(12), default="unverified", index=True)
    vetting_status_since: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    # First day of the current unbroken verified run, from the history (vetting.status.verified_since);
    # cached and recomputed with the status, None unless verified.
    verified_since: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)

    locations: Mapped[list[Location]] = relationship(
        back_populates="practitioner", cascade="all, delete-orphan", order_by="Location.id"
    )
    methods: Mapped[list[Method]] = relationship(secondary=practitioner_method, order_by="Method.sort_order")
    conditions: Mapped[list[Condition]] = relationship(secondary=practitioner_condition, order_by="Condition.sort_order")
    languages: Mapped[list[Language]] = relationship(secondary=practitioner_language, order_by="Language.code")
    credentials: Mapped[list[Credential]] = relationship(back_populates="practitioner", order_by="Credential.id")
    checks: Mapped[list[VerificationCheck]] = relationship(
        back_populates="practitioner", order_by="VerificationCheck.sequence", viewonly=True
    )

    @property
    def display_name(self) -> str:
        """Return the name as shown on cards: "Mei Chen, L.Ac."."""
        name = f"{self.first_name} {self.last_name}"
        return f"{name}, {self.title}" if self.title else name


class Location(db.Model):  # type: ignore[name-defined,misc]
    """A practice address (never a home address) with coordinates and opening hours."""

    __tablename__ = "location"
    __table_args__ = (
        CheckConstraint("latitude BETWEEN -90 AND 90", name="latitude_range"),
        CheckConstraint("longitude BETWEEN -180 AND 180", name="longitude_range"),
        CheckConstraint("length(country) = 2 AND country = upper(country)", name="country_iso"),
        CheckConstraint("city <> ''", name="city_present"),
        # An address the gazetteer could not place has no coordinates (never 0,0) and waits for an admin.
        CheckConstraint("(latitude IS NULL) = (longitude IS NULL) AND "
                        "(latitude IS NOT NULL OR unplaced_since IS NOT NULL)", name="placed_or_flagged"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    practitioner_id: Mapped[int] = mapped_column(ForeignKey("practitioner.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(160), default="")
    address_line1: Mapped[str] = mapped_column(String(200))
    address_line2: Mapped[str] = mapped_column(String(200), default="")
    city: Mapped[str] = mapped_column(String(120))
    region: Mapped[str] = mapped_column(String(80), default="")
    postal_code: Mapped[str] = mapped_column(String(20), default="")
    country: Mapped[str] = mapped_column(String(2))
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    unplaced_since: Mapped[datetime | None] = mapped_column(DateTime)
    timezone: Mapped[str] = mapped_column(String(64), default="UTC", index=True)
    phone: Mapped[str] = mapped_column(String(40), default="")
    booking_url: Mapped[str] = mapped_column(String(500), default="")
    wheelchair_accessible: Mapped[bool] = mapped_column(Boolean, default=False)

    practitioner: Mapped[Practitioner] = relationship(back_populates="locations")
    hours: Mapped[list[OpeningHours]] = relationship(
        back_populates="location", cascade="all, delete-orphan", order_by="(OpeningHours.weekday, OpeningHours.opens)"
    )
    exceptions: Mapped[list[HoursException]] = relationship(
        back_populates="location", cascade="all, delete-orphan", order_by="(HoursException.on_date, HoursException.opens)"
    )

    @property
    def placed(self) -> bool:
        """Tell whether the location has coordinates (and so is on the map and in radius search)."""
        return self.latitude is not None and self.longitude is not None


class OpeningHours(db.Model):  # type: ignore[name-defined,misc]
    """One opening interval of a location on a weekday (0 = Monday), in its local time."""

    __tablename__ = "opening_hours"
    __table_args__ = (
        CheckConstraint("weekday BETWEEN 0 AND 6", name="weekday_range"),
        CheckConstraint("opens < closes", name="opens_before_closes"),
        UniqueConstraint("location_id", "weekday", "opens"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    location_id: Mapped[int] = mapped_column(ForeignKey("location.id", ondelete="CASCADE"), index=True)
    weekday: Mapped[int] = mapped_column(SmallInteger)
    opens: Mapped[time] = mapped_column(Time)
    closes: Mapped[time] = mapped_column(Time)

    location: Mapped[Location] = relationship(back_populates="hours")


class HoursException(db.Model):  # type: ignore[name-defined,misc]
    """A dated exception to a location's week: closed that day (no times), or open only for the given range."""

    __tablename__ = "hours_exception"
    __table_args__ = (
        CheckConstraint("(opens IS NULL AND closes IS NULL) OR (opens IS NOT NULL AND opens < closes)",
                        name="closed_or_range"),
        UniqueConstraint("location_id", "on_date", "opens"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    location_id: Mapped[int] = mapped_column(ForeignKey("location.id", ondelete="CASCADE"), index=True)
    on_date: Mapped[date] = mapped_column(Date)
    opens: Mapped[time | None] = mapped_column(Time)
    closes: Mapped[time | None] = mapped_column(Time)
    note: Mapped[str] = mapped_column(String(200), default="", server_default="")

    location: Mapped[Location] = relationship(back_populates="exceptions")
