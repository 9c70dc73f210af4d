"""Loading and validating the JSON files in ``exportcontrol/data`` (internal helpers).

Every reader checks the type of each field it takes, so a malformed data file fails loudly at
import time with :class:`DataError` instead of producing a wrong verdict later.
"""

from __future__ import annotations

import json
import math
from datetime import date
from fractions import Fraction
from importlib.resources import files
from typing import Any


class DataError(ValueError):
    """A bundled data file is missing a field or has a field of the wrong type."""


def load_json(name: str) -> dict[str, Any]:
    """Parse ``exportcontrol/data/<name>`` and return its top-level object."""
    resource = files("exportcontrol").joinpath("data").joinpath(name)
    data = json.loads(resource.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise DataError(f"{name}: top level must be a JSON object")
    return data


def get_obj(obj: dict[str, Any], key: str, where: str) -> dict[str, Any]:
    value = obj.get(key)
    if not isinstance(value, dict):
        raise DataError(f"{where}: {key!r} must be an object")
    return value


def get_list(obj: dict[str, Any], key: str, where: str) -> list[Any]:
    value = obj.get(key)
    if not isinstance(value, list):
        raise DataError(f"{where}: {key!r} must be a list")
    return value


def get_str(obj: dict[str, Any], key: str, where: str) -> str:
    value = obj.get(key)
    if not isinstance(value, str):
        raise DataError(f"{where}: {key!r} must be a string")
    return value


def get_bool(obj: dict[str, Any], key: str, where: str) -> bool:
    value = obj.get(key)
    if not isinstance(value, bool):
        raise DataError(f"{where}: {key!r} must be true or false")
    return value


def get_number(obj: dict[str, Any], key: str, where: str) -> float:
    value = obj.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise DataError(f"{where}: {key!r} must be a finite number")
    return float(value)


def get_opt_number(obj: dict[str, Any], key: str, where: str) -> float | None:
    if key not in obj:
        raise DataError(f"{where}: {key!r} is missing (use null when unknown)")
    if obj[key] is None:
        return None
    return get_number(obj, key, where)


def get_date(obj: dict[str, Any], key: str, where: str) -> date:
    try:
        return date.fromisoformat(get_str(obj, key, where))
    except ValueError as exc:
        raise DataError(f"{where}: {key!r} must be an ISO date (YYYY-MM-DD)") from exc


def get_opt_date(obj: dict[str, Any], key: str, where: str) -> date | None:
    if obj.get(key) is None:
        return None
    return get_date(obj, key, where)


def exact(value: float) -> Fraction:
    """The decimal number a float was written as, as an exact fraction.

    ``repr`` gives the shortest decimal that round-trips, so ``exact(5.92) == Fraction(148, 25)``
    and ``exact(362.05) * 16 == 5792.8`` exactly: threshold comparisons (e.g. TPP = 4,800 or
    PD = 5.92 exactly) are not disturbed by binary floating-point error.
    """
    if isinstance(value, int):
        return Fraction(value)
    return Fraction(repr(float(value)))
