"""Query parameters a list endpoint does not know are refused (400), never silently ignored:
`?serach=` returning every row looks like an answer and is not one. So are a blank value
(`?origin=` meant no filter to DRF, which hid a typo the same way) and a parameter given
twice (DRF kept the last)."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

# Parameters every paginated list accepts besides its own filters (checked by the paginator).
PAGING = frozenset({"page", "format"})


class StrictQuerySerializer(serializers.Serializer[dict[str, Any]]):
    """A filter serializer that refuses unknown, blank and repeated query parameters, naming
    them."""

    def to_internal_value(self, data: Any) -> Any:
        unknown = sorted(set(data) - set(self.fields) - PAGING)
        if unknown:
            known = ", ".join(sorted(self.fields))
            raise serializers.ValidationError(
                {name: [f"unknown filter; this list accepts {known}"] for name in unknown}
            )
        errors: dict[str, list[str]] = {}
        for name, field in self.fields.items():
            values = data.getlist(name) if hasattr(data, "getlist") else [data.get(name)]
            if len(values) > 1:
                errors[name] = ["give this parameter once"]
            elif values and values[0] == "" and not getattr(field, "allow_blank", False):
                errors[name] = ["This field may not be blank."]
        if errors:
            raise serializers.ValidationError(errors)
        return super().to_internal_value(data)


def _json_type_of(
    field: serializers.Field[Any, Any, Any, Any],
) -> tuple[str, tuple[type, ...]] | None:
    """The JSON type a field's value must have, or None when DRF's own check is enough."""
    if isinstance(field, serializers.BooleanField):
        return "boolean", (bool,)
    if isinstance(field, serializers.IntegerField):
        return "integer", (int,)
    if isinstance(field, serializers.FloatField | serializers.DecimalField):
        return "number", (int, float)
    if isinstance(
        field,
        serializers.CharField
        | serializers.ChoiceField
        | serializers.DateField
        | serializers.DateTimeField
        | serializers.UUIDField,
    ):
        return "string", (str,)
    return None


def json_type_errors(fields: Any, data: Any, prefix: str = "") -> dict[str, list[str]]:
    """Values whose JSON type is not their field's, by dotted path. DRF coerces (`"5"` is 5,
    `1` is True, `5` is "5", an integer is a UUID); a JSON API should take only what its
    document says, so a client's type mistake is an error, not a silent conversion."""
    errors: dict[str, list[str]] = {}
    if not isinstance(data, dict):
        return errors
    for name, field in fields.items():
        if name not in data or field.read_only:
            continue
        errors |= _value_errors(field, data[name], f"{prefix}{name}")
    return errors


def _value_errors(field: Any, value: Any, path: str) -> dict[str, list[str]]:
    if value is None:
        return {}  # allow_null is DRF's to check
    if isinstance(field, serializers.ListSerializer | serializers.ListField):
        if not isinstance(value, list):
            return {}
        errors: dict[str, list[str]] = {}
        for index, item in enumerate(value):
            errors |= _value_errors(field.child, item, f"{path}.{index}")
        return errors
    if isinstance(field, serializers.DictField):
        if not isinstance(value, dict):
            return {}
        errors = {}
        for key, item in value.items():
            errors |= _value_errors(field.child, item, f"{path}.{key}")
        return errors
    if isinstance(field, serializers.Serializer):
        return json_type_errors(field.fields, value, f"{path}.")
    expected = _json_type_of(field)
    if expected is None:
        return {}
    name, types = expected
    if (isinstance(value, bool) and bool not in types) or not isinstance(value, types):
        return {path: [f"expected a JSON {name}"]}
    return {}


class JsonTypesMixin:
    """Refuses values of the wrong JSON type (see json_type_errors) before DRF converts them."""

    fields: Any

    def to_internal_value(self, data: Any) -> Any:
        errors = json_type_errors(self.fields, data)
        if errors:
            raise serializers.ValidationError(errors)
        return super().to_internal_value(data)  # type: ignore[misc]
