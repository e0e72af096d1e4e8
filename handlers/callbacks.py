"""Callback data: ``<namespace>:<action>[:<arg>…]``, at most 64 bytes, parsed in one place.

The namespace names the journey (``ob`` onboarding, ``un`` unit picker, ``pf`` profile, ``st``
settings, ``pv`` privacy, ``rg`` a /grant confirmation); a new incompatible format gets a new
namespace (or a new number of arguments, refused the same way), so old buttons in chats fail
cleanly as "expired" instead of being misread. Nothing parsed here is trusted: handlers
re-check role, unit and state on every press.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_BYTES = 64
_SAFE = re.compile(r"^[a-z]{2,4}(:[A-Za-z0-9_-]{1,40}){1,4}$")


@dataclass(frozen=True, slots=True)
class Callback:
    namespace: str
    action: str
    args: tuple[str, ...]

    def int_arg(self, index: int = 0) -> int | None:
        """The argument as a non-negative int, or None if missing or not a number."""
        if index >= len(self.args) or not self.args[index].isdigit():
            return None
        value = int(self.args[index])
        return value if value < 2**53 else None

    def arg(self, index: int = 0) -> str | None:
        return self.args[index] if index < len(self.args) else None


def pack(namespace: str, action: str, *args: object) -> str:
    data = ":".join((namespace, action, *(str(a) for a in args)))
    if len(data.encode()) > MAX_BYTES or not _SAFE.match(data):
        raise ValueError(f"callback data {data!r} is not well-formed")
    return data


def parse(data: str | None) -> Callback | None:
    if not data or len(data.encode()) > MAX_BYTES or not _SAFE.match(data):
        return None
    namespace, action, *args = data.split(":")
    return Callback(namespace, action, tuple(args))
