"""How the cluster backend spreads one search over several nodes and resends bulk items the cluster refused for now."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from search.backends.bulk import bulk_until_acknowledged, retryable
from search.backends.cluster import attempt_timeout, node_urls


class Refused(Exception):
    """An error answer with a status, shaped like both clients' (``status_code``)."""

    def __init__(self, status: int | str) -> None:
        super().__init__(f"status {status}")
        self.status_code = status


def _item(op: str, doc_id: str, status: int, error: Any = None) -> dict[str, Any]:
    return {op: {"_id": doc_id, "status": status, **({"error": error} if error else {})}}


def _actions(*ids: int) -> list[dict[str, Any]]:
    return [{"_op_type": "index", "_id": str(i), "_source": {"id": i}} for i in ids]


def _accept_nothing(_op: str, _info: dict[str, Any]) -> bool:
    return False


def test_several_comma_separated_urls_name_the_nodes() -> None:
    assert node_urls("http://a:9200") == ["http://a:9200"]
    assert node_urls(" http://a:9200/, http://b:9200 ,,http://c:9200") == ["http://a:9200", "http://b:9200",
                                                                          "http://c:9200"]
    assert node_urls(["http://a:1"]) == ["http://a:1"]
    with pytest.raises(ValueError):
        node_urls(" , ")


def test_a_cluster_splits_the_search_time_so_a_frozen_node_costs_one_attempt() -> None:
    assert attempt_timeout(5.0, 1) == (5.0, 0)
    assert attempt_timeout(5.0, 2) == (2.5, 1)
    assert attempt_timeout(6.0, 3) == (2.0, 2)
    assert attempt_timeout(6.0, 5) == (2.0, 2)  # at most three nodes per search
    assert attempt_timeout(0.9, 3) == (0.5, 2)


def test_only_unanswered_and_overload_or_unavailable_answers_are_worth_resending() -> None:
    assert retryable(Refused(429)) and retryable(Refused(503)) and retryable(Refused(504))
    assert retryable(ConnectionError("reset")) and retryable(Refused("N/A"))
    assert not retryable(Refused(400)) and not retryable(Refused(404))


def test_rejected_items_alone_are_resent_with_backoff_until_acknowledged() -> None:
    sent: list[list[str]] = []
    waits: list[float] = []
    answers = iter([
        [_item("index", "1", 201), _item("index", "2", 429, "es_rejected_execution_exception"),
         _item("index", "3", 400, {"type": "mapper_parsing_exception"})],
        [_item("index", "2", 429, "es_rejected_execution_exception")],
        [_item("index", "2", 201)],
    ])

    def send(actions: Sequence[dict[str, Any]]) -> list[tuple[bool, dict[str, Any]]]:
        sent.append([a["_id"] for a in actions])
        return [(next(iter(i.values()))["status"] < 300, i) for i in next(answers)]

    outcome = bulk_until_acknowledged(send, _actions(1, 2, 3), errors=(Refused,), accepted=_accept_nothing,
                                      budget_s=60, sleep=waits.append)
    assert sent == [["1", "2", "3"], ["2"], ["2"]]
    assert waits == [0.25, 0.5]
    assert sorted(outcome.acknowledged) == [1, 2]
    assert list(outcome.refused) == [3] and not outcome.unfinished
    assert outcome.attempts == 3


def test_a_request_that_failed_on_every_node_is_resent_whole() -> None:
    calls = iter([Refused("N/A"), Refused(429), None])

    def send(actions: Sequence[dict[str, Any]]) -> list[tuple[bool, dict[str, Any]]]:
        error = next(calls)
        if error is not None:
            raise error
        return [(True, _item("index", a["_id"], 201)) for a in actions]

    outcome = bulk_until_acknowledged(send, _actions(7, 8), errors=(Refused,), accepted=_accept_nothing,
                                      budget_s=60, sleep=lambda _s: None)
    assert outcome.acknowledged == [7, 8] and outcome.attempts == 3


def test_what_is_still_refused_when_the_budget_runs_out_is_reported_unfinished_never_acknowledged() -> None:
    def send(actions: Sequence[dict[str, Any]]) -> list[tuple[bool, dict[str, Any]]]:
        return [(False, _item("index", a["_id"], 429, "es_rejected_execution_exception")) for a in actions]

    outcome = bulk_until_acknowledged(send, _actions(5), errors=(Refused,), accepted=_accept_nothing,
                                      budget_s=0.1, sleep=lambda _s: None)
    assert outcome.acknowledged == [] and list(outcome.unfinished) == [5]
    assert "es_rejected_execution_exception" in outcome.unfinished[5]


def test_a_request_refused_for_good_is_raised_not_retried() -> None:
    def send(actions: Sequence[dict[str, Any]]) -> list[tuple[bool, dict[str, Any]]]:
        raise Refused(400)

    with pytest.raises(Refused):
        bulk_until_acknowledged(send, _actions(1), errors=(Refused,), accepted=_accept_nothing, budget_s=60,
                                sleep=lambda _s: None)


def test_an_accepted_refusal_counts_as_acknowledged() -> None:
    def send(actions: Sequence[dict[str, Any]]) -> list[tuple[bool, dict[str, Any]]]:
        return [(False, _item("delete", a["_id"], 404)) for a in actions]

    outcome = bulk_until_acknowledged(send, _actions(4), errors=(Refused,),
                                      accepted=lambda op, info: op == "delete" and info["status"] == 404, budget_s=1)
    assert outcome.acknowledged == [4]


def test_search_url_may_list_several_nodes_but_only_http_ones() -> None:
    from cryptography.fernet import Fernet

    from directory.config import ConfigError, load_config

    base = {"SECRET_KEY": "s" * 32, "REFERRAL_KEYS": Fernet.generate_key().decode(), "SEARCH_BACKEND": "elasticsearch"}
    settings = load_config({**base, "SEARCH_URL": "http://127.0.0.1:9200,http://127.0.0.1:9202"})
    assert settings["SEARCH_URL"] == "http://127.0.0.1:9200,http://127.0.0.1:9202"
    with pytest.raises(ConfigError) as refused:
        load_config({**base, "SEARCH_URL": "http://127.0.0.1:9200,127.0.0.1:9202"})
    assert "'127.0.0.1:9202'" in refused.value.message
