"""The verifier's pure-Python Ed25519 (RFC 8032 §6) agrees with `cryptography` on good and bad signatures."""

from __future__ import annotations

import hashlib

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from tests.support.verifier import load_verifier

verifier = load_verifier()
MESSAGES = [b"", b"x", "{\"heads\":[],\"note\":\"Łódź ø ß\"}".encode(), bytes(range(256)) * 4]


def _keypair(seed: int) -> tuple[Ed25519PrivateKey, bytes]:
    """Return a deterministic private key and its raw public key."""
    private = Ed25519PrivateKey.from_private_bytes(hashlib.sha256(bytes([seed])).digest())
    return private, private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


@pytest.mark.parametrize("message", MESSAGES)
def test_signatures_made_by_cryptography_verify(message: bytes) -> None:
    private, public = _keypair(1)
    assert verifier.ed25519_verify(public, message, private.sign(message))


def test_rfc_8032_test_vector_1_verifies() -> None:
    # RFC 8032 section 7.1, TEST 1 (empty message).
    public = bytes.fromhex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
    signature = bytes.fromhex("e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b")
    assert verifier.ed25519_verify(public, b"", signature)


@pytest.mark.parametrize("message", MESSAGES)
def test_a_changed_message_a_changed_signature_or_another_key_fails_in_both(message: bytes) -> None:
    private, public = _keypair(1)
    _, other_public = _keypair(2)
    signature = private.sign(message)
    flipped = bytes([signature[0] ^ 1]) + signature[1:]
    cases = [(public, message + b"!", signature), (public, message, flipped), (other_public, message, signature),
             (public, message, signature[:32] + bytes(32))]
    for key, text, sig in cases:
        assert verifier.ed25519_verify(key, text, sig) is False
        with pytest.raises(InvalidSignature):
            Ed25519PublicKey.from_public_bytes(key).verify(sig, text)


def test_a_non_canonical_s_and_malformed_lengths_are_refused() -> None:
    private, public = _keypair(3)
    signature = private.sign(b"m")
    s = int.from_bytes(signature[32:], "little") + verifier.Q  # same point, s >= L: RFC 8032 says reject
    malleated = signature[:32] + s.to_bytes(32, "little")
    assert not verifier.ed25519_verify(public, b"m", malleated)
    with pytest.raises(InvalidSignature):
        Ed25519PublicKey.from_public_bytes(public).verify(malleated, b"m")
    assert not verifier.ed25519_verify(public[:31], b"m", signature)
    assert not verifier.ed25519_verify(public, b"m", signature[:63])
