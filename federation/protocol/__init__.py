"""The signing core of the federation: plain Python, no Django import (so it can be unit
tested, benchmarked and reused by workers and tools without settings).

Modules: `errors` (ProtocolError), `canonical` (RFC 8785 profile + strict parser), `keys`
(Ed25519 node keys), `manifest` (signed key manifests), `envelope` (signed report envelopes),
`httpsig` (RFC 9421 request signatures), `bench_support` (crypto round-trip rate).
"""

from .errors import ProtocolError

__all__ = ["ProtocolError"]
