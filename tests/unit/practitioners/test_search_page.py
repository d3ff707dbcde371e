"""Ways out of an empty search, and link building that keeps every filter."""

from __future__ import annotations

from directory.practitioners.search_page import active_filter_count, given_args, query_args, relaxations, search_path
from search import SearchQuery

VOCABULARY = {"method": {"moxibustion": "Moxibustion", "cupping": "Cupping"}, "condition": {"sciatica": "Sciatica"},
              "language": {"zh": "Chinese"}}


def labels(args: dict[str, list[str]], query: SearchQuery) -> list[str]:
    return [r.label for r in relaxations(args, query, VOCABULARY)]


def test_widen_the_radius_first_then_drop_each_filter() -> None:
    args = {"place": ["02139"], "radius_km": ["10"], "method": ["moxibustion", "cupping"], "telehealth": ["true"],
            "q": ["calm"], "page": ["3"]}
    query = SearchQuery(lat=42.0, lon=-71.0, radius_km=10, methods=("moxibustion", "cupping"), telehealth=True,
                        text="calm")
    found = relaxations(args, query, VOCABULARY)
    assert [r.label for r in found] == [
        "Search within 25 km", "Remove the method “Moxibustion”", "Remove the method “Cupping”",
        "Remove the filter on telehealth", "Remove the keywords “calm”",
        "Include practitioners whose checks are still in progress"]
    assert found[0].params["radius_km"] == ["25"] and "page" not in found[0].params
    assert found[1].params["method"] == ["cupping"] and found[1].params["place"] == ["02139"]
    assert found[3].params["telehealth"] == []


def test_no_wider_radius_past_the_largest_or_without_a_place() -> None:
    assert "Search within" not in " ".join(labels({}, SearchQuery(lat=1.0, lon=1.0, radius_km=500)))
    assert "Search within" not in " ".join(labels({}, SearchQuery(radius_km=5)))


def test_everything_already_open_leaves_nothing_to_relax() -> None:
    assert labels({"verified_only": ["false"]}, SearchQuery(verified_only=False)) == []


def test_query_args_change_one_key_and_keep_the_rest() -> None:
    args = {"method": ["a", "b"], "page": ["2"]}
    assert query_args(args, page=3) == {"method": ["a", "b"], "page": ["3"]}
    assert query_args(args, page=None) == {"method": ["a", "b"]}
    assert args["page"] == ["2"]


def test_blank_values_from_a_form_are_no_filter_at_all() -> None:
    args = {"place": ["02139"], "method": [""], "condition": ["", " "], "language": ["zh", ""]}
    assert labels(args, SearchQuery(lat=42.0, lon=-71.0, radius_km=500, languages=("zh",))) == [
        "Remove the language “Chinese”", "Include practitioners whose checks are still in progress"]
    assert given_args(args) == {"place": ["02139"], "language": ["zh"]}


def test_active_filters_count_terms_and_yes_no_choices() -> None:
    assert active_filter_count({"method": ["a", "b", ""], "telehealth": ["true"], "open_now": ["false"],
                                "verified_only": ["false"], "place": ["x"]}) == 4


def test_the_way_back_is_a_search_path_or_nothing() -> None:
    assert search_path("/search?place=02139&method=moxibustion") == "/search?place=02139&method=moxibustion"
    assert search_path("/search") == "/search"
    for bad in ("//evil.example/search", "https://evil.example/search", "/searchx", "/search/../x", "/x?/search",
                "/search\\evil", "/search?\nSet-Cookie:x", None, ""):
        assert search_path(bad) is None, bad
