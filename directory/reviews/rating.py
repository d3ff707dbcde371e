"""The Bayesian rating that orders `sort=rating`: few reviews are pulled towards a fixed prior.

score = (C * m + sum of ratings) / (C + n), with prior mean m = RATING_PRIOR_MEAN and prior weight
C = RATING_PRIOR_WEIGHT. The prior is fixed configuration, not the live directory-wide mean: a live mean
would change every practitioner's score with each review anywhere, but the outbox re-indexes only the
practitioner whose review changed, so the index would drift; a fixed prior also gives a reproducible sort.
Changing either setting needs `flask search reindex`. See the README, "How ratings are ranked".
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from flask import current_app

from directory.config import ConfigError
from directory.reviews.services import published_ratings

# A round value a little below the mean of published ratings (4.23 in the demo data; patients' ratings of
# clinicians skew high), so a profile with few reviews sits just under a typical practitioner until it has more.
DEFAULT_PRIOR_MEAN = 4.0
# About as many reviews as a reviewed practitioner has (one to six in the demo data): past five reviews a
# practitioner's own ratings outweigh the prior.
DEFAULT_PRIOR_WEIGHT = 5.0
# Digits kept in the search document: enough to order, few enough that every backend stores the same number.
SCORE_DIGITS = 4


@dataclass(frozen=True)
class RatingPrior:
    """The prior a Bayesian average starts from: a mean rating, weighted as so many reviews."""

    mean: float = DEFAULT_PRIOR_MEAN
    weight: float = DEFAULT_PRIOR_WEIGHT


def bayesian_average(average: float | None, count: int, prior: RatingPrior) -> float | None:
    """Return the Bayesian average of ``count`` ratings averaging ``average``; None without ratings."""
    if count <= 0 or average is None:
        return None
    return round((prior.weight * prior.mean + average * count) / (prior.weight + count), SCORE_DIGITS)


def rating_prior() -> RatingPrior:
    """Return the prior this app is configured with."""
    return prior_from_settings(current_app.config)


def prior_from_settings(config: Mapping[str, Any]) -> RatingPrior:
    """Return the prior from RATING_PRIOR_MEAN (1-5) and RATING_PRIOR_WEIGHT (0-1000); refuse other values."""
    mean = _number(config.get("RATING_PRIOR_MEAN", DEFAULT_PRIOR_MEAN), "RATING_PRIOR_MEAN", 1.0, 5.0,
                   "a rating from 1 to 5")
    weight = _number(config.get("RATING_PRIOR_WEIGHT", DEFAULT_PRIOR_WEIGHT), "RATING_PRIOR_WEIGHT", 0.0, 1000.0,
                     "a number of reviews from 0 to 1000")
    return RatingPrior(mean, weight)


def _number(value: object, name: str, low: float, high: float, meaning: str) -> float:
    """Return ``value`` as a float within [low, high], or raise ConfigError naming the setting."""
    try:
        number = float(str(value).strip())
    except ValueError:
        number = math.nan
    if not low <= number <= high:  # also refuses NaN
        raise ConfigError(f"{name} must be {meaning}, not {value!r}")
    return number


def bayesian_ratings(practitioner_ids: Collection[int]) -> dict[int, tuple[float, int, float]]:
    """Return practitioner id -> (average, count, Bayesian average) over published reviews."""
    prior = rating_prior()
    scores = {}
    for pid, (average, count) in published_ratings(practitioner_ids).items():
        score = bayesian_average(average, count, prior)
        if score is not None:
            scores[pid] = (average, count, score)
    return scores
