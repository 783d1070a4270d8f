"""Process settings of a long-running worker: Python's cyclic garbage collector.

A worker allocates many short-lived objects per claim step (pydantic models, SQL rows, the
sandbox's per-activation bookkeeping) and keeps many long-lived ones (every cached claim's
sandboxed workflow instance, about 350 KiB each, up to ``max_cached_workflows``). With
CPython's default thresholds (700, 10, 10) the collector runs a young collection every 700
net allocations and, now and then, a full collection that walks the whole heap: measured in
``bench/bench_throughput.py`` (2 cores, 300 claims, 2026-12-02) it took 5.3 ms of the worker's
CPU per claim, eight full collections of about 0.12 s each among them. :func:`tune_gc` freezes
what start-up allocated (imports, the rules engine, the calendar) out of the collector's
reach and collects the young generation ten times less often: 1.9 ms per claim in the same
run. Reference cycles are still collected, later; nothing else changes.
"""

from __future__ import annotations

import gc

GC_THRESHOLDS = (10_000, 20, 20)
"""The collector's thresholds for a worker (``gc.set_threshold``): a young collection every
10,000 net allocations (CPython's default: 700), a middle one every 20 young ones, a full one
every 20 middle ones (and then only when enough long-lived objects are new, CPython's own
rule)."""


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
