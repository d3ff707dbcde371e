"""The Ed25519 key that signs chain-head statements: parsed from VERIFICATION_SIGNING_KEY, published by id.

The setting is the standard base64 of the key's 32-byte private seed (RFC 8032 §5.1.5); any 32
random bytes are a valid seed. The key id is the hex SHA-256 of the 32-byte raw public key.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from dataclasses import dataclass
from functools import lru_cache

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from flask import current_app

SIGNATURE_ALGORITHM = "Ed25519"
SEED_BYTES = 32


def new_signing_key() -> str:
    """Return a fresh VERIFICATION_SIGNING_KEY value (base64 of 32 random bytes)."""
    return base64.b64encode(os.urandom(SEED_BYTES)).decode()


def parse_signing_key(value: str) -> Ed25519PrivateKey:
    """Return the private key of a VERIFICATION_SIGNING_KEY value (ValueError when it is not 32 base64 bytes)."""
    try:
        seed = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("not base64") from None
    if len(seed) != SEED_BYTES:
        raise ValueError(f"{len(seed)} bytes, not {SEED_BYTES}")
    return Ed25519PrivateKey.from_private_bytes(seed)


@dataclass(frozen=True)
class PublicKey:
    """The published half of the signing key: raw bytes, PEM and its id."""

    raw: bytes
    pem: str

    @property
    def key_id(self) -> str:
        """Return the key id: hex SHA-256 of the raw 32-byte public key."""
        return hashlib.sha256(self.raw).hexdigest()

    @property
    def raw_base64(self) -> str:
        """Return the raw public key as standard base64."""
        return base64.b64encode(self.raw).decode()


@lru_cache(maxsize=4)
def _key(setting: str) -> Ed25519PrivateKey:
    """Parse a VERIFICATION_SIGNING_KEY setting once."""
    return parse_signing_key(setting)


def signing_key() -> Ed25519PrivateKey:
    """Return the app's signing key."""
    return _key(current_app.config["VERIFICATION_SIGNING_KEY"])


def public_key() -> PublicKey:
    """Return the app's public key (what /api/v1/verification/key publishes)."""
    public = signing_key().public_key()
    return PublicKey(public.public_bytes(Encoding.Raw, PublicFormat.Raw),
                     public.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode())


def sign(message: bytes) -> str:
    """Return the standard-base64 Ed25519 signature of ``message``."""
    return base64.b64encode(signing_key().sign(message)).decode()
