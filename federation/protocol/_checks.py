"""Small structural validators shared by the manifest and envelope parsers.

Exact types on purpose: ``True`` is an ``int`` in Python but not a version number, and a
``dict`` subclass from some ORM is not what a partner signed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NoReturn

from .canonical import SAFE_INT_MAX
from .errors import ProtocolError


def fail(code: str, reason: str) -> NoReturn:
    raise ProtocolError(code, reason)


def as_object(value: object, what: str, code: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        fail(code, f"{what} must be a JSON object")
    return value


def exact_fields(
    obj: Mapping[str, Any],
    required: frozenset[str],
    what: str,
    code: str,
    optional: frozenset[str] = frozenset(),
) -> None:
    """Refuse missing fields and unknown fields (an unknown field could carry unsigned meaning)."""
    keys = obj.keys()
    missing = required - keys
    if missing:
        fail(code, f"{what} lacks field(s) {sorted(missing)}")
    extra = keys - required - optional
    if extra:
        shown = sorted(str(k)[:32] for k in extra)[:5]
        fail(code, f"{what} has unknown field(s) {shown}")


def as_int(value: object, what: str, code: str, minimum: int = 0) -> int:
    if type(value) is not int or not minimum <= value <= SAFE_INT_MAX:
        fail(code, f"{what} must be an integer >= {minimum}")
    return value


def as_str(value: object, what: str, code: str, max_len: int = 256) -> str:
    if type(value) is not str or len(value) > max_len:
        fail(code, f"{what} must be a string of at most {max_len} characters")
    return value
