"""Name normalisation for matching: accents, punctuation, double names, particles, suffixes."""

from __future__ import annotations

import pytest

from directory.vetting.names import first_name_key, last_name_keys, name_key, name_pairs, same_person_name
from search.text import fold


@pytest.mark.parametrize(("text", "key"), [("O'Brien", "obrien"), ("Zoë", "zoe"), ("MÜLLER", "muller"),
                                           ("  Chen ", "chen"), ("D'Angelo-Smith", "dangelosmith")])
def test_name_key_keeps_letters_only(text: str, key: str) -> None:
    assert name_key(text) == key


def test_fold_keeps_ascii_fast_path_and_strips_accents() -> None:
    assert fold("ABC") == "abc" and fold("Ångström") == "angstrom"


@pytest.mark.parametrize(("last", "keys"), [
    ("Chen", {"chen"}), ("Lopez-Garcia", {"lopezgarcia", "lopez", "garcia"}),
    ("Lopez Garcia", {"lopezgarcia", "lopez", "garcia"}), ("Van Dyke", {"vandyke", "dyke"}),
    ("Smith Jr.", {"smith"}), ("", set()),
])
def test_last_name_keys_cover_double_names(last: str, keys: set[str]) -> None:
    assert last_name_keys(last) == keys


def test_first_name_key_is_the_first_part() -> None:
    assert first_name_key("Mei Ling") == "mei" and first_name_key("") == ""


def test_name_pairs_cover_every_last_name() -> None:
    assert name_pairs("Joan", ["Park", "Kim"]) == {("park", "joan"), ("kim", "joan")}


@pytest.mark.parametrize(("a", "b", "same"), [
    (("Mei", "Chen"), ("MEI", "CHEN"), True), (("Ana", "Lopez-Garcia"), ("ANA", "GARCIA"), True),
    (("Mei", "Chen"), ("MAY", "CHEN"), False), (("Mei", "Chen"), ("MEI", "CHANG"), False),
])
def test_same_person_name(a: tuple[str, str], b: tuple[str, str], same: bool) -> None:
    assert same_person_name(*a, *b) is same


@pytest.mark.parametrize(("first", "last", "listed_first", "listed_last"), [
    ("Søren", "Kierkegaard", "SOREN", "KIERKEGAARD"),
    ("Agnieszka", "Łukaszewska", "AGNIESZKA", "LUKASZEWSKA"),
    ("Jürgen", "Straße", "JURGEN", "STRASSE"),
    ("Þórunn", "Guðmundsdóttir", "THORUNN", "GUDMUNDSDOTTIR"),
    ("Işık", "Şahin", "ISIK", "SAHIN"),
    ("Thị", "Đặng", "THI", "DANG"),
    ("Đorđe", "Đorđević", "DORDE", "DORDEVIC"),
    ("Antonín", "Dvořák", "ANTONIN", "DVORAK"),
    ("François", "Lefèvre-Œillet", "FRANCOIS", "OEILLET"),
    ("Дмитрий", "Иванов", "ДМИТРИЙ", "ИВАНОВ"),
])
def test_non_ascii_names_match_their_registry_spelling(first: str, last: str, listed_first: str,
                                                        listed_last: str) -> None:
    assert same_person_name(first, last, listed_first, listed_last)


def test_letters_of_other_scripts_are_kept_in_keys() -> None:
    assert name_key("Иванов") == "иванов" and name_key("Søren") == "soren"
    assert not same_person_name("Дмитрий", "Иванов", "ДМИТРИЙ", "ПЕТРОВ")


@pytest.mark.parametrize(("first", "last", "listed_first", "listed_last"), [
    ("Jürgen", "Müller", "JUERGEN", "MUELLER"), ("Jürgen", "Müller", "JURGEN", "MULLER"),
    ("Søren", "Kierkegaard", "SOEREN", "KIERKEGAARD"), ("Åsa", "Öberg", "AASA", "OEBERG"),
])
def test_letters_passports_write_out_match_either_spelling(first: str, last: str, listed_first: str,
                                                          listed_last: str) -> None:
    assert same_person_name(first, last, listed_first, listed_last)
    assert name_pairs(listed_first, [listed_last]) <= name_pairs(first, [last])


def test_written_out_spellings_are_only_added_for_the_letters_themselves() -> None:
    assert last_name_keys("Mueller") == {"mueller"} and not same_person_name("Jan", "Mueller", "JAN", "MULLER")
