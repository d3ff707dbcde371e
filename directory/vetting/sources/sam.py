"""The SAM.gov exclusion list as a source: match practitioners against the imported SAM extract. Reads only.

The same review rules as the LEIE (``sources/exclusions.py``): an NPI match suspends pending an
admin's review, a name match only asks an admin, and admins' decisions are kept with this
source. Only records in force count: the import keeps active records whose termination date
had not passed, and a termination date passed since then rules the record out. Each hit's
evidence carries what SAM publishes about it (agency, programme, type, UEI, SAM number).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from directory.extensions import db
from directory.vetting.models import Exclusion, ExclusionImport
from directory.vetting.sources.base import AUTOMATED_WINDOW_DAYS
from directory.vetting.sources.exclusions import ExclusionListSource

CODE = "sam_exclusions"
LIST_CODE = "sam"


@dataclass(frozen=True)
class SamExclusionSource(ExclusionListSource):
    """The imported SAM.gov exclusions extract; not run at all until one has been imported."""

    @property
    def list_name(self) -> str:
        """Return how a message names the list."""
        return "SAM.gov exclusion list"

    def described(self, entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Return the entries with the SAM details of each listed record added to its ``record``."""
        keys = {e["record_key"] for e in entries if e.get("record_key")}
        if not keys:
            return entries
        rows = db.session.execute(select(Exclusion.record_key, Exclusion.details).where(
            Exclusion.record_key.in_(sorted(keys)), Exclusion.import_id.in_(
                select(ExclusionImport.id).where(ExclusionImport.list_code == LIST_CODE))))
        details = {key: text for key, text in rows}
        return [{**e, "record": {**e.get("record", {}), "sam": _parsed(details.get(e.get("record_key", "")))}}
                for e in entries]


def _parsed(text: str | None) -> dict[str, Any]:
    """Return a stored ``details`` JSON object (empty when missing or not an object)."""
    try:
        value = json.loads(text or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


SAM_EXCLUSIONS = SamExclusionSource(
    code=CODE, label="SAM.gov exclusions", public_label="the SAM.gov exclusion list",
    history_label="Federal exclusion list (SAM.gov)", credential_kinds=(), automated=True, exclusion_screen=True,
    person_check_label="Not excluded from federal health programmes",
    outcome_labels={"needs_review": "No NPI match; a listing with a similar name is being ruled out"},
    window_days=AUTOMATED_WINDOW_DAYS, list_code=LIST_CODE, list_optional=True)
