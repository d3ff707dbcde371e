"""URL slugs for practitioner profiles."""

from __future__ import annotations

import re
import unicodedata

_NON_WORD = re.compile(r"[^a-z0-9]+")


def slugify(text: str) -> str:
    """Return ``text`` as a lower-case ASCII slug ("Zoë O'Brien" -> "zoe-o-brien")."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return _NON_WORD.sub("-", ascii_text.lower()).strip("-") or "practitioner"
