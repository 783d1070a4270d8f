"""The worker's process settings (``claims/infra/runtime.py``)."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from claims.infra.runtime import GC_THRESHOLDS, tune_gc


@pytest.fixture
def restore_gc() -> Iterator[None]:
    thresholds = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)


def test_tune_gc_freezes_what_start_up_allocated_and_raises_the_young_threshold(restore_gc: None) -> None:
    before = gc.get_freeze_count()
    kept = [object() for _ in range(1000)]  # noqa: F841  (alive at the freeze)
    tune_gc()
    assert gc.get_threshold() == GC_THRESHOLDS == (10_000, 10, 5)
    assert gc.get_freeze_count() >= before + 1000


def test_cycles_made_after_tuning_are_still_collected(restore_gc: None) -> None:
    tune_gc()

    class Node:
        other: object = None

    a, b = Node(), Node()
    a.other, b.other = b, a
    gone = [False]
    import weakref

    weakref.finalize(a, lambda: gone.__setitem__(0, True))
    del a, b
    gc.collect()
    assert gone[0] is True
