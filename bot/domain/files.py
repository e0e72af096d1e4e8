"""Files handed over as links: what a link opens, for whom, until when."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class StoredLink:
    name: str  # the stored file's name in the files folder
    filename: str  # what the person's browser saves it as
    mime: str
    member_id: int | None
    expires_at: datetime
    uses_left: int | None  # None: any number until it expires
