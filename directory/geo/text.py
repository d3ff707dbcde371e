"""Normalise place names so that case, accents and punctuation never decide a match."""

from __future__ import annotations

import re
import unicodedata

# Letters that NFKD does not decompose into a base letter plus an accent.
_FOLD = str.maketrans({"ł": "l", "ø": "o", "đ": "d", "ð": "d", "ı": "i"} | {"æ": "ae", "œ": "oe", "þ": "th", "ß": "ss"})
_NON_ALNUM = re.compile(r"[^0-9a-z]+")
# USPS and GeoNames spell these both ways ("St. Louis" / "Saint Louis", "Ft Worth").
_ABBREVIATIONS = {"st": "saint", "ste": "sainte", "ft": "fort", "mt": "mount"}


def fold(text: str) -> str:
    """Return `text` lower-cased ASCII, accents dropped, punctuation made spaces."""
    text = text.lower()
    if not text.isascii():
        decomposed = unicodedata.normalize("NFKD", text.translate(_FOLD))
        # Letters of other scripts have no ASCII form and vanish here on purpose.
        text = decomposed.encode("ascii", "ignore").decode("ascii")
    return _NON_ALNUM.sub(" ", text).strip()


def normalize_name(text: str) -> str:
    """Return the key under which a place name is indexed and looked up."""
    tokens = fold(text).split()
    # Hot path: the index folds some 80,000 names on first load.
    if _ABBREVIATIONS.keys().isdisjoint(tokens):
        return " ".join(tokens)
    return " ".join([_ABBREVIATIONS.get(token, token) for token in tokens])


def normalize_prefix(text: str) -> str:
    """Return the lookup key of a name being typed (its last word may be unfinished)."""
    tokens = fold(text).split()
    if not tokens:
        return ""
    # "St" may be the start of "Stockholm": only whole words are expanded.
    head = [_ABBREVIATIONS.get(token, token) for token in tokens[:-1]]
    return " ".join([*head, tokens[-1]])
