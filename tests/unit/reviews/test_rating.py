"""The Bayesian average behind sort=rating: the formula, the README's worked example, the settings."""

from __future__ import annotations

from typing import Any

import pytest
from cryptography.fernet import Fernet
from flask import Flask

from directory.config import ConfigError, load_config
from directory.reviews.rating import (
    DEFAULT_PRIOR_MEAN,
    DEFAULT_PRIOR_WEIGHT,
    RatingPrior,
    bayesian_average,
    rating_prior,
)

DEFAULT = RatingPrior()


def test_the_formula_is_prior_weighted_mean() -> None:
    # (C*m + sum) / (C + n) with m = 3, C = 2, and three ratings summing to 15.
    assert bayesian_average(5.0, 3, RatingPrior(mean=3.0, weight=2.0)) == pytest.approx((2 * 3 + 15) / 5)


def test_no_reviews_has_no_score() -> None:
    assert bayesian_average(None, 0, DEFAULT) is None
    assert bayesian_average(4.0, 0, DEFAULT) is None


def test_a_weightless_prior_is_the_plain_average() -> None:
    assert bayesian_average(4.25, 8, RatingPrior(mean=1.0, weight=0.0)) == 4.25


def test_many_reviews_approach_their_own_average() -> None:
    assert bayesian_average(4.8, 10_000, DEFAULT) == pytest.approx(4.8, abs=0.001)


def test_the_readme_example_with_the_defaults() -> None:
    assert (DEFAULT_PRIOR_MEAN, DEFAULT_PRIOR_WEIGHT) == (4.0, 5.0)
    one_five_star = bayesian_average(5.0, 1, DEFAULT)
    six_at_4_7 = bayesian_average(4.7, 6, DEFAULT)
    forty_at_4_5 = bayesian_average(4.5, 40, DEFAULT)
    assert (one_five_star, six_at_4_7, forty_at_4_5) == (4.1667, 4.3818, 4.4444)
    assert forty_at_4_5 > six_at_4_7 > one_five_star


def test_scores_are_rounded_so_every_backend_stores_the_same_number() -> None:
    assert bayesian_average(4.0 + 1e-12, 3, DEFAULT) == 4.0


@pytest.mark.parametrize(("settings", "expected"), [
    ({}, RatingPrior(4.0, 5.0)),
    ({"RATING_PRIOR_MEAN": "3.5", "RATING_PRIOR_WEIGHT": "10"}, RatingPrior(3.5, 10.0)),
    ({"RATING_PRIOR_MEAN": 5, "RATING_PRIOR_WEIGHT": 0}, RatingPrior(5.0, 0.0)),
])
def test_the_prior_comes_from_configuration(app: Flask, settings: dict[str, Any], expected: RatingPrior,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    for key in ("RATING_PRIOR_MEAN", "RATING_PRIOR_WEIGHT"):
        monkeypatch.delitem(app.config, key, raising=False)
    for key, value in settings.items():
        monkeypatch.setitem(app.config, key, value)
    with app.app_context():
        assert rating_prior() == expected


@pytest.mark.parametrize(("key", "value", "message"), [
    ("RATING_PRIOR_MEAN", "0.5", "RATING_PRIOR_MEAN must be a rating from 1 to 5, not '0.5'"),
    ("RATING_PRIOR_MEAN", "six", "RATING_PRIOR_MEAN must be a rating from 1 to 5, not 'six'"),
    ("RATING_PRIOR_MEAN", "nan", "RATING_PRIOR_MEAN must be a rating from 1 to 5, not 'nan'"),
    ("RATING_PRIOR_WEIGHT", "-1", "RATING_PRIOR_WEIGHT must be a number of reviews from 0 to 1000, not '-1'"),
    ("RATING_PRIOR_WEIGHT", "inf", "RATING_PRIOR_WEIGHT must be a number of reviews from 0 to 1000, not 'inf'"),
])
def test_a_malformed_prior_is_refused_by_name(app: Flask, key: str, value: str, message: str,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(app.config, key, value)
    with app.app_context(), pytest.raises(ConfigError) as refused:
        rating_prior()
    assert refused.value.message == message


def test_the_settings_are_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RATING_PRIOR_MEAN", "3.75")
    monkeypatch.setenv("RATING_PRIOR_WEIGHT", "8")
    settings = load_config({"SECRET_KEY": "s" * 32, "REFERRAL_KEYS": Fernet.generate_key().decode()})
    assert (settings["RATING_PRIOR_MEAN"], settings["RATING_PRIOR_WEIGHT"]) == ("3.75", "8")


def test_a_malformed_prior_in_the_environment_stops_start_up(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RATING_PRIOR_WEIGHT", "lots")
    with pytest.raises(ConfigError) as refused:
        load_config({"SECRET_KEY": "s" * 32, "REFERRAL_KEYS": Fernet.generate_key().decode()})
    assert refused.value.message == "RATING_PRIOR_WEIGHT must be a number of reviews from 0 to 1000, not 'lots'"
