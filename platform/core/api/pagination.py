"""Page-number pagination that refuses a malformed page instead of guessing.

DRF's own reads `?page=` (empty) as page 1 and keeps the last of repeated `page` values; here
both are a 400 naming `page`, like any other bad query parameter. A page past the end stays
DRF's 404.
"""

from __future__ import annotations

from typing import Any

from django.core.paginator import Paginator
from rest_framework import pagination
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request


class PageNumberPagination(pagination.PageNumberPagination):
    def get_page_number(self, request: Request, paginator: Paginator[Any]) -> int:
        values = request.query_params.getlist(self.page_query_param)
        if not values:
            return 1
        if len(values) > 1:
            raise ValidationError({self.page_query_param: ["give the page once"]})
        raw = values[0]
        if not (raw.isascii() and raw.isdigit()) or int(raw) < 1:
            raise ValidationError(
                {self.page_query_param: ["a page number is a whole number from 1"]}
            )
        return int(raw)

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        parameters: list[dict[str, Any]] = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_query_param:
                parameter["schema"] = {"type": "integer", "minimum": 1}
        return parameters
