"""Admin listing tools: find duplicate listings, merge two into one, hide and unhide, flagged locations."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from itertools import combinations
from typing import Any

from sqlalchemy import and_, or_, select

from directory.accounts.audit import record_audit
from directory.accounts.models import PractitionerClaim, User
from directory.errors import DomainError, NotFound
from directory.extensions import db
from directory.imports.models import RegistryListing
from directory.practitioners.models import Location, Practitioner
from directory.referrals.models import Referral
from directory.reviews.models import Review
from directory.vetting.models import Credential, VerificationCheck
from search.geo import arc_distance_km
from search.text import fold

NEARBY_KM = 1.0
REASON_MAX = 300


class MergeRefused(DomainError):
    """Two listings cannot be merged as asked; the message says why."""

    status = 409
    code = "merge_refused"


@dataclass(frozen=True)
class DuplicatePair:
    """Two listings that look like the same practitioner, and why."""

    first: Practitioner
    second: Practitioner
    reason: str


def _live() -> Any:
    """Return the query of listings not merged away (hidden ones too: a hidden duplicate is still one)."""
    return select(Practitioner).where(Practitioner.merged_into_id.is_(None))


def find_duplicates() -> list[DuplicatePair]:
    """Return candidate duplicate pairs: the same NPI, or the same folded name within 1 km."""
    found: dict[tuple[int, int], DuplicatePair] = {}
    for pair in [*_same_npi(), *_same_name_nearby()]:
        found.setdefault((pair.first.id, pair.second.id), pair)
    return sorted(found.values(), key=lambda p: (p.first.id, p.second.id))


def _pair(a: Practitioner, b: Practitioner, reason: str) -> DuplicatePair:
    """Return the pair with the older listing first (the natural survivor)."""
    first, second = sorted((a, b), key=lambda p: p.id)
    return DuplicatePair(first, second, reason)


def _same_npi() -> list[DuplicatePair]:
    """Pair listings sharing an NPI, whether on the listing itself or on an NPI credential."""
    by_npi: dict[str, set[int]] = defaultdict(set)
    listings = {p.id: p for p in db.session.scalars(_live())}
    for p in listings.values():
        if p.npi:
            by_npi[p.npi].add(p.id)
    rows = db.session.execute(select(Credential.number, Credential.practitioner_id).where(
        Credential.kind == "npi", Credential.practitioner_id.is_not(None), Credential.withdrawn_at.is_(None)))
    for number, pid in rows:
        if pid is not None and pid in listings:
            by_npi[number.strip()].add(pid)
    return [_pair(listings[a], listings[b], f"same NPI {npi}")
            for npi, ids in by_npi.items() for a, b in combinations(sorted(ids), 2)]


def _same_name_nearby() -> list[DuplicatePair]:
    """Pair listings with the same folded name and practice locations within 1 km of each other."""
    by_name: dict[str, list[tuple[Practitioner, float, float]]] = defaultdict(list)
    rows = db.session.execute(select(Practitioner, Location.latitude, Location.longitude)
                              .join(Location, Location.practitioner_id == Practitioner.id)
                              .where(Practitioner.merged_into_id.is_(None)))
    for practitioner, lat, lon in rows:
        if lat is not None and lon is not None:  # an unplaced address is near nothing
            by_name[fold(f"{practitioner.first_name} {practitioner.last_name}")].append((practitioner, lat, lon))
    pairs = []
    for entries in by_name.values():
        for (p, lat_a, lon_a), (q, lat_b, lon_b) in combinations(entries, 2):
            distance = arc_distance_km(lat_a, lon_a, lat_b, lon_b)
            if p.id != q.id and distance <= NEARBY_KM:
                pairs.append(_pair(p, q, f"same name, {distance * 1000:.0f} m apart"))
    return pairs


def get_listing(practitioner_id: int) -> Practitioner:
    """Return the listing, or raise NotFound."""
    practitioner = db.session.get(Practitioner, practitioner_id)
    if practitioner is None:
        raise NotFound("There is no such listing.")
    return practitioner


def _owner(practitioner_id: int) -> User | None:
    """Return the account that owns the listing, if any."""
    return db.session.scalar(select(User).where(User.practitioner_id == practitioner_id))


def _refuse_merge(survivor: Practitioner, merged: Practitioner) -> None:
    """Raise MergeRefused when the two listings cannot become one."""
    if survivor.id == merged.id:
        raise MergeRefused("A listing cannot be merged into itself.")
    if survivor.merged_into_id is not None or merged.merged_into_id is not None:
        raise MergeRefused("One of these listings was already merged into another; merge into that one instead.")
    kept, gone = _owner(survivor.id), _owner(merged.id)
    if kept is not None and gone is not None and kept.id != gone.id:
        raise MergeRefused(f"Both listings are owned, by different accounts ({kept.email} and {gone.email}); "
                           "one owner must give theirs up first.")
    authors = select(Review.author_id).where(Review.practitioner_id == survivor.id, Review.author_id.is_not(None))
    if db.session.scalar(select(Review.id).where(Review.practitioner_id == merged.id,
                                                 Review.author_id.in_(authors)).limit(1)) is not None:
        raise MergeRefused("A patient reviewed both listings, and a patient keeps one review per practitioner; "
                           "remove one of their reviews first.")


def merge_listings(actor: User, survivor_id: int, merged_id: int, *, move_locations: bool) -> Practitioner:
    """Move the merged listing's reviews, referrals, credentials, claims and owner to the survivor; hide it, audited."""
    survivor, merged = get_listing(survivor_id), get_listing(merged_id)
    _refuse_merge(survivor, merged)
    moved: dict[str, int] = {}
    for name, model in (("reviews", Review), ("referrals", Referral), ("credentials", Credential),
                        ("claims", PractitionerClaim), *((("locations", Location),) if move_locations else ())):
        rows: list[Any] = list(db.session.scalars(select(model).where(
            model.practitioner_id == merged.id)))  # type: ignore[attr-defined]
        for row in rows:
            row.practitioner_id = survivor.id
        moved[name] = len(rows)
    _move_owner_and_registry(survivor, merged)
    head = db.session.scalar(select(VerificationCheck.row_hash).where(VerificationCheck.practitioner_id == merged.id)
                             .order_by(VerificationCheck.sequence.desc()).limit(1))
    merged.hidden, merged.merged_into_id = True, survivor.id
    merged.hidden_reason = f"merged into {survivor.slug}"[:REASON_MAX]
    survivor.updated_at = survivor.updated_at  # the survivor's document is rebuilt with what it gained
    db.session.flush()
    # The verification chain is append-only and per listing: it stays on the merged listing; its head is
    # recorded here so the survivor's history says which chain it absorbed.
    record_audit("listing_merged", actor_id=actor.id, subject_type="practitioner", subject_id=survivor.id,
                 merged_id=merged.id, merged_slug=merged.slug, merged_chain_head=head or "", **moved)
    return survivor


