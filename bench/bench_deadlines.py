"""Benchmark: working-day deadline computations per second.

Prints the rate of ``WorkingCalendar.add_working_days`` and ``working_days_between`` on a
realistic mix of starts (2025–2026, any hour) and targets (0, 2, 3, 5, 7, 15, 30 working
days), against a floor measured in the same run: a naive day-by-day walk asking
``chinese_calendar.is_workday`` for each day. The target is > 20,000 deadlines a second.

Run: ``.venv/bin/python bench/bench_deadlines.py [--n 50000]``
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import chinese_calendar  # type: ignore[import-untyped]

from claims.domain.workdays import SHANGHAI, WorkingCalendar

TARGETS = (0, 2, 3, 5, 7, 15, 30)
GOAL_PER_SECOND = 20_000


def workload(n: int, seed: int = 20260928) -> list[tuple[dt.datetime, int]]:
    rng = random.Random(seed)
    base = dt.datetime(2025, 1, 1, tzinfo=SHANGHAI)
    minutes = 2 * 365 * 24 * 60 - 60 * 24 * 60  # stay clear of the unpublished year
    return [
        (
            (base + dt.timedelta(minutes=rng.randrange(minutes))).astimezone(dt.UTC),
            rng.choice(TARGETS),
        )
        for _ in range(n)
    ]


def naive_due_date(start: dt.datetime, n: int, closing: dt.time = dt.time(17, 30)) -> dt.date:
    """The floor: walk one day at a time, asking chinese_calendar about each. A start after the
    closing hour or on a rest day counts from the next working day, as the engine does."""
    local = start.astimezone(SHANGHAI)
    day = local.date() + dt.timedelta(days=local.time() >= closing)
    while not chinese_calendar.is_workday(day):
        day += dt.timedelta(days=1)
    while n:
        day += dt.timedelta(days=1)
        if chinese_calendar.is_workday(day):
            n -= 1
    return day


def rate(fn, items) -> float:
    began = time.perf_counter()
    for start, n in items:
        fn(start, n)
    return len(items) / (time.perf_counter() - began)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=50_000, help="computations per measurement")
    args = parser.parse_args()

    items = workload(args.n)
    cal = WorkingCalendar()
    cal.add_working_days(items[0][0], 5)  # warm the per-year tables

    for start, n in items[:2000]:  # the fast path must agree with the floor
        assert cal.add_working_days(start, n).due_date == naive_due_date(start, n)

    floor = rate(naive_due_date, items[: max(1, args.n // 5)])
    ours = rate(cal.add_working_days, items)
    ends = [(s, s + dt.timedelta(hours=(n + 1) * 30)) for s, n in items]
    between = rate(cal.working_days_between, ends)

    print(f"floor (naive chinese_calendar walk, due date only): {floor:12,.0f} /s")
    print(
        f"add_working_days -> Deadline:                        {ours:12,.0f} /s  ({ours / floor:.1f}x floor)"
    )
    print(
        f"working_days_between:                                {between:12,.0f} /s  "
        f"({between / floor:.1f}x floor)"
    )
    verdict = "OK" if ours >= GOAL_PER_SECOND else "BELOW GOAL"
    print(f"goal {GOAL_PER_SECOND:,} deadlines/s: {verdict}")
    return 0 if ours >= GOAL_PER_SECOND else 1


if __name__ == "__main__":
    raise SystemExit(main())
