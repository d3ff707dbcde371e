"""Name normalisation: case, accents, punctuation and common abbreviations never decide a match."""

from __future__ import annotations

import pytest

from directory.geo.text import normalize_name, normalize_prefix


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("Zürich", "zurich"),
        ("São Paulo", "sao paulo"),
        ("Łódź", "lodz"),
        ("Straße", "strasse"),
        ("Ærø", "aero"),
        ("  St.-Jean!! ", "saint jean"),
    ],
)
def test_names_fold_to_ascii_words(text: str, folded: str) -> None:
    assert normalize_name(text) == folded


def test_other_scripts_fold_to_nothing() -> None:
    assert normalize_name("Париж 東京") == ""


@pytest.mark.parametrize("variant", ["St. Louis", "St Louis", "Saint Louis", "SAINT-LOUIS", "st.louis"])
def test_saint_is_one_key_however_it_is_spelled(variant: str) -> None:
    assert normalize_name(variant) == "saint louis"


def test_prefix_keeps_an_unfinished_last_word() -> None:
    assert normalize_prefix("St") == "st"
    assert normalize_prefix("St. L") == "saint l"
    assert normalize_prefix("Ft Wor") == "fort wor"
