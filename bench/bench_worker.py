"""A worker process for the benchmarks: the claim engine (``worker.build_worker``) or the floor.

Started by the benchmarks (``bench/common.py``), not by hand. Writes ``--ready-file`` when
polling; stops cleanly on SIGTERM/SIGINT.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import resource
import signal
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from temporalio.client import Client  # noqa: E402
from temporalio.contrib.pydantic import pydantic_data_converter  # noqa: E402
from temporalio.worker import Worker  # noqa: E402


def parse() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--address", required=True)
    ap.add_argument("--ready-file", required=True)
    ap.add_argument("--mode", choices=["engine", "floor"], required=True)
    ap.add_argument("--task-queue", required=True)
    ap.add_argument("--database-url", help="the store (engine mode)")
    ap.add_argument("--activity-threads", type=int, default=16)
    ap.add_argument("--max-concurrent-workflow-tasks", type=int, default=None)
    ap.add_argument("--max-cached-workflows", type=int, default=None)
    ap.add_argument(
        "--sdk-sandbox",
        action="store_true",
        help="engine mode: the SDK's default sandbox runner instead of workflows.sandbox.workflow_runner()",
    )
    ap.add_argument(
        "--floor-runner",
        choices=["sdk", "project"],
        default="sdk",
        help="floor mode: the SDK's default sandbox runner (bare Temporal, the floor of record) or "
        "workflows.sandbox.ClaimsSandboxedWorkflowRunner with the SDK's default restrictions "
        "(what the engine's runner saves, given to the floor too)",
    )
    ap.add_argument("--log-level", default="info")
    ap.add_argument(
        "--gc",
        default="tuned",
        help="tuned: claims.infra.runtime.tune_gc(), as the claim worker does (both modes); "
        "default: CPython's collector settings; G0,G1,G2: tune_gc with these thresholds",
    )
    ap.add_argument("--stats-file", help="write the collector's collections and seconds here at exit (JSON)")
    return ap.parse_args()


class GcClock:
    """Counts the cyclic collector's collections and the seconds they took, per generation
    (``gc.callbacks``)."""

    def __init__(self) -> None:
        self.collections = [0, 0, 0]
        self.seconds = [0.0, 0.0, 0.0]
        self._started = 0.0
        gc.callbacks.append(self._callback)

    def _callback(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
            return
        gen = info["generation"]
        self.collections[gen] += 1
        self.seconds[gen] += time.perf_counter() - self._started


async def main() -> None:
    args = parse()
    options: dict[str, object] = {
        "max_concurrent_activities": args.activity_threads,
    }
    if args.max_concurrent_workflow_tasks:
        options["max_concurrent_workflow_tasks"] = args.max_concurrent_workflow_tasks
    if args.max_cached_workflows is not None:
        options["max_cached_workflows"] = args.max_cached_workflows
    client = await Client.connect(args.address, data_converter=pydantic_data_converter)
    executor = ThreadPoolExecutor(max_workers=args.activity_threads)
    engine = None
    if args.mode == "engine":
        from drive import bench_sla_policy

        from claims.infra.logging import configure_logging
        from claims.store.db import make_engine, make_sessionmaker
        from worker import build_worker

        configure_logging("json", args.log_level)
        if args.sdk_sandbox:  # the before of the project's runner, for comparisons in one run
            from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner

            options["workflow_runner"] = SandboxedWorkflowRunner()
        engine = make_engine(args.database_url)
        worker = build_worker(
            client,
            make_sessionmaker(engine),
            task_queue=args.task_queue,
            executor=executor,
            sla_policy=bench_sla_policy(),
            **options,
        )
    else:
        from floor import FloorWorkflow, floor_noop

        if args.floor_runner == "project":
            from workflows.sandbox import ClaimsSandboxedWorkflowRunner

            options["workflow_runner"] = ClaimsSandboxedWorkflowRunner()
        worker = Worker(
            client,
            task_queue=args.task_queue,
            workflows=[FloorWorkflow],
            activities=[floor_noop],
            activity_executor=executor,
            **options,
        )  # type: ignore[arg-type]
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    if args.gc != "default":
        from claims.infra.runtime import tune_gc

        if args.gc == "tuned":
            tune_gc()
        else:
            g0, g1, g2 = (int(x) for x in args.gc.split(","))
            tune_gc((g0, g1, g2))
    clock = GcClock() if args.stats_file else None
    async with worker:
        Path(args.ready_file).write_text("ready")
        await stop.wait()
    if clock is not None:
        Path(args.stats_file).write_text(
            json.dumps(
                {
                    "gc_collections": clock.collections,
                    "gc_seconds": clock.seconds,
                    "max_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                }
            )
        )
    if engine is not None:
        engine.dispose()


if __name__ == "__main__":
    asyncio.run(main())
