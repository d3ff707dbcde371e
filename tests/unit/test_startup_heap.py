"""`flask serve` freezes its start-up heap, so full garbage collections skip what lives until exit."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from directory.cli import freeze_startup_heap


@pytest.fixture
def unfrozen() -> Iterator[None]:
    """Give the objects frozen by the test back to the collector afterwards."""
    yield
    gc.unfreeze()


def test_the_start_up_heap_is_frozen_out_of_full_collections(unfrozen: None) -> None:
    survivor = [object()]
    freeze_startup_heap()
    assert gc.get_freeze_count() > 0
    assert all(tracked is not survivor for tracked in gc.get_objects(generation=2))
