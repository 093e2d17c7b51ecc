"""The one exception type the emulator raises; it renders as Stripe's error JSON."""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """A Stripe API error: HTTP status plus the body `{"error": {...}}`.

    Raised by the engine for invalid requests; the HTTP layer turns it into the
    response the SDK expects (400/404 -> InvalidRequestError, 401 ->
    AuthenticationError, idempotency_error -> IdempotencyError). The public
    helpers (`emu.pay`, `emu.refund`, ...) let it propagate unchanged.
    """

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str = "invalid_request_error",
        code: str | None = None,
        param: str | None = None,
    ):
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type
        self.code = code
        self.param = param

    @classmethod
    def invalid(cls, message: str, *, param: str | None = None, code: str | None = None) -> "ApiError":
        return cls(400, message, param=param, code=code)

    @classmethod
    def missing(cls, object_name: str, object_id: str, *, param: str = "id") -> "ApiError":
        return cls(404, f"No such {object_name}: '{object_id}'", code="resource_missing", param=param)

    def to_dict(self) -> dict[str, Any]:
        error: dict[str, Any] = {"type": self.type, "message": self.message}
        if self.code:
            error["code"] = self.code
            error["doc_url"] = f"https://stripe.com/docs/error-codes/{self.code.replace('_', '-')}"
        if self.param:
            error["param"] = self.param
        return {"error": error}
