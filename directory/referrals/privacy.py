"""Patient data in referrals: erased with the patient's account, re-sealed when the keys rotate."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Integer, Text, column, or_, select, table, update

from directory.accounts.models import User
from directory.extensions import db
from directory.referrals import crypto
from directory.referrals.models import Referral

SEALED_COLUMNS = ("patient_name", "patient_contact", "screening_snapshot")
# The table as stored, without SealedText: rotation reads and writes the tokens themselves.
_STORED = table("referral", column("id", Integer), *(column(name, Text) for name in SEALED_COLUMNS))


def erase_patient(user: User) -> int:
    """Erase the patient's name and contact from referrals naming them and requests they sent; return how many.

    Called by account deletion in the same transaction. A doctor's own referrals keep the patients
    they name (the practitioner still needs them); only the link to the doctor goes.
    """
    query = select(Referral).where(or_(Referral.patient_id == user.id,
                                       (Referral.sender_id == user.id) & (Referral.kind == "request")))
    erased = 0
    for referral in db.session.scalars(query):
        referral.patient_id, referral.patient_name, referral.patient_contact = None, None, None
        erased += 1
    # The foreign key sets sender_id NULL too; doing it here keeps loaded rows in step with the database.
    for referral in db.session.scalars(select(Referral).where(Referral.sender_id == user.id)):
        referral.sender_id = None
    db.session.flush()
    return erased


def rotate_batch(after_id: int, limit: int = 200) -> tuple[int | None, int, int]:
    """Re-seal with the newest key the sealed values of up to ``limit`` referrals after ``after_id``.

    Return (the last id seen, or None when there were none; rows seen; rows changed). A value
    already under the newest key is left alone, so running it again changes nothing.
    """
    rows = db.session.execute(select(_STORED).where(_STORED.c.id > after_id).order_by(_STORED.c.id).limit(limit)).all()
    changed = 0
    for row in rows:
        values = {name: crypto.rotate(token) for name in SEALED_COLUMNS
                  if (token := row._mapping[name]) is not None and crypto.needs_rotation(token)}
        if values:
            db.session.execute(update(_STORED).where(_STORED.c.id == row.id).values(**values))
            changed += 1
    return (rows[-1].id if rows else None), len(rows), changed


def rotate_all(progress: Callable[[int], object] = lambda n: None, *, batch: int = 200,
               commit: Callable[[], object] = lambda: None) -> int:
    """Re-seal every referral with the newest key, committing batch by batch; return how many rows changed."""
    after, total = 0, 0
    while True:
        last, seen, changed = rotate_batch(after, batch)
        if last is None:
            return total
        commit()
        progress(seen)
        after, total = last, total + changed
