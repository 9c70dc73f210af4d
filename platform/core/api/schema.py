"""The OpenAPI document says what the analyst API really answers.

Every operation lists the errors it can give in the API's one error shape (core.api.errors):
401 and 403 everywhere, 400 where there is a body or a query, 404 where the path names an
object, 413 and 415 where there is a body. Request strings say what the fields refuse: DRF
refuses U+0000 in every string and, unless a field allows blanks, a value that is empty once
surrounding whitespace is trimmed; the patterns below say so, so a client (or a generator of
test requests) knows a blank title is invalid before sending it.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import ResolvedComponent
from rest_framework import serializers

NO_NUL = r"^[^\x00]*$"
NOT_BLANK = r"^[^\x00]*[^\s\x00][^\x00]*$"

ERROR = {
    "type": "object",
    "properties": {"detail": {"type": "string"}},
    "required": ["detail"],
}
FIELD_ERRORS = {
    "type": "object",
    "description": 'Messages by dotted field path, e.g. {"details.items.0.quantity": [...]}',
    "additionalProperties": {"type": "array", "items": {"type": "string"}},
}
COMPONENTS = {"Error": ERROR, "FieldErrors": FIELD_ERRORS}

BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


def _string_pattern(field: serializers.Field[Any, Any, Any, Any]) -> str | None:
    if isinstance(field, serializers.ChoiceField | serializers.RegexField):
        return None  # an enum or a pattern of its own already excludes what DRF refuses
    if not isinstance(field, serializers.CharField):
        return None
    if field.allow_blank:
        return NO_NUL
    return NOT_BLANK if field.trim_whitespace else NO_NUL


class ApiAutoSchema(AutoSchema):
    def _map_serializer_field(
        self, field: Any, direction: Any, bypass_extensions: bool = False
    ) -> dict[str, Any]:
        schema: dict[str, Any] = super()._map_serializer_field(field, direction, bypass_extensions)
        if direction == "request" and schema.get("type") == "string":
            pattern = _string_pattern(field)
            if pattern and not {"pattern", "format", "enum"} & set(schema):
                schema["pattern"] = pattern
        return schema

    def _map_basic_serializer(self, serializer: Any, direction: Any) -> dict[str, Any]:
        """What a request serializer refuses beyond its fields' own types: unknown fields
        (`refuses_unknown_fields`) and rules between fields (`request_schema_extra`: a dict, or
        a method returning one, merged into its schema), e.g. a reason when closing a case."""
        schema: dict[str, Any] = super()._map_basic_serializer(serializer, direction)
        if direction != "request":
            return schema
        if getattr(serializer, "refuses_unknown_fields", False):
            schema["additionalProperties"] = False
        extra = getattr(serializer, "request_schema_extra", None)
        if extra:
            schema.update(extra() if callable(extra) else extra)
        return schema

    def _error_ref(self, name: str) -> dict[str, str]:
        component = ResolvedComponent(
            name=name, type=ResolvedComponent.SCHEMA, object=name, schema=COMPONENTS[name]
        )
        self.registry.register_on_missing(component)
        return dict(component.ref)

    def _answer(self, description: str, schema: dict[str, Any]) -> dict[str, Any]:
        return {"description": description, "content": {"application/json": {"schema": schema}}}

    def _has_query(self) -> bool:
        return any(p.get("in") == "query" for p in self._get_parameters())

    def _errors(self) -> dict[str, dict[str, Any]]:
        error = self._error_ref("Error")
        errors = {
            "401": self._answer("not signed in, or a bad token", error),
            "403": self._answer("your role or clearance does not allow this", error),
        }
        if self.method in BODY_METHODS or self._has_query():
            errors["400"] = self._answer(
                "invalid request: the fields at fault, or why the body was not read",
                {"anyOf": [self._error_ref("FieldErrors"), error]},
            )
        if "{" in self.path or self._is_paginated():
            errors["404"] = self._answer(
                "no such object (or none you may see), or no such page", error
            )
        if self.method in BODY_METHODS:
            errors["413"] = self._answer("the body is larger than this node accepts", error)
            errors["415"] = self._answer("the body is not application/json", error)
        return errors

    def _is_paginated(self) -> bool:
        return self.method == "GET" and getattr(self.view, "pagination_class", None) is not None

    def _get_response_bodies(self, direction: Any = "response") -> dict[str, Any]:
        responses: dict[str, Any] = super()._get_response_bodies(direction)
        for code, answer in self._errors().items():
            responses.setdefault(code, answer)
        return responses


class ConflictSerializer(serializers.Serializer[dict[str, Any]]):
    """409: the version a write named is not the current one."""

    detail = serializers.CharField()
    current_version = serializers.IntegerField()
