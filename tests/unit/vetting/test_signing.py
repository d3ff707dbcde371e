"""VERIFICATION_SIGNING_KEY: required in production, one per development install, malformed values refused."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from flask import Flask

from directory.config import ConfigError, load_config
from directory.vetting.signing import new_signing_key, public_key, sign

PRODUCTION = {"SECRET_KEY": "s" * 32, "PUBLIC_BASE_URL": "https://meridian.example",
              "REFERRAL_KEYS": base64.urlsafe_b64encode(bytes(32)).decode()}


def test_production_requires_a_signing_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MERIDIAN_ENV", "production")
    with pytest.raises(ConfigError, match="VERIFICATION_SIGNING_KEY must be set in production"):
        load_config({**PRODUCTION, "VERIFICATION_SIGNING_KEY": None})
    key = new_signing_key()
    assert load_config({**PRODUCTION, "VERIFICATION_SIGNING_KEY": key})["VERIFICATION_SIGNING_KEY"] == key


@pytest.mark.parametrize("value", ["hunter2", base64.b64encode(bytes(31)).decode(), "A" * 44 + "!"])
def test_a_malformed_key_is_one_clear_error(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("MERIDIAN_ENV", "production")
    with pytest.raises(ConfigError, match="VERIFICATION_SIGNING_KEY must be the base64 of 32 random bytes"):
        load_config({**PRODUCTION, "VERIFICATION_SIGNING_KEY": value})


def test_development_makes_one_key_per_install_and_keeps_it(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("MERIDIAN_ENV", "development")
    first, again, other = (load_config({"INSTANCE_DIR": tmp_path / d, "VERIFICATION_SIGNING_KEY": None})
                           ["VERIFICATION_SIGNING_KEY"] for d in ("a", "a", "b"))
    assert first == again != other
    assert (tmp_path / "a" / "verification_signing_key").stat().st_mode & 0o077 == 0


def test_the_published_key_and_its_id_verify_what_the_app_signs() -> None:
    app = Flask(__name__)
    app.config["VERIFICATION_SIGNING_KEY"] = new_signing_key()
    with app.app_context():
        key, signature = public_key(), sign(b"heads")
    assert key.key_id == hashlib.sha256(key.raw).hexdigest()
    Ed25519PublicKey.from_public_bytes(base64.b64decode(key.raw_base64)).verify(base64.b64decode(signature), b"heads")
