"""Realistic, deterministic demo data, written with bulk inserts for speed."""

from __future__ import annotations

import functools
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from itertools import accumulate
from typing import Any

from faker import Faker
from sqlalchemy import Table, func, select, text

from directory.bulk_load import Rows, bulk_load, fresh_load, generated_elsewhere, insert_rows, write_prepared
from directory.clock import utcnow
from directory.extensions import db
from directory.geo import Place, sample_places
from directory.models import (
    Condition,
    Credential,
    Location,
    Method,
    OpeningHours,
    Practitioner,
    Review,
    ReviewRevision,
    VerificationCheck,
)
from directory.practitioners.models import practitioner_condition, practitioner_language, practitioner_method
from directory.practitioners.slugs import slugify
from directory.practitioners.vocabulary import vocabulary_data
from directory.seed_history import CHECK_COLUMNS, chain_rows, demo_checks, status_since, vetting_of
from directory.vetting.decisions import suspend

LOCALES = {"US": "en_US", "FR": "fr_FR", "GB": "en_GB", "DE": "de_DE", "CA": "en_CA", "AU": "en_AU", "ES": "es_ES",
           "IT": "it_IT", "NL": "nl_NL", "CH": "de_CH", "IE": "en_IE"}
COUNTRY_LANGUAGE = {"US": "en", "FR": "fr", "GB": "en", "DE": "de", "CA": "en", "AU": "en", "ES": "es", "IT": "it",
                    "NL": "nl", "CH": "de", "IE": "en"}
EXTRA_LANGUAGES = ["es", "zh", "vi", "ko", "fr", "ja", "ru", "pt", "ar", "tl", "hi", "pl", "de", "it"]
METHOD_WEIGHTS = {"filiform-needling": 10, "electroacupuncture": 5, "moxibustion": 4, "cupping": 5, "tui-na": 3,
                  "auricular": 3, "acupressure": 3, "laser-acupuncture": 1, "scalp-acupuncture": 1, "gua-sha": 2}
REVIEW_LINES = [
    "My low back pain eased after four sessions.", "Calm clinic, clear explanations, on time.",
    "Helped with my sciatica when little else did.", "Gentle needling, I barely felt it.",
    "Asked about my medication before starting, which I appreciated.", "Booking was easy and the room was clean.",
    "Neck stiffness much better after the cupping.", "Good listener; the plan was explained step by step.",
    "Not much change for my knee yet, but friendly and professional.", "Moxibustion was warm and relaxing.",
]
CHUNK = 2000
GENDERS = ["female", "male", "nonbinary", "unspecified"]
GENDER_CUM_WEIGHTS = list(accumulate([52, 42, 2, 4]))
# From this many practitioners a second process generates the rows: its start (Python, the app's modules, Faker
# pools, the places) takes ~3 s before the first chunk, which a smaller seed would not win back.
PARALLEL_FROM = 20_000
# The tables whose ids the seed assigns itself (rows reference each other before they are inserted).
SEEDED_TABLES = ("practitioner", "location", "opening_hours", "credential", "verification_check", "review",
                 "review_revision")
SEEDED_SUSPENSION_REASON = "demo data: suspended while a complaint is investigated"
# Faker's weighted pickers cost ~70 µs a call; drawing pools once per locale and picking
# from them with the seeded RNG keeps 100k practitioners well inside two minutes.
POOL_SIZE = {"first": 300, "last": 600, "street": 300}


TABLE_ORDER: list[Table] = [
    Practitioner.__table__, Location.__table__, OpeningHours.__table__, practitioner_method, practitioner_condition,
    practitioner_language, Credential.__table__, VerificationCheck.__table__, Review.__table__, ReviewRevision.__table__,
]  # type: ignore[list-item]