def _move_owner_and_registry(survivor: Practitioner, merged: Practitioner) -> None:
    """Give the survivor the merged listing's owner, NPI and registry link when it has none of its own."""
    owner = _owner(merged.id)
    if owner is not None and _owner(survivor.id) is None:
        owner.practitioner_id = None
        db.session.flush()
        owner.practitioner_id = survivor.id
    if survivor.npi is None and merged.npi:
        npi, merged.npi = merged.npi, None
        db.session.flush()
        survivor.npi = npi
    link = db.session.scalar(select(RegistryListing).where(RegistryListing.practitioner_id == merged.id))
    has_own = db.session.scalar(select(RegistryListing.id).where(RegistryListing.practitioner_id == survivor.id))
    if link is not None and has_own is None:
        link.practitioner_id = survivor.id


def hide_listing(actor: User, practitioner_id: int, reason: str) -> Practitioner:
    """Hide a listing from the public and from search, with the admin's reason, audited."""
    practitioner = get_listing(practitioner_id)
    reason = reason.strip()
    if not reason:
        raise DomainError("Say why the listing is hidden.", field="reason")
    if len(reason) > REASON_MAX:
        raise DomainError(f"Keep the reason under {REASON_MAX} characters.", field="reason")
    practitioner.hidden, practitioner.hidden_reason = True, reason
    record_audit("listing_hidden", actor_id=actor.id, subject_type="practitioner", subject_id=practitioner.id,
                 reason=reason)
    return practitioner


def unhide_listing(actor: User, practitioner_id: int) -> Practitioner:
    """Show a hidden listing again (not one merged away), audited."""
    practitioner = get_listing(practitioner_id)
    if practitioner.merged_into_id is not None:
        raise DomainError("This listing was merged into another; it stays hidden and redirects there.")
    practitioner.hidden, practitioner.hidden_reason = False, ""
    record_audit("listing_unhidden", actor_id=actor.id, subject_type="practitioner", subject_id=practitioner.id)
    return practitioner


def hidden_listings() -> list[Practitioner]:
    """Return the listings hidden now, newest change first (merged ones included, they say so)."""
    return list(db.session.scalars(select(Practitioner).where(Practitioner.hidden.is_(True))
                                   .order_by(Practitioner.updated_at.desc()).limit(200)))


@dataclass(frozen=True)
class FlaggedPlace:
    """A listing whose practice address has no usable coordinates, and what is known of it."""

    practitioner: Practitioner
    address: str
    why: str


def flagged_locations() -> list[FlaggedPlace]:
    """Return listings the gazetteer could not place, and locations left at 0,0 (never a real practice)."""
    flagged = [FlaggedPlace(p, link.unplaced_address, "the gazetteer could not place this address")
               for link, p in db.session.execute(
                   select(RegistryListing, Practitioner).join(Practitioner, Practitioner.id == RegistryListing.practitioner_id)
                   .where(RegistryListing.unplaced_address != "").order_by(Practitioner.id))]
    flagged += [FlaggedPlace(loc.practitioner, f"{loc.address_line1}, {loc.city}",
                             "the gazetteer could not place this address" if loc.latitude is None
                             else "no coordinates (0, 0)")
                for loc in db.session.scalars(select(Location).where(
                    or_(Location.latitude.is_(None), and_(Location.latitude == 0, Location.longitude == 0)))
                    .order_by(Location.id))]
    return flagged


def merged_target(slug: str) -> str | None:
    """Return the slug of the listing a merged listing now lives in, following merges; None when not merged."""
    seen: set[int] = set()
    practitioner = db.session.scalar(select(Practitioner).where(Practitioner.slug == slug[:120]))
    while practitioner is not None and practitioner.merged_into_id is not None and practitioner.id not in seen:
        seen.add(practitioner.id)
        practitioner = db.session.get(Practitioner, practitioner.merged_into_id)
    return practitioner.slug if practitioner is not None and seen else None
