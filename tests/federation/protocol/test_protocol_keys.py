"""Node keys: derived kids, fingerprints, storage round trips, and no leaks of private material."""

from __future__ import annotations

import copy
import hashlib
import pickle
import re

import pytest

from federation.protocol.errors import ProtocolError
from federation.protocol.keys import (
    NodeKey,
    PublicKey,
    derive_kid,
    format_fingerprint,
    generate,
    normalize_fingerprint,
)


def test_generated_key_has_a_kid_derived_from_its_fingerprint() -> None:
    key = generate("us", "report")
    fp = hashlib.sha256(key.public.raw).hexdigest()
    assert key.kid == f"ed25519:us-report-{fp[:8]}"
    assert key.public.fingerprint == fp
    assert key.public.node == "us"
    assert len(key.public.raw) == 32


def test_two_keys_never_share_a_kid() -> None:
    assert generate("us", "report").kid != generate("us", "report").kid


@pytest.mark.parametrize(("node", "use"), [("USA", "report"), ("u", "report"), ("us", "signing")])
def test_bad_node_or_use_is_refused(node: str, use: str) -> None:
    with pytest.raises(ProtocolError):
        generate(node, use)


def test_signature_verifies_only_for_the_signed_message() -> None:
    key = generate("uk", "request")
    sig = key.sign(b"hello")
    assert key.public.verify(sig, b"hello")
    assert not key.public.verify(sig, b"hellO")
    assert not key.public.verify(sig[:-1], b"hello")
    assert not generate("uk", "request").public.verify(sig, b"hello")


def test_human_fingerprint_is_grouped_by_four_and_normalises_back() -> None:
    key = generate("jp", "root")
    human = key.public.human_fingerprint
    assert re.fullmatch(r"([0-9a-f]{4} ){15}[0-9a-f]{4}", human)
    assert normalize_fingerprint(human.upper()) == key.public.fingerprint
    assert format_fingerprint(key.public.fingerprint) == human
    with pytest.raises(ProtocolError):
        normalize_fingerprint("abcd")


def test_pem_round_trip_keeps_the_key_and_can_be_encrypted() -> None:
    key = generate("au", "report")
    plain = key.to_pem()
    assert plain.startswith(b"-----BEGIN PRIVATE KEY-----")
    assert NodeKey.from_pem(plain, "au", "report").kid == key.kid
    encrypted = key.to_pem(password=b"correct horse")
    assert b"ENCRYPTED" in encrypted
    restored = NodeKey.from_pem(encrypted, "au", "report", password=b"correct horse")
    assert restored.public.verify(restored.sign(b"m"), b"m")
    assert restored.kid == key.kid
    with pytest.raises(ProtocolError) as info:
        NodeKey.from_pem(encrypted, "au", "report", password=b"wrong")
    assert info.value.code == "bad_key"


def test_raw_private_bytes_round_trip() -> None:
    key = generate("nz", "request")
    assert NodeKey.from_private_bytes(key.private_bytes_raw(), "nz", "request").kid == key.kid


def test_repr_and_str_never_show_private_material() -> None:
    key = generate("eu", "report")
    seed = key.private_bytes_raw()
    pem = key.to_pem().decode()
    for text in (repr(key), str(key), repr(key.public), f"{key}"):
        assert seed.hex() not in text
        assert pem.splitlines()[1] not in text
    assert key.kid in repr(key)


def test_node_key_cannot_be_pickled_by_accident() -> None:
    key = generate("eu", "report")
    with pytest.raises(TypeError):
        pickle.dumps(key)
    assert copy.deepcopy(key) is key


def test_public_key_validation() -> None:
    key = generate("ca", "report")
    assert PublicKey.from_b64(key.kid, "report", key.public.b64) == key.public
    with pytest.raises(ProtocolError):
        PublicKey(key.kid, "report", b"\x00" * 31)
    with pytest.raises(ProtocolError):
        PublicKey.from_b64(key.kid, "report", key.public.b64 + "=")
    with pytest.raises(ProtocolError):
        PublicKey("not-a-kid", "report", key.public.raw)
    other = derive_kid("ca", "report", generate("ca", "report").public.raw)
    assert not PublicKey(other, "report", key.public.raw).kid_matches_key()
    assert key.public.kid_matches_key()
