"""One error shape for the whole API: field errors as dotted paths, e.g.
{"details.items.0.quantity": ["Ensure this value is greater than or equal to 1."]}."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from core.errors import flatten_errors
from core.markings import MarkingError


class BodyTooLarge(exceptions.APIException):
    status_code = 413
    default_detail = "the request body is larger than this node accepts"
    default_code = "too_large"


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, RequestDataTooBig):
        # Django's own answer would be an HTML 400 and a traceback in the log.
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        exc = BodyTooLarge(f"the request body is larger than {limit} bytes")
    elif isinstance(exc, MarkingError):
        exc = exceptions.ValidationError({f"markings.{exc.field}": [exc.message]})
    elif isinstance(exc, DjangoValidationError):
        detail: Any = exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages}
        exc = exceptions.ValidationError(detail)
    response = drf_exception_handler(exc, context)
    if response is not None and isinstance(exc, exceptions.ValidationError):
        response.data = flatten_errors(response.data)
    return response
