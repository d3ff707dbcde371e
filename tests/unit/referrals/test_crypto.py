"""Sealing patient data: Fernet tokens under REFERRAL_KEYS, newest key first, and the setting's fail-fast rules."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from flask import Flask

from directory.config import ConfigError, load_config
from directory.referrals import crypto

OLD, NEW = Fernet.generate_key().decode(), Fernet.generate_key().decode()


@pytest.fixture
def keyed() -> Iterator[Flask]:
    """Return a bare app whose REFERRAL_KEYS the test may change, its context pushed."""
    app = Flask(__name__)
    app.config["REFERRAL_KEYS"] = OLD
    with app.app_context():
        yield app


def test_seal_hides_the_text_and_unseal_gives_it_back(keyed: Flask) -> None:
    token = crypto.seal("Ada Lovelace, +1 617 555 0100")
    # Fragments long enough that the random base64 cannot hold them by chance ("555" did: 1 run in ~2,000), and
    # the sealed bytes themselves, which never carry the text.
    assert "Lovelace" not in token and "6175550100" not in token
    assert b"Lovelace" not in base64.urlsafe_b64decode(token) and b"617 555" not in base64.urlsafe_b64decode(token)
    assert crypto.unseal(token) == "Ada Lovelace, +1 617 555 0100"
    assert crypto.seal("same") != crypto.seal("same")  # a fresh IV each time: equal names do not show


def test_a_new_key_in_front_still_reads_old_tokens_and_rotation_moves_them(keyed: Flask) -> None:
    token = crypto.seal("Ada")
    keyed.config["REFERRAL_KEYS"] = f"{NEW}, {OLD}"
    assert crypto.unseal(token) == "Ada" and crypto.needs_rotation(token)
    rotated = crypto.rotate(token)
    assert not crypto.needs_rotation(rotated)
    keyed.config["REFERRAL_KEYS"] = NEW
    assert crypto.unseal(rotated) == "Ada"


def test_a_token_no_key_opens_fails_without_echoing_it(keyed: Flask) -> None:
    token = crypto.seal("Ada")
    keyed.config["REFERRAL_KEYS"] = NEW
    with pytest.raises(RuntimeError, match="REFERRAL_KEYS") as failed:
        crypto.unseal(token)
    assert token not in str(failed.value)


@pytest.mark.parametrize("value", ["", " , ", "not-a-key", f"{NEW},short"])
def test_malformed_keys_are_refused(value: str) -> None:
    with pytest.raises(ValueError):
        crypto.parse_keys(value)


def test_production_requires_referral_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MERIDIAN_ENV", "production")
    base = {"SECRET_KEY": "s" * 32, "PUBLIC_BASE_URL": "https://meridian.example",
            "VERIFICATION_SIGNING_KEY": base64.b64encode(bytes(32)).decode()}
    with pytest.raises(ConfigError, match="REFERRAL_KEYS must be set in production"):
        load_config({**base, "REFERRAL_KEYS": None})
    with pytest.raises(ConfigError, match="REFERRAL_KEYS must be comma-separated Fernet keys"):
        load_config({**base, "REFERRAL_KEYS": "hunter2"})
    assert load_config({**base, "REFERRAL_KEYS": f"{NEW},{OLD}"})["REFERRAL_KEYS"] == f"{NEW},{OLD}"


def test_development_makes_one_key_per_install_and_keeps_it(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("MERIDIAN_ENV", "development")
    first = load_config({"INSTANCE_DIR": tmp_path / "a", "REFERRAL_KEYS": None})["REFERRAL_KEYS"]
    again = load_config({"INSTANCE_DIR": tmp_path / "a", "REFERRAL_KEYS": None})["REFERRAL_KEYS"]
    other = load_config({"INSTANCE_DIR": tmp_path / "b", "REFERRAL_KEYS": None})["REFERRAL_KEYS"]
    assert first == again != other
    crypto.parse_keys(first)
    assert (tmp_path / "a" / "referral_key").stat().st_mode & 0o777 == 0o600
