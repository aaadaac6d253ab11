"""API plumbing shared by every app: one exception handler for domain and validation errors."""

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from config.errors import DomainError


def exception_handler(exc, context):
    """Map service errors to HTTP: Django ``ValidationError`` → 400, ``DomainError`` → its code.

    Everything else goes to DRF's default handler (which returns ``None`` for unknown errors,
    so a real bug is still a 500 and still reaches the logs).
    """
    if isinstance(exc, DjangoValidationError):
        if hasattr(exc, "error_dict"):
            detail = {
                field: [e.message % (e.params or {}) for e in errs]
                for field, errs in exc.error_dict.items()
            }
        else:
            detail = {"non_field_errors": exc.messages}
        return Response(detail, status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, DomainError):
        body = {"detail": exc.message, "code": exc.code}
        if exc.field:
            body["field"] = exc.field
        return Response(body, status=exc.status_code)
    return drf_exception_handler(exc, context)
