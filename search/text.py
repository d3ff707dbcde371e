"""The project's one text folding: case, accents and letter variants never decide a match. Pure.

Search documents and queries, place names, people's names matched across registries and URL
slugs all fold through ``fold``; what each keeps afterwards (ASCII only, letters only, words)
is the caller's business, never a second folding table.
"""

from __future__ import annotations

import unicodedata

# Letters that NFKD does not split into a base letter and an accent, spelled with the plain
# letters underneath (as GeoNames' ASCII names write "Łódź" as "Lodz"): "Łukaszewska" ->
# "lukaszewska", "Søren" -> "soren", "Þórunn" -> "thorunn", "Đặng" -> "dang", "Işık" -> "isik". Keys are
# lower-case: the text is case-folded first (which already spells "ß" and "ẞ" as "ss").
_LETTERS = str.maketrans({
    "ł": "l", "ø": "o", "đ": "d", "ð": "d", "ı": "i", "ħ": "h", "ŧ": "t", "ĸ": "k", "ƒ": "f",
    "æ": "ae", "œ": "oe", "þ": "th",
})


def fold(text: str) -> str:
    """Return ``text`` case-folded, accents dropped, letter variants spelled out ("Søren Straße" -> "soren strasse").

    Letters of other scripts (Cyrillic, Greek, CJK, ...) stay, case-folded and without accents:
    callers that need ASCII keep only that.
    """
    if text.isascii():  # most text: nothing to strip, and 20x faster than decomposing
        return text.lower()
    # Case-fold first: "İ" and compatibility capitals ("Ⅻ") decompose to lower-case letters then.
    decomposed = unicodedata.normalize("NFKD", text.casefold().translate(_LETTERS))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))
