"""One fuzzed world for the whole run: a running bot on the emulator with a seeded database."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fuzz.world import FuzzWorld


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FuzzWorld]:
    folder: Path = tmp_path_factory.mktemp("fuzz")
    fuzzed = FuzzWorld(folder / "nhipcau.sqlite3")
    try:
        fuzzed.start()
        yield fuzzed
    finally:
        fuzzed.stop()