@dataclass(frozen=True)
class NamePool:
    """Names and street names of one locale, drawn once from Faker."""

    female: tuple[str, ...]
    male: tuple[str, ...]
    last: tuple[str, ...]
    streets: tuple[str, ...]
    country: str

    @classmethod
    def draw(cls, locale: str, country: str, seed: int) -> NamePool:
        """Draw a pool from Faker for ``locale`` (deterministic for ``seed``)."""
        fake = Faker(locale)
        fake.seed_instance(seed)
        n = POOL_SIZE
        return cls(
            female=tuple(fake.first_name_female() for _ in range(n["first"])),
            male=tuple(fake.first_name_male() for _ in range(n["first"])),
            last=tuple(fake.last_name() for _ in range(n["last"])),
            streets=tuple(fake.street_name() for _ in range(n["street"])),
            country=country,
        )

    def first_name(self, rng: random.Random, gender: str) -> str:
        """Return a first name fitting ``gender``."""
        pool = self.female if gender == "female" else self.male if gender == "male" else rng.choice((self.female, self.male))
        return rng.choice(pool)

    def street_address(self, rng: random.Random) -> str:
        """Return a street address in the locale's usual order."""
        number, street = rng.randint(1, 999), rng.choice(self.streets)
        return f"{number} {street}" if self.country in ("US", "GB", "CA", "AU", "IE") else f"{street} {number}"

    def phone(self, rng: random.Random) -> str:
        """Return a fictional phone number (the 555-01xx range in North America)."""
        if self.country in ("US", "CA"):
            return f"({rng.randint(201, 989)}) 555-01{rng.randint(0, 99):02d}"
        return f"+{rng.randint(30, 49)} {rng.randint(1, 9)} {rng.randint(10, 99)} {rng.randint(10, 99)} {rng.randint(10, 99)} {rng.randint(10, 99)}"


@dataclass
class Batch:
    """Rows for one chunk of practitioners, per table, ready for executemany."""

    rows: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    rows_by_position: dict[str, Rows] = field(default_factory=dict)

    def add(self, table: str, row: dict[str, Any]) -> None:
        """Queue one row for ``table``."""
        self.rows.setdefault(table, []).append(row)

    def tuples(self, table: str, names: tuple[str, ...]) -> list[tuple[Any, ...]]:
        """Return the list to append ``table``'s rows to as tuples of ``names`` (its biggest tables: no dicts)."""
        return self.rows_by_position.setdefault(table, Rows(names, [])).values

    def tables(self) -> dict[str, Rows]:
        """Return every table's rows as tuples."""
        return {**{t: Rows.of(rows) for t, rows in self.rows.items()}, **self.rows_by_position}


@dataclass
class IdCounters:
    """Next free primary key per table, so rows can reference each other before insert."""

    next_ids: dict[str, int]

    def take(self, table: str) -> int:
        """Return the next id for ``table``."""
        value = self.next_ids[table]
        self.next_ids[table] = value + 1
        return value


@dataclass(frozen=True)
class Chunk:
    """One chunk of practitioners, generated: each table's rows, and the ids of those the demo suspends."""

    size: int
    rows: dict[str, Rows]
    suspended: list[int]


@dataclass(frozen=True)
class SeedPlan:
    """Everything that decides the seeded rows: generating from it needs no database (so another process can)."""

    count: int
    seed: int
    vocab: dict[str, dict[str, int]]
    next_ids: dict[str, int]
    now: datetime

    def chunks(self) -> Iterator[Chunk]:
        """Generate the practitioners chunk by chunk, in order (one random stream for the whole seed)."""
        rng = random.Random(self.seed)
        pools = {country: NamePool.draw(locale, country, self.seed + i)
                 for i, (country, locale) in enumerate(LOCALES.items())}
        ids = IdCounters(dict(self.next_ids))
        places = sample_places(rng, self.count)
        today = self.now.date()
        for start in range(0, len(places), CHUNK):
            batch = Batch()
            suspended = [pid for place in places[start:start + CHUNK]
                         if (pid := _practitioner(batch, ids, rng, pools.get(place.country, pools["US"]), place,
                                                  self.vocab, today, self.now))]
            yield Chunk(len(places[start:start + CHUNK]), batch.tables(), suspended)


