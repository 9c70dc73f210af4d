"""Strict unpadded base64url, the one binary-to-text encoding of the protocol.

Decoding is strict (alphabet, no padding, canonical trailing bits) so that one signature or key
has exactly one textual form: a second spelling of the same bytes would give a second digest of
the same envelope.
"""

from __future__ import annotations

import base64
import binascii
import re

from .errors import ProtocolError

_B64URL = re.compile(r"[A-Za-z0-9_-]*")


def b64u_encode(data: bytes) -> str:
    """Unpadded base64url (RFC 4648 section 5) of `data`."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64u_decode(text: str, *, code: str = "bad_encoding", what: str = "value") -> bytes:
    """Decode unpadded base64url, refusing padding, other alphabets and non-canonical forms."""
    if type(text) is not str or _B64URL.fullmatch(text) is None or len(text) % 4 == 1:
        raise ProtocolError(code, f"{what} is not unpadded base64url")
    try:
        data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:
        raise ProtocolError(code, f"{what} is not unpadded base64url") from exc
    if b64u_encode(data) != text:
        raise ProtocolError(code, f"{what} is not in canonical base64url form")
    return data
