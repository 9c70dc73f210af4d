"""Canonical JSON equals RFC 8785 inside the profile; the strict parser refuses the rest."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from federation.protocol.canonical import (
    DEFAULT_LIMITS,
    SAFE_INT_MAX,
    Limits,
    canonical_bytes,
    sha256_digest,
    strict_loads,
)
from federation.protocol.errors import ProtocolError

ascii_keys = st.text(alphabet=st.characters(min_codepoint=1, max_codepoint=0x7F), max_size=8)
safe_ints = st.integers(min_value=-SAFE_INT_MAX, max_value=SAFE_INT_MAX)
# Any code point except lone surrogates and U+0000 (both outside the profile): controls,
# quotes, backslashes, U+2028, non-BMP...
unicode_text = st.text(
    alphabet=st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), max_size=24
)
leaves = st.none() | st.booleans() | safe_ints | unicode_text
profile_values = st.recursive(
    leaves,
    lambda children: (
        st.lists(children, max_size=6) | st.dictionaries(ascii_keys, children, max_size=6)
    ),
    max_leaves=40,
)
DEEP_OK = Limits(max_depth=1000)


def refusal(raw: bytes, limits: Limits = DEFAULT_LIMITS) -> str:
    with pytest.raises(ProtocolError) as info:
        strict_loads(raw, limits)
    return info.value.code


# --- canonical encoding ---------------------------------------------------------------------


@settings(max_examples=400, deadline=None)
@given(profile_values)
def test_canonical_bytes_equal_rfc8785_inside_the_profile(value: Any) -> None:
    assert canonical_bytes(value) == rfc8785.dumps(value)


@settings(max_examples=200, deadline=None)
@given(profile_values)
def test_strict_loads_reads_back_what_canonical_bytes_wrote(value: Any) -> None:
    assert strict_loads(canonical_bytes(value), DEEP_OK) == value


@settings(max_examples=200, deadline=None)
@given(profile_values)
def test_any_spelling_of_a_profile_object_has_the_same_canonical_bytes(value: Any) -> None:
    # A partner may send pretty-printed, \\u-escaped JSON; what is signed is the canonical form.
    loose = json.dumps(value, indent=2, ensure_ascii=True).encode("ascii")
    assert canonical_bytes(strict_loads(loose, DEEP_OK)) == rfc8785.dumps(value)


def test_canonical_bytes_sort_keys_and_keep_utf8() -> None:
    assert canonical_bytes({"b": [True, None], "a": "Zoë 海", "c": -5}) == (
        '{"a":"Zoë 海","b":[true,null],"c":-5}'.encode()
    )


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ({"a": 1.0}, "float_not_allowed"),
        ({"a": float("nan")}, "float_not_allowed"),
        ([float("inf")], "float_not_allowed"),
        ({"a": 2**53}, "unsafe_integer"),
        ({"a": [-(2**53)]}, "unsafe_integer"),
        ({"é": 1}, "non_ascii_key"),
        ({1: "a"}, "unsupported_type"),
        ({"a": b"bytes"}, "unsupported_type"),
        ({"a": {1, 2}}, "unsupported_type"),
        ({"a": "\ud800"}, "invalid_string"),
    ],
)
def test_canonical_bytes_refuse_values_outside_the_profile(value: Any, code: str) -> None:
    with pytest.raises(ProtocolError) as info:
        canonical_bytes(value)
    assert info.value.code == code


def test_booleans_are_not_integers_and_safe_bounds_are_accepted() -> None:
    assert canonical_bytes([True, SAFE_INT_MAX, -SAFE_INT_MAX]) == (
        b"[true,9007199254740991,-9007199254740991]"
    )


def test_sha256_digest_is_over_canonical_bytes() -> None:
    expected = base64.urlsafe_b64encode(hashlib.sha256(b'{"a":1,"b":2}').digest())
    assert sha256_digest({"b": 2, "a": 1}) == "sha256:" + expected.rstrip(b"=").decode()
    assert sha256_digest({"a": 1, "b": 2}) != sha256_digest({"a": 1, "b": 3})


# --- strict parser: refusals ----------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [b'{"a":1,"a":2}', b'{"m":{"c":"SECRET","c":"OFFICIAL"}}', b'[{"x":1,"y":2,"x":1}]'],
)
def test_duplicate_keys_are_refused(raw: bytes) -> None:
    assert refusal(raw) == "duplicate_key"


@pytest.mark.parametrize(
    "raw", [b'{"a":1.5}', b'{"a":1.0}', b"[1e5]", b"[1E5]", b"[-0.0]", b"[1e-7]", b"[2E+3]"]
)
def test_floats_and_exponent_numbers_are_refused(raw: bytes) -> None:
    assert refusal(raw) == "float_not_allowed"


@pytest.mark.parametrize("raw", [b'{"a":NaN}', b"[Infinity]", b"[-Infinity]"])
def test_nan_and_infinity_are_refused(raw: bytes) -> None:
    assert refusal(raw) == "float_not_allowed"


@pytest.mark.parametrize("raw", ['{"é":1}'.encode(), b'{"\\u00e9":1}', '{"a":{"海":1}}'.encode()])
def test_non_ascii_keys_are_refused_even_when_escaped(raw: bytes) -> None:
    assert refusal(raw) == "non_ascii_key"


@pytest.mark.parametrize(
    "raw",
    [
        b'{"a":9007199254740992}',
        b"[-9007199254740992]",
        b"[100000000000000000000000000000]",
        b"[" + b"7" * 5000 + b"]",
    ],
)
def test_integers_outside_the_safe_range_are_refused(raw: bytes) -> None:
    assert refusal(raw) == "unsafe_integer"


def test_safe_integer_bounds_and_long_digit_strings_are_accepted() -> None:
    assert strict_loads(b"[9007199254740991,-9007199254740991]") == [SAFE_INT_MAX, -SAFE_INT_MAX]
    assert strict_loads(b'{"iban":"12345678901234567890"}') == {"iban": "12345678901234567890"}


@pytest.mark.parametrize(
    "raw", [b"[" * 100_000, b'{"a":' * 100_000, b"[" * 100_000 + b"]" * 100_000]
)
def test_deep_nesting_is_refused_without_recursion_error(raw: bytes) -> None:
    assert refusal(raw) == "too_deep"


def test_depth_limit_is_exact() -> None:
    assert strict_loads(b"[" * 32 + b"]" * 32) is not None
    assert refusal(b"[" * 33 + b"]" * 33) == "too_deep"


def test_brackets_inside_strings_do_not_count_as_nesting() -> None:
    raw = b'["' + b"[{" * 100 + b'", "\\"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\\\\", 1]'
    assert strict_loads(raw)[2] == 1


def test_oversized_body_is_refused_before_decoding() -> None:
    assert refusal(b"[" + b" " * 100 + b"]", Limits(max_bytes=100)) == "too_large"
    too_big = b'["' + b"x" * DEFAULT_LIMITS.max_bytes + b'"]'
    assert refusal(too_big) == "too_large"


def test_too_many_items_are_refused() -> None:
    assert refusal(b"[" + b"0," * 10 + b"0]", Limits(max_items=10)) == "too_many_items"
    flat = b"[" + b"0," * DEFAULT_LIMITS.max_items + b"0]"
    assert refusal(flat) == "too_many_items"
    assert len(strict_loads(b"[" + b"0," * 9 + b"0]", Limits(max_items=10))) == 10


def test_long_strings_are_refused_by_decoded_length() -> None:
    limits = Limits(max_string=10)
    assert refusal(b'["' + b"x" * 11 + b'"]', limits) == "string_too_long"
    assert refusal(b'{"' + b"k" * 11 + b'":1}', limits) == "string_too_long"
    # 20 raw characters, 10 decoded: within the limit.
    assert strict_loads(b'["' + b"\\n" * 10 + b'"]', limits) == ["\n" * 10]


def test_invalid_utf8_is_refused() -> None:
    assert refusal(b'["\xff"]') == "invalid_utf8"
    assert refusal(b'["\xed\xa0\x80"]') == "invalid_utf8"  # UTF-8-encoded surrogate


def test_lone_surrogate_escapes_are_refused_but_pairs_accepted() -> None:
    assert refusal(b'["\\ud800"]') == "invalid_string"
    assert refusal(b'{"a":"x\\udfff"}') == "invalid_string"
    assert strict_loads(b'["\\ud83d\\ude00"]') == ["\U0001f600"]


@pytest.mark.parametrize("raw", [b"", b"[1,]", b'{"a":1} x', b"\xef\xbb\xbf[1]", b"[01]"])
def test_malformed_json_is_refused(raw: bytes) -> None:
    assert refusal(raw) == "bad_json"


def test_str_input_is_a_programming_error() -> None:
    with pytest.raises(TypeError):
        strict_loads("[1]")  # type: ignore[arg-type]


def test_bytearray_and_memoryview_are_accepted() -> None:
    assert strict_loads(bytearray(b'{"a":[1]}')) == {"a": [1]}
    assert strict_loads(memoryview(b'{"a":[1]}')) == {"a": [1]}