def seed_practitioners(count: int, seed: int, progress: Callable[[int], None] | None = None, *,
                       now: datetime | None = None, parallel: bool | None = None) -> int:
    """Insert ``count`` demo practitioners with everything around them; return how many.

    ``now`` ends the demo history (default: the clock). On SQLite the rows are generated in a second process
    while this one writes (``parallel``; by default from PARALLEL_FROM practitioners): the same rows either
    way. Into a fresh SQLite database (the session idle, the tables empty) the seed commits its own work,
    written without the write-ahead log (bulk_load.fresh_load); otherwise the caller commits, as always.
    """
    fresh = not db.session().in_transaction()
    plan = SeedPlan(count, seed, _vocabulary_ids(), {t: _next_id(t) for t in SEEDED_TABLES},
                    (now or utcnow()).replace(microsecond=0))
    sqlite = db.session.get_bind().dialect.name == "sqlite"
    in_process = not sqlite or not (count >= PARALLEL_FROM if parallel is None else parallel)
    with fresh_load(fresh and all(next_id == 1 for next_id in plan.next_ids.values())):
        with bulk_load(TABLE_ORDER, count):
            if in_process:
                suspended = _write_chunks(plan.chunks(), progress)
            else:
                suspended = write_prepared(generated_elsewhere(plan, TABLE_ORDER), progress)
            _copy_first_revisions(plan)
            _advance_sequences()
        # After the indexes are back: a decision reads the practitioner's credentials and checks.
        _record_suspensions(suspended)
        refresh_statistics()
    return count


def _write_chunks(chunks: Iterator[Chunk], progress: Callable[[int], None] | None) -> list[int]:
    """Insert the chunks as they are generated; return the ids of the practitioners the demo suspends."""
    suspended: list[int] = []
    for chunk in chunks:
        insert_rows(TABLE_ORDER, chunk.rows)
        _advance_sequences()
        suspended.extend(chunk.suspended)
        if progress:
            progress(chunk.size)
    return suspended


def _copy_first_revisions(plan: SeedPlan) -> None:
    """Write each seeded review's first revision from the review itself, in one statement.

    A revision repeats its review (rating, title, body, visit month; edited when written): copied inside the
    database, its ~2 rows a practitioner are neither built in Python nor sent between the processes. Its ids
    follow the reviews' one for one, as the rows the seed generated used to.
    """
    offset = plan.next_ids["review_revision"] - plan.next_ids["review"]
    db.session.execute(text("INSERT INTO review_revision (id, review_id, revision, rating, title, body, edited_at, "
                            "visit_date, methods) SELECT id + :offset, id, 1, rating, title, body, created_at, "
                            "visit_date, '' FROM review WHERE id >= :first ORDER BY id"),
                       {"offset": offset, "first": plan.next_ids["review"]})


def _record_suspensions(practitioner_ids: list[int]) -> None:
    """Suspend the demo's suspended practitioners through the decision service, so a decision backs each one."""
    for pid in practitioner_ids:
        practitioner = db.session.get(Practitioner, pid)
        if practitioner is not None:
            suspend(practitioner, SEEDED_SUSPENSION_REASON, None)


def refresh_statistics() -> None:
    """Refresh the query planner's statistics after bulk writes.

    Without them SQLite picks the low-selectivity review.moderation_state index for
    per-practitioner rating queries and scans most of the table (PostgreSQL's
    autovacuum does this by itself, but an explicit ANALYZE is harmless there).
    """
    db.session.execute(text("ANALYZE"))


def _advance_sequences() -> None:
    """Move PostgreSQL's id sequences past the ids the seed wrote itself, so later inserts do not collide."""
    if db.session.get_bind().dialect.name != "postgresql":
        return  # SQLite's rowid picks max(id) + 1 by itself
    for table in SEEDED_TABLES:
        db.session.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608 (our names)
                                f"(SELECT coalesce(max(id), 0) + 1 FROM {table}), false)"))


