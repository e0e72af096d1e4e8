"""Hostile input (SPEC section 4, "bad input"): hypothesis generates batches of updates —
odd Unicode, HTML and SQL fragments, forged and random callback data naming other people's and
other units' objects, unknown commands, deep links, edits, files, contacts of others, group and
channel traffic — sent through the emulator to the real running bot by new users, members, the
cadre of another unit, a cadre of the owning unit and the admin.

After every batch: the bot still answers, no exception reached the error handler and nothing
was logged at ERROR, the database passes ``integrity_check`` and ``foreign_key_check``, no
personal data reached someone without the right to see it, and every change in the database is
one the senders were allowed to make (``tests/fuzz/model.py``).

``NHIPCAU_FUZZ_EXAMPLES`` sets how many updates to send (``make fuzz``: 10,000); the run is
derandomised, so the same code sends the same updates.
"""

from __future__ import annotations

import math
import os

import pytest
from hypothesis import HealthCheck, Phase, given, settings

from tests.fuzz.strategies import BATCH_SIZE, Batch, batches
from tests.fuzz.world import FuzzWorld

UPDATES = int(os.environ.get("NHIPCAU_FUZZ_EXAMPLES", "800"))


@pytest.mark.timeout(120 + UPDATES // 10)
def test_hostile_updates_change_nothing_they_may_not(world: FuzzWorld) -> None:
    assert world.ids is not None

    @settings(
        max_examples=math.ceil(UPDATES / BATCH_SIZE),
        derandomize=True,
        database=None,
        deadline=None,
        # The examples share one running bot and database, so a failing example would not
        # replay alone: findings are collected and reported below instead of shrunk.
        phases=(Phase.explicit, Phase.generate),
        suppress_health_check=list(HealthCheck),
        print_blob=False,
    )
    @given(batch=batches(world.ids))
    def send(batch: Batch) -> None:
        world.run_batch(batch, limit=UPDATES)

    send()
    world.final_checks()
    stats = world.stats
    kinds = ", ".join(f"{k}={v}" for k, v in sorted(stats.by_kind.items()))
    print(
        f"\nfuzz: {stats.updates} hostile updates in {stats.batches} batches, "
        f"{stats.seconds:.1f} s; {kinds}; unanswered callback queries: "
        f"{stats.unanswered_callbacks}"
    )
    assert stats.updates >= UPDATES * 0.9, f"only {stats.updates} of {UPDATES} updates were sent"
    if world.findings:
        pytest.fail(world.report(), pytrace=False)
