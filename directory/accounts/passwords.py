"""Password hashing (argon2id) and the password rules: long enough, not a common one."""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from zxcvbn import zxcvbn
from zxcvbn.frequency_lists import FREQUENCY_LISTS

MIN_LENGTH = 12
MAX_LENGTH = 256
# NIST SP 800-63B §5.1.1.2: a minimum length and a blocklist of common, breached and
# predictable passwords, no composition rules. A common password with digits or a year
# added ("password12345") is what cracking tools try first, so the blocklist is applied
# through zxcvbn's matcher: it finds the listed passwords, dictionary words, names,
# sequences, repeats, keyboard walks and dates inside a candidate and estimates how many
# guesses it takes. Below 10^8 guesses (zxcvbn's score 3) the password is refused.
MIN_GUESSES = 10**8
ZXCVBN_MAX_LENGTH = 72  # zxcvbn refuses longer input; past 72 characters only the list and repeats apply
TOO_COMMON = ("That password is too common: it is, or is built from, a password that attackers try first. "
              "Choose a few unrelated words instead.")
_hasher = PasswordHasher()


@cache
def _common_passwords() -> frozenset[str]:
    """Return the 30,000 most common passwords (zxcvbn's list, from real leaks)."""
    return frozenset(FREQUENCY_LISTS["passwords"])


def password_problem(password: str, context: Iterable[str] = ()) -> str | None:
    """Return why ``password`` is not acceptable, or None when it is.

    ``context`` holds words an attacker would try for this account (its email, name).
    """
    if len(password) < MIN_LENGTH:
        return f"Use at least {MIN_LENGTH} characters; a few words in a row work well."
    if len(password) > MAX_LENGTH:
        return f"Use at most {MAX_LENGTH} characters."
    if password.lower() in _common_passwords() or len(set(password)) < 4:
        return TOO_COMMON
    if len(password) <= ZXCVBN_MAX_LENGTH and _guesses(password, context) < MIN_GUESSES:
        return TOO_COMMON
    return None


def _guesses(password: str, context: Iterable[str]) -> float:
    """Return zxcvbn's estimate of the guesses needed, counting the service's name and ``context`` as known."""
    words = ["meridian", "acupuncture", *(part for value in context for part in _words(value))]
    return float(zxcvbn(password, user_inputs=words)["guesses"])


def _words(value: str) -> list[str]:
    """Return the lower-case parts of an email or name ("ada.lovelace@example.org" gives ada, lovelace...)."""
    return [part for part in re.split(r"[^a-z0-9]+", value.lower()) if len(part) > 2]


def hash_password(password: str) -> str:
    """Return the argon2id hash of ``password``."""
    return _hasher.hash(password)


def verify_password(stored_hash: str, password: str) -> bool:
    """Tell whether ``password`` matches ``stored_hash`` (never raises for a bad hash)."""
    try:
        return _hasher.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    """Tell whether the hash was made with weaker parameters than today's."""
    try:
        return _hasher.check_needs_rehash(stored_hash)
    except InvalidHashError:
        return True


def dummy_verify() -> None:
    """Spend the time of one verification, so unknown emails answer as slowly as known ones."""
    verify_password(_dummy_hash(), "not the password")


@cache
def _dummy_hash() -> str:
    """Return a hash to verify against when there is no user."""
    return _hasher.hash("dummy password for timing")