def _next_id(table: str) -> int:
    """Return max(id) + 1 for ``table``."""
    tbl = db.metadata.tables[table]
    return int(db.session.execute(select(func.coalesce(func.max(tbl.c.id), 0))).scalar_one()) + 1


def _vocabulary_ids() -> dict[str, dict[str, int]]:
    """Return slug -> id for methods and conditions."""
    return {
        "methods": dict(db.session.execute(select(Method.slug, Method.id)).all()),  # type: ignore[arg-type]
        "conditions": dict(db.session.execute(select(Condition.slug, Condition.id)).all()),  # type: ignore[arg-type]
    }


def _practitioner(batch: Batch, ids: IdCounters, rng: random.Random, fake: NamePool, place: Place,
                  vocab: dict[str, dict[str, int]], today: date, now: datetime) -> int | None:
    """Queue one practitioner with locations, hours, vocabulary links, credentials, checks, reviews.

    Return the practitioner's id when the demo suspends them (the caller records the decision).
    """
    pid = ids.take("practitioner")
    gender = rng.choices(GENDERS, cum_weights=GENDER_CUM_WEIGHTS)[0]
    first = fake.first_name(rng, gender)
    last = rng.choice(fake.last)
    methods = _pick(rng, METHOD_WEIGHTS, rng.randint(1, 4))
    conditions = rng.sample(sorted(vocab["conditions"]), rng.randint(2, 6))
    credentials, decided = _credentials(rng, place, pid, today, now)
    checks = demo_checks(rng, credentials, decided, now)
    suspended = rng.random() < 0.003
    status, since = vetting_of(place.country, credentials, checks, today, suspended=suspended)
    batch.add("practitioner", {
        "id": pid, "slug": f"{slugify(f'{first} {last}')}-{pid}", "first_name": first, "last_name": last,
        "title": _title(rng, place.country), "bio": _bio(rng, first, place, methods, conditions),
        "gender": gender, "npi": _npi(pid) if place.country == "US" else None,
        "accepting_new_patients": rng.random() < 0.8, "telehealth": rng.random() < 0.25, "photo_path": None,
        "hidden": False, "vetting_status": status, "verified_since": since,
        "vetting_status_since": status_since(status, since, credentials, checks, now),
        "created_at": now, "updated_at": now,
    })
    for loc_place in _location_places(rng, place):
        _location(batch, ids, rng, fake, pid, loc_place)
    for slug in methods:
        batch.add("practitioner_method", {"practitioner_id": pid, "method_id": vocab["methods"][slug]})
    for slug in conditions:
        batch.add("practitioner_condition", {"practitioner_id": pid, "condition_id": vocab["conditions"][slug]})
    for code in _languages(rng, place.country):
        batch.add("practitioner_language", {"practitioner_id": pid, "language_code": code})
    for cred in credentials:
        cred["id"] = ids.take("credential")
        batch.add("credential", {k: v for k, v in cred.items() if not k.startswith("_")})
    chain_rows(batch.tuples("verification_check", CHECK_COLUMNS), lambda: ids.take("verification_check"), checks,
               credentials)
    _reviews(batch, ids, rng, fake, pid, now)
    return pid if suspended else None


def _pick(rng: random.Random, weights: dict[str, int], k: int) -> list[str]:
    """Pick ``k`` distinct keys by weight."""
    chosen: list[str] = []
    keys, w = list(weights), list(weights.values())
    while len(chosen) < k:
        key = rng.choices(keys, w)[0]
        if key not in chosen:
            chosen.append(key)
    return chosen


def _title(rng: random.Random, country: str) -> str:
    """Return a plausible professional title for ``country``."""
    if country == "US":
        return rng.choices(["L.Ac.", "L.Ac., Dipl. Ac.", "MD", "DACM, L.Ac."], [60, 25, 5, 10])[0]
    return rng.choice(["", "Dipl. Ac.", "MBAcC", "MD"])


