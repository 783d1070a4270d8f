"""Replay: claim histories replayed per second, against floor histories of the same shape.

Replays every golden history (``tests/golden/*.json``: the demo's paths — ordinary paid,
green channel, investigation, declined, breached and escalated, paused for documents)
``--rounds`` times through the replayer ``claims replay`` uses (``claims.audit.replay.new_replayer``:
``ClaimWorkflow`` with the converter of ``claims.infra.temporal.converter_for``). The floor:
for each golden history, a ``bench/floor.py`` workflow with the same number of activities,
Updates, upserts and timer re-arms is run once on a private dev server, and its history
is replayed the same number of times with ``FloorWorkflow``. Prints histories/s, events/s
and the ratio engine/floor; medians of ``--repeat`` measurements.

    .venv/bin/python bench/bench_replay.py [--rounds 20] [--repeat 5]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
import uuid
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import REPO, Stack, machine, median, shape_of  # noqa: E402
from drive import Latencies, drive_floor, plan_of  # noqa: E402
from floor import FloorWorkflow, floor_noop  # noqa: E402
from temporalio.client import Client, WorkflowHistory  # noqa: E402
from temporalio.contrib.pydantic import pydantic_data_converter  # noqa: E402
from temporalio.worker import Replayer, Worker  # noqa: E402

from claims.audit import read_history  # noqa: E402
from claims.audit.replay import new_replayer  # noqa: E402
from claims.infra.settings import Settings  # noqa: E402
from claims.infra.temporal import converter_for  # noqa: E402

GOLDEN = REPO / "tests" / "golden"


async def floor_histories(golden: list[WorkflowHistory]) -> list[WorkflowHistory]:
    """Run one floor workflow per golden history's shape on a private dev server; their histories."""
    tag = uuid.uuid4().hex[:5]
    out = []
    with Stack("replay") as stack:
        client = await Client.connect(stack.address, data_converter=pydantic_data_converter)
        queue = f"bench-replay-{tag}"
        async with Worker(
            client,
            task_queue=queue,
            workflows=[FloorWorkflow],
            activities=[floor_noop],
            activity_executor=ThreadPoolExecutor(4),
        ):
            for i, h in enumerate(golden):
                shape = shape_of(h)
                await drive_floor(client, i, plan_of(shape), shape.steps, queue, tag, Latencies())
                handle = client.get_workflow_handle(f"floor-{tag}-{i}")
                await handle.result()
                out.append(await handle.fetch_history())
    return out


async def replay_rate(replayer: Replayer, histories: list[WorkflowHistory], rounds: int) -> float:
    """Histories per second over ``rounds`` passes; fails loudly on any replay failure."""
    batch = histories * rounds
    t0 = time.perf_counter()

    async def each() -> AsyncIterator[WorkflowHistory]:
        for h in batch:
            yield h

    results = await replayer.replay_workflows(each(), raise_on_replay_failure=False)
    seconds = time.perf_counter() - t0
    failed = [r for r in results.replay_failures.items()]
    if failed:
        raise SystemExit(f"replay failed: {failed[:3]}")
    return len(batch) / seconds


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=20, help="passes over the histories per measurement")
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    print(f"machine: {machine()}")
    files = sorted(GOLDEN.glob("*.json"))
    golden = [await read_history(p.read_bytes(), str(p)) for p in files]
    floor = await floor_histories(golden)
    for p, g, f in zip(files, golden, floor, strict=True):
        print(f"  {p.stem:<22} engine {shape_of(g).brief()}; floor {shape_of(f).brief()}")
    engine_replayer = new_replayer(converter_for(Settings()))
    floor_replayer = Replayer(workflows=[FloorWorkflow], data_converter=pydantic_data_converter)
    await replay_rate(engine_replayer, golden, 1)  # warm-up: sandbox imports
    await replay_rate(floor_replayer, floor, 1)
    e_rates, f_rates = [], []
    for _ in range(args.repeat):
        e_rates.append(await replay_rate(engine_replayer, golden, args.rounds))
        f_rates.append(await replay_rate(floor_replayer, floor, args.rounds))
    e, f = median(e_rates), median(f_rates)
    events = sum(len(h.events) for h in golden) / len(golden)
    print(
        f"replay ({len(golden)} golden histories x {args.rounds} rounds, median of {args.repeat}): "
        f"engine {e:.1f} histories/s ({e * events:,.0f} events/s), floor {f:.1f} histories/s; "
        f"engine/floor {100 * e / f:.0f} %"
    )
    print(
        f"  engine runs: {', '.join(f'{r:.1f}' for r in e_rates)}; "
        f"floor runs: {', '.join(f'{r:.1f}' for r in f_rates)}"
    )


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(130)
