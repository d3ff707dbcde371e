"""Password hashing (argon2id) and the password rules: long enough, not a common one."""

from __future__ import annotations

from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from zxcvbn.frequency_lists import FREQUENCY_LISTS

MIN_LENGTH = 12
MAX_LENGTH = 256
# NIST SP 800-63B: a minimum length and a blocklist of common passwords, no composition rules.
_hasher = PasswordHasher()


@cache
def _common_passwords() -> frozenset[str]:
    """Return the 30,000 most common passwords (zxcvbn's list, from real leaks)."""
    return frozenset(FREQUENCY_LISTS["passwords"])


def password_problem(password: str) -> str | None:
    """Return why ``password`` is not acceptable, or None when it is."""
    if len(password) < MIN_LENGTH:
        return f"Use at least {MIN_LENGTH} characters; a few words in a row work well."
    if len(password) > MAX_LENGTH:
        return f"Use at most {MAX_LENGTH} characters."
    if password.lower() in _common_passwords() or len(set(password)) < 4:
        return "That password is too common; choose one that is harder to guess."
    return None


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
