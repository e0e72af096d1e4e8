"""Flood guard: a token bucket per person, in memory and bounded, so that one person sending
dozens of messages a second gets one polite "slow down" and costs everyone else nothing.

No Telegram imports; time is a monotonic clock (not ``services.clock``: a test's frozen manual
clock must not freeze the refill, and wall-clock jumps must not matter).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from enum import Enum

MAX_TRACKED = 10_000


class Verdict(Enum):
    ALLOW = "allow"
    WARN = "warn"  # over the limit for the first time in this burst: say "slow down" once
    DROP = "drop"  # over the limit and already told


@dataclass(slots=True)
class _Bucket:
    tokens: float
    at: float
    warned: bool = False


class FloodGuard:
    """``burst`` updates at once, then ``per_second``. At most ``max_tracked`` people are
    remembered (least recently seen forgotten first); a forgotten person would have a full
    bucket anyway unless more than ``max_tracked`` people wrote within ``burst / per_second``
    seconds."""

    def __init__(
        self,
        burst: int,
        per_second: float,
        *,
        max_tracked: int = MAX_TRACKED,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if burst < 1 or per_second <= 0 or max_tracked < 1:
            raise ValueError("burst, per_second and max_tracked must be positive")
        self.burst = float(burst)
        self.per_second = per_second
        self.max_tracked = max_tracked
        self._now = monotonic
        self._buckets: OrderedDict[Hashable, _Bucket] = OrderedDict()

    def __len__(self) -> int:
        return len(self._buckets)

    def check(self, person: Hashable) -> Verdict:
        """``person``: whatever names one sender on a channel (a Telegram id, a Zalo id)."""
        now = self._now()
        bucket = self._buckets.get(person)
        if bucket is None:
            bucket = _Bucket(self.burst, now)
            self._buckets[person] = bucket
            if len(self._buckets) > self.max_tracked:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(person)
            bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.at) * self.per_second)
            bucket.at = now
        if bucket.tokens >= self.burst:
            bucket.warned = False  # calm for a whole refill: the next burst gets a new warning
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return Verdict.ALLOW
        if bucket.warned:
            return Verdict.DROP
        bucket.warned = True
        return Verdict.WARN
