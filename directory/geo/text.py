"""Normalise place names so that case, accents and punctuation never decide a match."""

from __future__ import annotations

import re

from search.text import fold

_NON_ALNUM = re.compile(r"[^0-9a-z]+")
# USPS and GeoNames spell these both ways ("St. Louis" / "Saint Louis", "Ft Worth").
_ABBREVIATIONS = {"st": "saint", "ste": "sainte", "ft": "fort", "mt": "mount"}


def _place_words(text: str) -> list[str]:
    """Return the folded ASCII words of a place name; letters of other scripts vanish here on purpose."""
    return _NON_ALNUM.sub(" ", fold(text)).split()


def normalize_name(text: str) -> str:
    """Return the key under which a place name is indexed and looked up."""
    tokens = _place_words(text)
    # Hot path: the index folds some 80,000 names on first load.
    if _ABBREVIATIONS.keys().isdisjoint(tokens):
        return " ".join(tokens)
    return " ".join([_ABBREVIATIONS.get(token, token) for token in tokens])


def normalize_prefix(text: str) -> str:
    """Return the lookup key of a name being typed (its last word may be unfinished)."""
    tokens = _place_words(text)
    if not tokens:
        return ""
    # "St" may be the start of "Stockholm": only whole words are expanded.
    head = [_ABBREVIATIONS.get(token, token) for token in tokens[:-1]]
    return " ".join([*head, tokens[-1]])
