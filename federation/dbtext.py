"""Text from outside (a partner's identifiers and reasons) as PostgreSQL can store it: text and
JSONB columns refuse U+0000 (psycopg raises DataError), and UTF-8 has no lone surrogates."""

from __future__ import annotations


def clean_text(value: object, limit: int | None = None) -> str:
    """`value` as text a PostgreSQL text or JSONB column can hold (U+0000 and lone surrogates
    replaced by U+FFFD), cut to `limit` characters."""
    text = value if isinstance(value, str) else str(value)
    text = text[:limit] if limit is not None else text
    if "\x00" in text:
        text = text.replace("\x00", "\ufffd")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = "".join("\ufffd" if "\ud800" <= ch <= "\udfff" else ch for ch in text)
    return text
