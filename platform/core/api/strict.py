"""Query parameters a list endpoint does not know are refused (400), never silently ignored:
`?serach=` returning every row looks like an answer and is not one."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

# Parameters every paginated list accepts besides its own filters.
PAGING = frozenset({"page", "format"})


class StrictQuerySerializer(serializers.Serializer[dict[str, Any]]):
    """A filter serializer that refuses unknown query parameters, naming them."""

    def to_internal_value(self, data: Any) -> Any:
        unknown = sorted(set(data) - set(self.fields) - PAGING)
        if unknown:
            known = ", ".join(sorted(self.fields))
            raise serializers.ValidationError(
                {name: [f"unknown filter; this list accepts {known}"] for name in unknown}
            )
        return super().to_internal_value(data)
