"""Process settings of a long-running worker: Python's cyclic garbage collector.

A worker allocates many short-lived objects per claim step (pydantic models, SQL rows, the
sandbox's per-activation bookkeeping) and keeps many long-lived ones (every cached claim's
sandboxed workflow instance, about 350 KiB each, up to ``max_cached_workflows``). A claim
evicted from the cache (ended, or pushed out by newer ones) leaves its sandbox as cyclic
garbage (modules, classes and functions refer to each other), which only a full collection
frees; a full collection walks the whole heap, the cached sandboxes included.

So the thresholds trade CPU for memory. Measured 2026-12-02 on 2 cores (``bench/``):

- CPython's default (700, 10, 10): 5.2 ms of collector time per claim carried report →
  payout (``bench_throughput.py``, 400 claims, quiet machine); opening 3,000 claims and
  keeping them open (``bench_open_claims.py --claims 3000``): 17.3 s in all, 21 full
  collections, peak RSS 404 MiB.
- (10,000, 20, 20): 2.0 ms a claim; 3.5 s and no full collection in 3,000 open claims, but
  peak RSS 673 MiB, and about 1 GB at 10,000 and 25,000 open: the evicted sandboxes wait.
- :data:`GC_THRESHOLDS` (10,000, 10, 5): 9.6 s for the 3,000 open claims (4 full
  collections), peak RSS 478 MiB; 3.2 ms a claim against 7.9 (default) and 2.5 (10,000,
  20, 20) in one loaded comparison of ``bench_throughput.py --claims 300 --skip-floor``.

:func:`tune_gc` also freezes what start-up allocated (imports, the rules engine, the
calendar), so no collection walks it again: a start-up object that later becomes part of
cyclic garbage is not freed (start-up state is meant to live as long as the process). Cycles
made after start-up are still collected, later; nothing else changes. ``claims up`` runs the
console in the same process, so these settings are the console's too.
"""

from __future__ import annotations

import gc

GC_THRESHOLDS = (10_000, 10, 5)
"""The collector's thresholds for a worker (``gc.set_threshold``): a young collection every
10,000 net allocations (CPython's default: 700), a middle one every 10 young ones, a full one
every 5 middle ones, i.e. every 500,000 net allocations, about 450 claims opened (and then only
when enough long-lived objects are new, CPython's own rule)."""


def tune_gc(thresholds: tuple[int, int, int] = GC_THRESHOLDS) -> None:
    """Freeze the objects allocated so far and set the collector's thresholds.

    Call it once, after the worker is built and before it polls: everything imported and
    built at start-up moves to the permanent generation (``gc.freeze``), which no collection
    walks again. Process-wide; safe to call again (later objects are frozen too).

    Args:
        thresholds: generation 0, 1 and 2 thresholds (counts, see ``gc.set_threshold``).
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(*thresholds)
