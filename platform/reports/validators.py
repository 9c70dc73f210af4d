"""Field validators shared by every way a report comes in (analyst API, web editor, federation
inbox): one rule, one message."""

from __future__ import annotations

from datetime import date

from django.core.exceptions import ValidationError

EARLIEST_EVENT = date(1900, 1, 1)
LATEST_EVENT = date(2100, 12, 31)


def validate_event_date(value: date | None) -> None:
    """Event dates lie between 1900-01-01 and 2100-12-31: a date like 0001-01-01 or 9999-12-31
    is a typing or export error, and nothing downstream should have to draw it."""
    if value is not None and not EARLIEST_EVENT <= value <= LATEST_EVENT:
        raise ValidationError(
            f"event dates lie between {EARLIEST_EVENT.isoformat()} and "
            f"{LATEST_EVENT.isoformat()}; {value.isoformat()} is outside",
            code="event_date_range",
        )
