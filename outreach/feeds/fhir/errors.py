"""What stops a FHIR sync, in words."""

from __future__ import annotations


class FhirError(Exception):
    """The server or the network said no. `retryable`: worth another try (429, 5xx, no
    answer); `status` is the HTTP status if there was one. The message is for staff."""

    def __init__(
        self,
        message: str,
        *,
        retryable: bool = False,
        status: int | None = None,
        retry_after: str | None = None,
    ) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.status = status
        self.retry_after = retry_after
