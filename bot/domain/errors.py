"""Refusals every layer raises and every channel answers: bad input and not allowed."""

from __future__ import annotations

from typing import Any


class InvalidInput(ValueError):
    """Input a person typed that cannot be accepted; ``key`` names the catalogue reply."""

    def __init__(self, key: str, **params: Any) -> None:
        super().__init__(key)
        self.key = key
        self.params = params


class NotAllowed(Exception):
    """The actor's role or unit does not allow the action (a reply key says why)."""

    def __init__(self, reason: str = "access.denied") -> None:
        super().__init__(reason)
        self.reason = reason
