"""The small domain error hierarchy that services raise and the API maps to status codes."""


class DomainError(Exception):
    """Base class: a request that is well-formed but cannot be carried out (HTTP 409)."""

    status_code = 409
    code = "conflict"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class NotFoundError(DomainError):
    """The object does not exist or is not visible to this user (HTTP 404)."""

    status_code = 404
    code = "not_found"


class InvalidStateError(DomainError):
    """The object is in a state where this action is not allowed (HTTP 409)."""

    status_code = 409
    code = "invalid_state"


class UnprocessableError(DomainError):
    """Valid syntax, but the content cannot be processed (HTTP 422)."""

    status_code = 422
    code = "unprocessable"
