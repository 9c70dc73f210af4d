"""The single exception type of the federation protocol.

Every refusal (malformed JSON, bad signature, replay, rollback...) raises `ProtocolError` with a
short machine `code`, so the Django side can map refusals to HTTP statuses, per-item results and
audit rows without parsing messages, and a human `reason` for logs and the admin UI. Reasons
never contain key material, and quote received data only as short truncated excerpts.

Codes in use (stable: callers and partners may switch on them):

* parsing: ``too_large``, ``invalid_utf8``, ``bad_json``, ``too_deep``, ``too_many_items``,
  ``string_too_long``, ``duplicate_key``, ``non_ascii_key``, ``float_not_allowed``,
  ``unsafe_integer``, ``invalid_string``, ``nul_character``, ``unsupported_type``,
  ``bad_encoding``;
* keys and manifests: ``bad_key``, ``unknown_key``, ``revoked_key``, ``wrong_key_use``,
  ``expired``, ``not_yet_valid``, ``bad_manifest``, ``unpinned_root``, ``rollback``,
  ``manifest_conflict``;
* envelopes: ``bad_envelope``, ``missing_signature``, ``bad_signature``, ``stale_version``,
  ``prev_mismatch``, ``version_gap``, ``conflict``;
* requests: ``missing_header``, ``bad_signature_input``, ``missing_signature``, ``wrong_tag``,
  ``bad_alg``, ``bad_keyid``, ``missing_component``, ``missing_nonce``, ``digest_mismatch``,
  ``bad_url``, ``wrong_authority``, ``not_yet_valid``, ``expired``, ``bad_signature``,
  ``replay``;
* a receiver's own trouble: ``busy`` (stored concurrently), ``internal_error`` (an unexpected
  fault, logged by the receiver), ``rate_limited`` (too many refused unsigned requests from the
  sender's address: answered 429 with Retry-After);
* entitlement: ``not_entitled`` (the origin's signed markings, or the receiver's accreditation,
  forbid it: the sender breached them), ``not_accepted_by_policy`` (the markings allow the
  receiver, its own policy for the sender does not accept it for now).

`RETRYABLE_CODES` are the refusals that may turn out differently if the same item is sent
again later (the receiver may not have the sender's newest keys yet, or had a passing fault). A
receiver never records them as its final answer, and a sender retries them with backoff.
"""

from __future__ import annotations

from typing import Final

RETRYABLE_CODES: Final = frozenset(
    {"unknown_key", "not_yet_valid", "busy", "internal_error", "rate_limited"}
)

NOT_ACCEPTED_BY_POLICY: Final = "not_accepted_by_policy"
"""A final answer for its transaction (it moves the receiver's cursor), but not for the copy:
the sender holds it and sends it again, in a new transaction, until the receiver's policy
accepts it (`federation.services.outbox`)."""


class ProtocolError(Exception):
    """A refusal: something received or requested is outside the protocol."""

    code: str
    reason: str

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(f"{code}: {reason}")
        self.code = code
        self.reason = reason

    def __reduce__(self) -> tuple[type[ProtocolError], tuple[str, str]]:
        # Exceptions pickle their args by default; keep (code, reason) round-tripping.
        return (type(self), (self.code, self.reason))

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, reason={self.reason!r})"
