"""URL slugs for practitioner profiles."""

from __future__ import annotations

import re

from search.text import fold

_NON_WORD = re.compile(r"[^a-z0-9]+")


def slugify(text: str) -> str:
    """Return ``text`` as a lower-case ASCII slug ("Zoë O'Brien" -> "zoe-o-brien", "Søren" -> "soren")."""
    return _NON_WORD.sub("-", fold(text)).strip("-") or "practitioner"
