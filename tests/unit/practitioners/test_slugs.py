"""Profile slugs: ASCII names keep the slugs they always had; other names are spelled out, not cut."""

from __future__ import annotations

import pytest

from directory.practitioners.slugs import slugify


@pytest.mark.parametrize(("name", "slug"), [
    ("Mei Chen", "mei-chen"), ("O'Brien  Jr.", "o-brien-jr"), ("ANA LOPEZ-GARCIA", "ana-lopez-garcia"),
    ("  --  ", "practitioner"), ("Dr. Ada 2nd", "dr-ada-2nd"),
])
def test_ascii_names_keep_their_slugs(name: str, slug: str) -> None:
    # Slugs are links: these are the slugs the previous NFKD-and-drop slugify gave, unchanged.
    assert slugify(name) == slug


@pytest.mark.parametrize(("name", "slug"), [
    ("Søren Kierkegaard", "soren-kierkegaard"), ("Agnieszka Łukaszewska", "agnieszka-lukaszewska"),
    ("Jürgen Straße", "jurgen-strasse"), ("Þórunn Guðmundsdóttir", "thorunn-gudmundsdottir"),
    ("Zoë O'Brien", "zoe-o-brien"), ("Дмитрий Иванов", "practitioner"),
])
def test_letters_without_a_decomposition_are_spelled_out(name: str, slug: str) -> None:
    assert slugify(name) == slug
