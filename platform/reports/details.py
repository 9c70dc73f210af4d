"""Structured details per report category, validated the same way on the API, in the
services and on receipt from partners.

The serializers are built from the categories' description (`reports.categories`), one class
per category and per group of fields, so the details the API takes are the ones the report
editor offers. Numbers that can exceed 2^53 (training compute in FLOP) travel as decimal
strings, because the federation's canonical JSON allows integers only up to 2^53 - 1 and no
floats.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache
from typing import Any, cast

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from exportcontrol.countries import COUNTRY_CODES

from .categories import CATEGORIES, CategoryDetails, Detail, Group, Kind

COUNTRY_PATTERN = re.compile(r"^[A-Z]{2}$")


# The document lists the codes the field takes (lower case is accepted and upper-cased too).
@extend_schema_field({"type": "string", "enum": list(COUNTRY_CODES)})
class CountryField(serializers.CharField):
    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 2)
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> str:
        value = super().to_internal_value(data).upper()
        if not COUNTRY_PATTERN.match(value):
            raise serializers.ValidationError("expected an ISO 3166 alpha-2 country code, e.g. SG")
        from exportcontrol.countries import is_valid_country

        if not is_valid_country(value):
            raise serializers.ValidationError(f"{value} is not an ISO 3166 alpha-2 country code")
        return value


class Strict(serializers.Serializer[dict[str, Any]]):
    """Refuse fields the schema does not know, so typos are not silently dropped."""

    refuses_unknown_fields = True  # the OpenAPI document says so (additionalProperties: false)

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError(
                    {name: ["unknown field for this category"] for name in unknown}
                )
        return super().to_internal_value(data)


def _validate_method(check: Callable[[str], str]) -> Callable[[Any, str | None], str | None]:
    """A description's further rule as a serializer's `validate_<field>`: it runs once the
    field's own checks passed (a text too long is refused for its length alone)."""

    def validate(self: Any, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            return check(value)
        except ValueError as exc:
            raise serializers.ValidationError(str(exc)) from None

    return validate


def _text(detail: Detail, **options: Any) -> serializers.CharField:
    options["max_length"] = detail.max_length
    if detail.pattern:
        if detail.pattern_message:
            options["error_messages"] = {"invalid": detail.pattern_message}
        return serializers.RegexField(detail.pattern, **options)
    return serializers.CharField(**options)


def _value(detail: Detail, **options: Any) -> serializers.Field[Any, Any, Any, Any]:
    """The field a value of `detail` is validated with (each item, for a list)."""
    if detail.group is not None:
        return _group(detail.group)(**options)
    if detail.kind is Kind.COUNTRY:
        return CountryField(**options)
    if detail.kind is Kind.INTEGER:
        limits = {"min_value": detail.min_value, "max_value": detail.max_value}
        options.update((name, limit) for name, limit in limits.items() if limit is not None)
        return serializers.IntegerField(**options)
    if detail.kind is Kind.CHOICE:
        return serializers.ChoiceField(choices=detail.values, **options)
    return _text(detail, **options)


def _presence(detail: Detail) -> dict[str, Any]:
    """Whether `detail` may be absent, null or blank, and what absent stands for."""
    options: dict[str, Any] = {}
    if detail.many and not detail.required:
        options["default"] = list
    elif detail.default is not None:
        options["default"] = detail.default
    elif not detail.required:
        options["required"] = False
    if detail.nullable:
        options["allow_null"] = True
    if detail.blank:
        options["allow_blank"] = True
    return options


def _field(detail: Detail) -> serializers.Field[Any, Any, Any, Any]:
    if detail.many:
        return serializers.ListField(
            child=_value(detail),
            min_length=detail.min_items or None,
            max_length=detail.max_items,
            **_presence(detail),
        )
    return _value(detail, **_presence(detail))


def _serializer(name: str, fields: tuple[Detail, ...], doc: str) -> type[Strict]:
    attrs: dict[str, Any] = {detail.name: _field(detail) for detail in fields}
    for detail in fields:
        if detail.check is not None:
            attrs[f"validate_{detail.name}"] = _validate_method(detail.check)
    attrs["__module__"] = __name__
    if doc:
        attrs["__doc__"] = doc
    return cast(type[Strict], type(name, (Strict,), attrs))


@cache
def _group(group: Group) -> type[Strict]:
    """One serializer class per group, so the document describes a party once ("Party")."""
    return _serializer(f"{group.schema}Serializer", group.fields, group.doc)


def details_serializer(spec: CategoryDetails) -> type[Strict]:
    """The serializer of one category's details, as its description says."""
    return _serializer(spec.schema, spec.fields, spec.doc)


DETAILS_BY_CATEGORY: dict[str, type[Strict]] = {
    category: details_serializer(spec) for category, spec in CATEGORIES.items()
}


# One bound validator per category, reused: building a DRF serializer deep-copies every field,
# which cost more than the validation itself on the federation inbox's hot path.
_VALIDATORS: dict[str, Strict] = {}


def validate_details(category: str, details: Any) -> dict[str, Any]:
    """Validated details for `category`; raises serializers.ValidationError naming the fields."""
    serializer_class = DETAILS_BY_CATEGORY.get(category)
    if serializer_class is None:
        raise serializers.ValidationError({"category": [f"unknown category {category!r}"]})
    if not isinstance(details, dict):
        raise serializers.ValidationError({"details": ["expected an object"]})
    validator = _VALIDATORS.get(category)
    if validator is None:
        validator = _VALIDATORS.setdefault(category, serializer_class())
    try:
        validated = validator.run_validation(details)
    except serializers.ValidationError as exc:
        raise serializers.ValidationError({"details": exc.detail}) from None
    return _plain(validated)


def _plain(value: Any) -> Any:
    """OrderedDicts and sets to plain JSON types, so the stored JSON is what was validated."""
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value


def countries_named(category: str, details: dict[str, Any]) -> list[str]:
    """Every country a report's details mention (route, parties, intermediaries...): each
    value of a country field of the category's description (of every category's, when the
    category is unknown)."""
    specs = [CATEGORIES[category]] if category in CATEGORIES else list(CATEGORIES.values())
    found: set[str] = set()
    for spec in specs:
        _countries(spec.fields, details, found)
    return sorted(found)


def _countries(fields: tuple[Detail, ...], value: Any, found: set[str]) -> None:
    if not isinstance(value, dict):
        return
    for detail in fields:
        given = value.get(detail.name)
        for item in given if detail.many and isinstance(given, list) else [given]:
            if detail.group is not None:
                _countries(detail.group.fields, item, found)
            elif detail.kind is Kind.COUNTRY and isinstance(item, str) and item:
                found.add(item)
