"""Why a request is refused, in words the API turns into status codes."""

from enum import StrEnum


class RejectionKind(StrEnum):
    FORBIDDEN = "Forbidden"  # 403: the role may not take this step, or separation of duties
    CONFLICT = "Conflict"  # 409: not valid in this stage or for this task's status
    INVALID = "Invalid"  # 422: the body is wrong for this case (a camera it doesn't have, ...)


class Rejection(Exception):
    def __init__(self, kind: RejectionKind, message: str, field: str | None = None):
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.field = field
