"""Name normalisation for matching people across sources (exclusion list, NPI registry). Pure."""

from __future__ import annotations

import re
from collections.abc import Iterable

from search.text import fold

_SEPARATORS = re.compile(r"[\s\-]+")
# Everything but letters, of any script: "Дмитрий" keeps a key of its own rather than none.
_NON_LETTERS = re.compile(r"[\W\d_]+")
# Suffixes that registries put into the last-name field ("SMITH JR").
_SUFFIXES = frozenset({"jr", "sr", "ii", "iii", "iv", "md", "lac", "phd"})
# Particles that are never a surname on their own ("van" of "Van Dyke").
_PARTICLES = frozenset({"van", "von", "de", "der", "den", "del", "della", "la", "le", "da", "di", "du", "st", "bin", "al"})
# Passports write these letters out (ICAO Doc 9303), so an ASCII-only registry may list "Müller"
# as MUELLER as well as MULLER and "Søren" as SOEREN as well as SOREN: both spellings are keys.
_WRITTEN_OUT = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ø": "oe", "å": "aa",
                              "Ä": "Ae", "Ö": "Oe", "Ü": "Ue", "Ø": "Oe", "Å": "Aa"})


def name_key(text: str) -> str:
    """Return the comparable form of one name: folded letters only ("O'Brien" -> "obrien")."""
    return _NON_LETTERS.sub("", fold(text))


def _parts(text: str) -> list[str]:
    """Return the name's hyphen- or space-separated parts as keys, suffixes dropped."""
    parts = [name_key(p) for p in _SEPARATORS.split(fold(text).replace(".", " "))]
    return [p for p in parts if p and p not in _SUFFIXES]


def _spellings(name: str) -> set[str]:
    """Return the name as written and, when it has letters passports write out, written out."""
    return {name, name.translate(_WRITTEN_OUT)}


def last_name_keys(last_name: str) -> set[str]:
    """Return the keys a last name can be found under: whole, each part of a double name, each spelling."""
    keys: set[str] = set()
    for spelling in _spellings(last_name):
        parts = _parts(spelling)
        if parts:
            keys.add("".join(parts))
        if len(parts) > 1:
            keys.update(p for p in parts if len(p) > 1 and p not in _PARTICLES)
    return keys


def first_name_key(first_name: str) -> str:
    """Return the key of a first name: its first part ("Mei Ling" -> "mei")."""
    parts = _parts(first_name)
    return parts[0] if parts else ""


def first_name_keys(first_name: str) -> set[str]:
    """Return the keys of a first name, one per spelling ("Jürgen" -> "jurgen", "juergen")."""
    return {key for spelling in _spellings(first_name) if (key := first_name_key(spelling))} or {""}


def name_pairs(first_name: str, last_names: Iterable[str]) -> set[tuple[str, str]]:
    """Return every (last key, first key) pair for a person known by any of ``last_names``."""
    firsts = first_name_keys(first_name)
    return {(last, first) for name in last_names for last in last_name_keys(name) for first in firsts}


def same_person_name(first_a: str, last_a: str, first_b: str, last_b: str) -> bool:
    """Tell whether two names match once normalised (double last names match on either part)."""
    return bool(first_name_keys(first_a) & first_name_keys(first_b)) and bool(last_name_keys(last_a) & last_name_keys(last_b))