@functools.cache
def _bio_words() -> dict[str, str]:
    """Return slug -> how a sentence names each method and condition: "headache and migraine", "Tui Na".

    From the vocabulary's own names (the slugs read "headache migraine", "chemotherapy nausea"), lower-cased
    unless a later capital says it is a proper name.
    """
    data = vocabulary_data()
    return {term["slug"]: term["name"] if any(c.isupper() for c in term["name"][1:]) else term["name"].lower()
            for kind in ("methods", "conditions") for term in data[kind]}


def _bio(rng: random.Random, first: str, place: Place, methods: list[str], conditions: list[str]) -> str:
    """Return a short biography naming the practitioner's methods and conditions."""
    years = rng.randint(2, 30)
    words = _bio_words()
    m = " and ".join(words.get(s, s) for s in methods[:2])
    c = ", ".join(words.get(s, s) for s in conditions[:3])
    return (f"{first} has practised acupuncture in {place.city} for {years} years, using {m}. "
            f"Most patients come for {c}. Treatment plans are agreed with your doctor where needed.")


def _npi(pid: int) -> str:
    """Return a valid-looking NPI (Luhn check digit over the 80840 prefix, as CMS specifies)."""
    base = f"1{pid:08d}"
    digits = [int(d) for d in "80840" + base]
    total = 0
    for i, d in enumerate(reversed(digits)):
        if i % 2 == 0:
            d *= 2
            d = d - 9 if d > 9 else d
        total += d
    return base + str((10 - total % 10) % 10)


def _location_places(rng: random.Random, place: Place) -> list[Place]:
    """Return the practitioner's practice places: one, sometimes a second one nearby."""
    places = [_jitter(rng, place, 3.0)]
    if rng.random() < 0.2:
        places.append(_jitter(rng, place, 20.0))
    return places


def _jitter(rng: random.Random, place: Place, km: float) -> Place:
    """Return ``place`` moved up to ``km`` away, so clinics in one city are not all on one point."""
    dlat = rng.uniform(-km, km) / 111.0
    dlon = rng.uniform(-km, km) / 111.0
    lat = max(-89.9, min(89.9, place.lat + dlat))
    lon = ((place.lon + dlon + 180) % 360) - 180
    return replace(place, lat=lat, lon=lon)


def _location(batch: Batch, ids: IdCounters, rng: random.Random, fake: NamePool, pid: int, place: Place) -> None:
    """Queue one location with its weekly opening hours."""
    lid = ids.take("location")
    batch.add("location", {
        "id": lid, "practitioner_id": pid, "name": f"{rng.choice(fake.last)} Acupuncture",
        "address_line1": fake.street_address(rng), "address_line2": "", "city": place.city or place.label,
        "region": place.region or "", "postal_code": place.postal_code or "", "country": place.country,
        "latitude": round(place.lat, 6), "longitude": round(place.lon, 6), "timezone": place.timezone or "UTC",
        "phone": fake.phone(rng), "booking_url": "", "wheelchair_accessible": rng.random() < 0.6,
    })
    opens = time(rng.choice([8, 9, 10]))
    closes = time(rng.choice([17, 18, 19]))
    days = list(range(5)) + ([5] if rng.random() < 0.4 else [])
    for day in days:
        batch.add("opening_hours", {"id": ids.take("opening_hours"), "location_id": lid, "weekday": day,
                                    "opens": opens, "closes": closes})


def _languages(rng: random.Random, country: str) -> list[str]:
    """Return the practitioner's languages: the country's, sometimes English or another."""
    langs = [COUNTRY_LANGUAGE.get(country, "en")]
    if country != "US" and rng.random() < 0.5:
        langs.append("en")
    if rng.random() < 0.35:
        langs.append(rng.choice(EXTRA_LANGUAGES))
    return sorted(set(langs))


# How the demo's credentials stand. "not_yet_valid" is on purpose and rare: a licence that comes
# into force next quarter, already confirmed by the board, shown as pending until then.
CREDENTIAL_STATES = {"valid": 70, "expiring": 8, "expired": 6, "not_yet_valid": 1, "unchecked": 11, "none": 4}
# choices() with the running totals draws exactly what it draws with the weights, without summing them per call.
CREDENTIAL_STATE_NAMES = list(CREDENTIAL_STATES)
CREDENTIAL_STATE_CUM_WEIGHTS = list(accumulate(CREDENTIAL_STATES.values()))


