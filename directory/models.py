"""Import every model so the metadata (and Alembic's autogenerate) sees the whole schema."""

import directory.indexing.listeners  # noqa: F401  (outbox rows written at flush time)
from directory.accounts.models import AuditEvent, OutgoingEmail, PractitionerClaim, User
from directory.imports.models import ImportRun, ImportSlice, RegistryListing
from directory.indexing.models import CardCache, SearchOutbox, SearchVersion
from directory.practitioners.models import (
    Condition,
    ConditionSynonym,
    Language,
    Location,
    Method,
    MethodSynonym,
    OpeningHours,
    Practitioner,
)
from directory.referrals.models import Notification, Referral, ReferralEvent
from directory.reviews.models import Review, ReviewEvent, ReviewResponseRevision, ReviewRevision, review_method
from directory.screening.models import Screening
from directory.vetting.head_models import ChainHeadStatement
from directory.vetting.models import CheckSummary, Credential, VerificationCheck
from directory.vetting.workbench_models import VettingAssignment, VettingBatch

__all__ = [
    "AuditEvent",
    "CardCache",
    "ChainHeadStatement",
    "CheckSummary",
    "OutgoingEmail",
    "Condition",
    "ConditionSynonym",
    "Credential",
    "ImportRun",
    "ImportSlice",
    "Language",
    "Location",
    "Method",
    "MethodSynonym",
    "Notification",
    "OpeningHours",
    "Practitioner",
    "PractitionerClaim",
    "Referral",
    "RegistryListing",
    "ReferralEvent",
    "Review",
    "ReviewEvent",
    "ReviewResponseRevision",
    "ReviewRevision",
    "review_method",
    "Screening",
    "SearchOutbox",
    "SearchVersion",
    "User",
    "VerificationCheck",
    "VettingAssignment",
    "VettingBatch",
]
