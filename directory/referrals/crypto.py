"""Patient data sealed at rest: Fernet tokens under REFERRAL_KEYS (newest first), so keys rotate.

MultiFernet encrypts with the first key and decrypts with any, so a new key is put in front,
``flask referrals rotate-keys`` re-encrypts every row with it, and the old key can then go.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from flask import current_app
from sqlalchemy import Text
from sqlalchemy.types import TypeDecorator


def parse_keys(value: str) -> list[Fernet]:
    """Return the Fernet keys of a comma-separated setting, newest first (ValueError when one is malformed)."""
    keys = [part.strip() for part in value.split(",") if part.strip()]
    if not keys:
        raise ValueError("no key given")
    return [Fernet(key) for key in keys]


def _keys() -> list[Fernet]:
    """Return the app's keys, newest first (parsed once per setting, not once per value)."""
    return _parsed(current_app.config["REFERRAL_KEYS"])


@lru_cache(maxsize=8)
def _parsed(setting: str) -> list[Fernet]:
    """Parse a REFERRAL_KEYS setting; cached because every sealed column of every row needs it."""
    return parse_keys(setting)


def seal(text: str) -> str:
    """Encrypt ``text`` with the newest key."""
    return MultiFernet(_keys()).encrypt(text.encode()).decode()


def unseal(token: str) -> str:
    """Decrypt a token sealed with any configured key."""
    try:
        return MultiFernet(_keys()).decrypt(token.encode()).decode()
    except InvalidToken:
        # Never echo the token or the text: the message names the setting to fix.
        raise RuntimeError("a sealed value cannot be decrypted with REFERRAL_KEYS (was its key removed?)") from None


def needs_rotation(token: str) -> bool:
    """Tell whether ``token`` was sealed with a key other than the newest."""
    try:
        _keys()[0].decrypt(token.encode())
    except InvalidToken:
        return True
    return False


def rotate(token: str) -> str:
    """Return ``token`` re-encrypted with the newest key."""
    return MultiFernet(_keys()).rotate(token.encode()).decode()


class SealedText(TypeDecorator[str]):
    """A text column that holds only ciphertext: sealed on the way in, unsealed on the way out."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Any) -> str | None:
        """Seal a value before it is written."""
        return None if value is None else seal(value)

    def process_result_value(self, value: str | None, dialect: Any) -> str | None:
        """Unseal a value after it is read."""
        return None if value is None else unseal(value)
