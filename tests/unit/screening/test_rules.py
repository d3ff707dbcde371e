"""The contraindication rule table: one test per row, plus the table's shape and how rows combine."""

from __future__ import annotations

import json
import re

import pytest

from directory.practitioners.vocabulary import VOCABULARY_FILE
from directory.screening.rules import METHODS, RULES, RULES_BY_KEY, VERDICT_EXPLANATIONS, VERDICT_LABELS, VERDICTS
from directory.screening.services import evaluate, known_flags, most_restrictive

ALL = set(METHODS)

# What each row must say, written from the sources (the article's contraindications and the WHO
# safety guidelines), independently of the table: {verdict: methods}; methods not named are "ok".
EXPECTED: dict[str, dict[str, set[str]]] = {
    "exhaustion": {"not_today": ALL - {"acupressure", "laser-acupuncture"},
                   "caution": {"acupressure", "laser-acupuncture"}},
    "intoxication": {"not_today": ALL},
    "radiotherapy_steroids": {"clearance": ALL - {"tui-na", "acupressure", "laser-acupuncture"},
                              "caution": {"tui-na", "acupressure", "laser-acupuncture"}},
    "heart_disease": {"not_method": {"electroacupuncture"},
                      "caution": {"moxibustion", "tui-na", "acupressure", "laser-acupuncture"},
                      "clearance": {"filiform-needling", "cupping", "auricular", "scalp-acupuncture", "gua-sha"}},
    "kidney_liver": {"caution": {"moxibustion", "tui-na", "acupressure", "laser-acupuncture"},
                     "clearance": {"filiform-needling", "electroacupuncture", "cupping", "auricular",
                                   "scalp-acupuncture", "gua-sha"}},
    "seizures": {"not_method": {"electroacupuncture"}, "caution": ALL - {"electroacupuncture", "acupressure"}},
    "bleeding": {"clearance": {"filiform-needling", "electroacupuncture", "cupping", "auricular", "scalp-acupuncture",
                               "gua-sha"},
                 "caution": {"moxibustion", "tui-na", "acupressure"}},
    "pregnancy": {"not_method": {"electroacupuncture"}, "caution": ALL - {"electroacupuncture"}},
    "implanted_device": {"not_method": {"electroacupuncture"}},
    "cancer": {"clearance": ALL - {"acupressure"}, "caution": {"acupressure"}},
}


@pytest.mark.parametrize("rule", RULES, ids=[r.key for r in RULES])
def test_each_row_gives_the_expected_verdict_for_every_method(rule):
    expected = {m: v for v, methods in EXPECTED[rule.key].items() for m in methods}
    result = evaluate([rule.key])
    assert dict(result.verdicts) == {m: expected.get(m, "ok") for m in METHODS}


def test_every_row_is_tested_and_every_question_is_asked_once():
    assert [r.key for r in RULES] == list(EXPECTED)
    assert len({r.question for r in RULES}) == len(RULES)


def test_the_issue_examples_hold():
    anticoagulants = evaluate(["bleeding"])
    assert anticoagulants.verdict_for("filiform-needling") == "clearance"
    assert anticoagulants.verdict_for("cupping") == "clearance"
    assert anticoagulants.verdict_for("moxibustion") == "caution"
    assert anticoagulants.verdict_for("tui-na") == "caution"
    assert evaluate(["implanted_device"]).verdict_for("electroacupuncture") == "not_method"
    assert evaluate(["intoxication"]).not_today and evaluate(["exhaustion"]).not_today


def test_the_table_covers_exactly_the_vocabulary_methods():
    vocabulary = json.loads(VOCABULARY_FILE.read_text(encoding="utf-8"))
    assert set(METHODS) == {m["slug"] for m in vocabulary["methods"]}
    for rule in RULES:
        assert set(rule.per_method) <= set(METHODS), rule.key
        assert all(v in VERDICTS for v in (rule.default, *rule.per_method.values()))


def test_every_verdict_has_plain_words():
    assert set(VERDICT_LABELS) == set(VERDICTS) == set(VERDICT_EXPLANATIONS)


@pytest.mark.parametrize("rule", RULES, ids=[r.key for r in RULES])
def test_rows_speak_to_patients_without_diagnosing(rule):
    assert rule.question.endswith("?") and rule.meaning.endswith(".")
    # Questions ask; the explanation never tells the patient what they have.
    assert not re.search(r"\b(you have|diagnos\w*|you suffer)\b", rule.meaning, re.IGNORECASE), rule.meaning


def test_no_answers_means_ok_everywhere():
    result = evaluate([])
    assert set(result.verdicts.values()) == {"ok"}
    assert result.flags == () and not result.needs_clearance and not result.not_today


def test_answers_combine_to_the_most_restrictive_verdict_per_method():
    result = evaluate(["bleeding", "intoxication", "implanted_device"])
    assert result.verdict_for("moxibustion") == "not_today"
    assert result.verdict_for("electroacupuncture") == "not_method"
    assert [f.rule.key for f in result.flags] == ["intoxication", "bleeding", "implanted_device"]


def test_flags_group_methods_most_restrictive_first_and_leave_out_ok():
    flag = evaluate(["heart_disease"]).flags[0]
    assert [verdict for verdict, _ in flag.methods_by_verdict] == ["not_method", "clearance", "caution"]
    assert flag.methods_by_verdict[0][1] == ("electroacupuncture",)


def test_unknown_answers_are_ignored():
    assert known_flags(["<script>", "pregnancy", "pregnancy"]) == ("pregnancy",)
    assert evaluate(["nonsense"]).flags == ()


def test_a_method_the_table_does_not_know_is_ok():
    assert evaluate(["pregnancy"]).verdict_for("future-method") == "ok"
    assert most_restrictive([]) == "ok"
    assert RULES_BY_KEY["pregnancy"].verdict_for("future-method") == "caution"
