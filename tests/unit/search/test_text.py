"""The one folding function, on real names from many languages and scripts."""

from __future__ import annotations

import pytest

from search.text import fold

# (as written, as an ASCII-only registry such as the LEIE or NPPES lists it, folded)
NAMES = [
    ("Søren Kierkegaard", "SOREN KIERKEGAARD", "soren kierkegaard"),  # Danish
    ("Ærø Bjørnstjerne", "AERO BJORNSTJERNE", "aero bjornstjerne"),  # Danish / Norwegian
    ("Agnieszka Łukaszewska", "AGNIESZKA LUKASZEWSKA", "agnieszka lukaszewska"),  # Polish
    ("Małgorzata Wójcik-Żółć", "MALGORZATA WOJCIK-ZOLC", "malgorzata wojcik-zolc"),  # Polish
    ("Jürgen Straße", "JURGEN STRASSE", "jurgen strasse"),  # German
    ("ẞIGRID GROẞ", "SSIGRID GROSS", "ssigrid gross"),  # German capital sharp s
    ("Þórunn Guðmundsdóttir", "THORUNN GUDMUNDSDOTTIR", "thorunn gudmundsdottir"),  # Icelandic
    ("Işık Şahin", "ISIK SAHIN", "isik sahin"),  # Turkish dotless i
    ("İbrahim Öztürk", "IBRAHIM OZTURK", "ibrahim ozturk"),  # Turkish dotted capital I
    ("Nguyễn Thị Đặng", "NGUYEN THI DANG", "nguyen thi dang"),  # Vietnamese
    ("François Lefèvre-Œillet", "FRANCOIS LEFEVRE-OEILLET", "francois lefevre-oeillet"),  # French
    ("Antonín Dvořák", "ANTONIN DVORAK", "antonin dvorak"),  # Czech
    ("Đorđe Đorđević", "DORDE DORDEVIC", "dorde dordevic"),  # Serbian / Croatian
    ("Siân Ní Bhriain", "SIAN NI BHRIAIN", "sian ni bhriain"),  # Welsh / Irish
    ("José Núñez Peña", "JOSE NUNEZ PENA", "jose nunez pena"),  # Spanish
    ("João Gonçalves", "JOAO GONCALVES", "joao goncalves"),  # Portuguese
    ("Ħaġar Qim", "HAGAR QIM", "hagar qim"),  # Maltese
    ("Zoë Ångström", "ZOE ANGSTROM", "zoe angstrom"),  # English / Swedish
]


@pytest.mark.parametrize(("written", "registry", "folded"), NAMES)
def test_names_fold_to_the_registry_spelling(written: str, registry: str, folded: str) -> None:
    assert fold(written) == folded
    assert fold(registry) == folded


@pytest.mark.parametrize(("a", "b"), [
    ("Дмитрий Иванов", "ДМИТРИЙ ИВАНОВ"),  # Cyrillic: case-folded, kept
    ("Γιώργος Παπαδόπουλος", "ΓΙΩΡΓΟΣ ΠΑΠΑΔΟΠΟΥΛΟΣ"),  # Greek: accents and final sigma
    ("王芳", "王芳"),  # Han: unchanged
])
def test_other_scripts_keep_their_letters_and_fold_case_and_accents(a: str, b: str) -> None:
    assert fold(a) == fold(b) != ""


@pytest.mark.parametrize(("text", "folded"), [("ﬁve", "five"), ("Ⅻ", "xii"), ("Ǆemal", "dzemal"), ("", "")])
def test_compatibility_characters_fold_to_their_letters(text: str, folded: str) -> None:
    assert fold(text) == folded


@pytest.mark.parametrize("text", ["", "Moxa", "O'Brien", "St.-Jean!! 02108", "name:Ada^5 (x OR y)"])
def test_ascii_is_only_lower_cased(text: str) -> None:
    assert fold(text) == text.lower() and fold(text + "é") == text.lower() + "e"