def _credentials(rng: random.Random, place: Place, pid: int, today: date,
                 now: datetime) -> tuple[list[dict[str, Any]], datetime]:
    """Return credential rows in a varied state, and when their credentialing decision was made.

    Every licence is in force when it is checked (its valid-from day precedes the checks), except the
    rare deliberate "not_yet_valid" one.
    """
    state = rng.choices(CREDENTIAL_STATE_NAMES, cum_weights=CREDENTIAL_STATE_CUM_WEIGHTS)[0]
    decided = now - timedelta(days=rng.randint(5, 500), minutes=rng.randint(0, 600))
    if state == "none":
        return [], decided
    until = {"valid": today + timedelta(days=rng.randint(60, 700)), "expiring": today + timedelta(days=rng.randint(1, 29)),
             "expired": today - timedelta(days=rng.randint(1, 300)),
             "not_yet_valid": today + timedelta(days=730 + rng.randint(1, 90))}.get(state, today + timedelta(days=400))
    if state == "expired":  # checked while it was still in force
        decided = min(decided, datetime.combine(until, time(12)) - timedelta(days=rng.randint(1, 100)))
    # A licence runs two years; one checked earlier than that was issued for longer.
    valid_from = until - timedelta(days=730)
    if state != "not_yet_valid":
        valid_from = min(valid_from, decided.date() - timedelta(days=90))
    us = place.country == "US"
    base = {"practitioner_id": pid, "user_id": None, "document_path": None, "document_sha256": None,
            "document_mime": None, "submitted_at": now if state == "unchecked" else decided - timedelta(days=70),
            "withdrawn_at": None, "_state": state}
    licence = {**base, "kind": "state_licence" if us else "foreign_registration",
               "issuer": f"{place.region} Board of Acupuncture" if us else f"{place.country} acupuncture register",
               "number": f"AC{rng.randint(10000, 99999)}", "jurisdiction": place.region if us else place.country,
               "valid_from": valid_from, "valid_until": until}
    creds = [licence]
    if us:
        creds.append({**base, "kind": "npi", "issuer": "CMS NPPES", "number": _npi(pid), "jurisdiction": "US",
                      "valid_from": None, "valid_until": None})
    if rng.random() < 0.6:
        creds.append({**base, "kind": "certification", "issuer": "NCCAOM" if us else "National acupuncture council",
                      "number": f"D{rng.randint(100000, 999999)}", "jurisdiction": place.country,
                      "valid_from": min(today - timedelta(days=400), decided.date() - timedelta(days=90)),
                      "valid_until": today + timedelta(days=rng.randint(90, 1400))})
    return creds, decided


def _reviews(batch: Batch, ids: IdCounters, rng: random.Random, fake: NamePool, pid: int, now: datetime) -> None:
    """Queue zero to six published, anonymous (imported) reviews (their first revisions: _copy_first_revisions).

    Bulk rows for speed; the demo accounts' reviews go through the services (directory/reviews/demo.py).
    """
    for _ in range(rng.choices(range(7), [25, 20, 18, 14, 10, 8, 5])[0]):
        rid = ids.take("review")
        rating = rng.choices([1, 2, 3, 4, 5], [3, 4, 10, 33, 50])[0]
        body = " ".join(rng.sample(REVIEW_LINES, 2))
        at = now - timedelta(days=rng.randint(1, 900))
        batch.add("review", {"id": rid, "practitioner_id": pid, "author_id": None,
                             "author_display_name": f"{fake.first_name(rng, 'any')} {rng.choice(fake.last)[0]}.", "rating": rating,
                             "title": "", "body": body, "visit_date": at.date().replace(day=1),
                             "moderation_state": "published", "published_at": at,
                             "moderated_by_id": None, "moderated_at": at, "response_body": None, "response_at": None,
                             "created_at": at, "updated_at": at})


