"""The per-person token bucket: a burst, then a trickle; one warning per burst; bounded memory."""

from __future__ import annotations

from bot.flood import FloodGuard, Verdict


class FakeTime:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_burst_passes_then_one_warning_then_silence_until_the_bucket_refills() -> None:
    clock = FakeTime()
    guard = FloodGuard(3, 1.0, monotonic=clock)
    assert [guard.check(1) for _ in range(6)] == [
        Verdict.ALLOW,
        Verdict.ALLOW,
        Verdict.ALLOW,
        Verdict.WARN,
        Verdict.DROP,
        Verdict.DROP,
    ]
    clock.now += 1.0  # one token back: one more message passes, still no second warning
    assert [guard.check(1) for _ in range(2)] == [Verdict.ALLOW, Verdict.DROP]
    clock.now += 3.0  # calm for a whole refill: a new burst may be warned again
    assert [guard.check(1) for _ in range(4)] == [Verdict.ALLOW] * 3 + [Verdict.WARN]


def test_people_have_their_own_buckets() -> None:
    guard = FloodGuard(1, 0.1, monotonic=FakeTime())
    assert guard.check(1) is Verdict.ALLOW
    assert guard.check(1) is Verdict.WARN
    assert guard.check(2) is Verdict.ALLOW


def test_memory_is_bounded_forgetting_the_least_recently_seen() -> None:
    guard = FloodGuard(1, 0.1, max_tracked=100, monotonic=FakeTime())
    for person in range(1000):
        guard.check(person)
    assert len(guard) == 100
    assert guard.check(999) is Verdict.WARN  # remembered
    assert guard.check(0) is Verdict.ALLOW  # forgotten long ago: a fresh bucket
