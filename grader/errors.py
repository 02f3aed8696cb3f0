"""The refusal every layer shows as is: the service raises it, the API turns it into JSON, pages into a message."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class ServiceError(Exception):
    """A refusal the caller shows as is: `status` is the HTTP status the API uses."""

    status: int
    code: str
    message: str
    errors: dict[str, list[str]] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)  # e.g. Retry-After with a 429

    def __str__(self) -> str:
        return self.message
