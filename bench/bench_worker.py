"""A worker process for the benchmarks: the claim engine (``worker.build_worker``) or the floor.

Started by the benchmarks (``bench/common.py``), not by hand. Writes ``--ready-file`` when
polling; stops cleanly on SIGTERM/SIGINT.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
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
    ap.add_argument("--log-level", default="info")
    return ap.parse_args()


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

        from claims.store.db import make_engine, make_sessionmaker
        from claims.infra.logging import configure_logging
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
    async with worker:
        Path(args.ready_file).write_text("ready")
        await stop.wait()
    if engine is not None:
        engine.dispose()


if __name__ == "__main__":
    asyncio.run(main())
