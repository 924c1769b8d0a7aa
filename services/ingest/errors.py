"""Ingest refusals: each carries the HTTP status, a stable code and a reason to act on."""

from __future__ import annotations

from typing import TYPE_CHECKING, Self

from shared.errors import JourneymapError

if TYPE_CHECKING:
    from services.ingest.models import RejectedEvent


class RequestRefused(JourneymapError):
    """The whole request is refused; nothing in it was accepted."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        headers: dict[str, str] | None = None,
        *,
        settled: bool = False,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = dict(headers or {})
        # True when the request already paid its rate limit and its events are kept.
        self.settled = settled
        self.rejected: list[RejectedEvent] = []

    def with_rejected(self, rejected: list[RejectedEvent]) -> Self:
        """The events that were each refused, for the error body."""
        self.rejected = rejected
        return self
