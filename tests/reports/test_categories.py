"""Each category's details are described once (reports.categories), and the API's details
schema takes exactly what that description lists: the same fields, required, nullable,
limited and with the choices it says."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework import serializers
from rest_framework.fields import empty

from core.errors import flatten_errors
from reports.categories import CATEGORIES, CategoryDetails, Detail, Kind
from reports.details import DETAILS_BY_CATEGORY, validate_details
from reports.models import Category


def test_every_category_has_one_description() -> None:
    assert set(CATEGORIES) == set(Category.values) == set(DETAILS_BY_CATEGORY)


def _api_field(root: serializers.Serializer[Any], path: str) -> Any:
    """The serializer field at a description path ("details.items.0.quantity")."""
    field: Any = root
    for part in path.split(".")[1:]:
        if part.isdigit():
            continue
        if isinstance(field, serializers.ListField):
            field = field.child
        field = field.fields[part]
    return field


def _limits(field: Any) -> dict[str, Any]:
    return {
        "max_length": getattr(field, "max_length", None),
        "min_value": getattr(field, "min_value", None),
        "max_value": getattr(field, "max_value", None),
        "choices": tuple(getattr(field, "choices", {})),
        "blank": getattr(field, "allow_blank", False),
    }


def _described_limits(detail: Detail) -> dict[str, Any]:
    return {
        "max_length": 2 if detail.kind is Kind.COUNTRY else detail.max_length,
        "min_value": detail.min_value,
        "max_value": detail.max_value,
        "choices": detail.values,
        "blank": detail.blank,
    }


def _check(field: Any, detail: Detail, path: str) -> None:
    assert field.required == detail.required, path
    assert field.allow_null == detail.nullable, path
    assert isinstance(field, serializers.ListField) == detail.many, path
    if detail.many:
        assert field.min_length == (detail.min_items or None), path
        assert field.max_length == detail.max_items, path
        assert field.default is (empty if detail.required else list), path
        field = field.child
    elif detail.default is not None:
        assert field.default == detail.default, path
    if detail.group is not None:
        assert set(field.fields) == {leaf.name for leaf in detail.group.fields}, path
    else:
        assert _limits(field) == _described_limits(detail), path


@pytest.mark.parametrize("spec", CATEGORIES.values(), ids=list(CATEGORIES))
def test_the_api_takes_what_the_description_lists(spec: CategoryDetails) -> None:
    root = DETAILS_BY_CATEGORY[spec.category]()
    listed = dict(spec.paths())
    for path, detail in listed.items():
        _check(_api_field(root, path), detail, path)
    assert {f"details.{name}" for name in root.fields} == {
        path for path in listed if path.count(".") == 1
    }


def test_a_further_rule_runs_once_the_fields_own_checks_pass() -> None:
    """Training compute too long is refused for its length alone, as before the description."""
    details = {"organisation": {"name": "Invented Lab"}, "capability": "Invented"}
    with pytest.raises(serializers.ValidationError) as long:
        validate_details("military_ai", details | {"training_compute_flop": "9" * 41})
    assert flatten_errors(long.value.detail) == {
        "details.training_compute_flop": ["Ensure this field has no more than 40 characters."]
    }
    with pytest.raises(serializers.ValidationError) as lots:
        validate_details("model_weights", {"training_compute_flop": "lots"})
    assert flatten_errors(lots.value.detail) == {
        "details.training_compute_flop": ["expected a decimal number such as 3.2e25 (as text)"]
    }
    assert (
        validate_details("military_ai", details | {"training_compute_flop": " 3.2e25 "})[
            "training_compute_flop"
        ]
        == "3.2e25"
    )
