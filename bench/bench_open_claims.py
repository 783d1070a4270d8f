"""Open claims at scale: many claims open at once in document collection, each with its SLA clocks.

On a private dev server with one engine worker, reports ``--claims`` claims and takes each
through ``register`` and ``request_documents`` (stage ``documents``: the registration
clock stopped, the resolution clock paused with its pause-cap timer, the run loop's timer
armed). At every ``--checkpoint`` claims it records the worker's RSS and the server's
database size; at the end it times one handler step (``receive_documents``) on claims
picked at random while all are open, ``claims overdue`` (the command, over the store's
projection), and a visibility count of the open claims. Prints per-1,000-claims figures
and a linear extrapolation to 100,000. The floor of the step time is the same step's
p50 measured in the throughput benchmark's floor (printed there).

    .venv/bin/python bench/bench_open_claims.py [--claims 100000] [--checkpoint 5000] [--postgres]

Everything it starts is stopped on exit, error or Ctrl-C.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import subprocess
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import BIN, REPO, Stack, gather_limited, machine, median, rss_mb, store_url, synthetic_register  # noqa: E402
from drive import SECRETARY, Latencies, drive_engine_claim, engine_step  # noqa: E402
from temporalio.client import Client  # noqa: E402
from temporalio.contrib.pydantic import pydantic_data_converter  # noqa: E402

from claims.store.db import make_engine, make_sessionmaker, unit_of_work  # noqa: E402
from claims.models import ReceiveDocumentsInput  # noqa: E402
from claims.store import RegisterFile, load_register  # noqa: E402


def overdue_seconds(url: str, address: str, extra: list[str]) -> tuple[float, str]:
    """Wall time of the ``claims overdue`` command and its last line."""
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "TEMPORAL_ADDRESS": address,
        "CLAIMS_ACTOR": "sup.bench",
        "CLAIMS_ROLE": "supervisor",
    }
    t0 = time.perf_counter()
    out = subprocess.run(
        [str(BIN / "claims"), "overdue", *extra],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    seconds = time.perf_counter() - t0
    if out.returncode != 0:
        raise RuntimeError(f"claims overdue failed: {out.stderr[-2000:]}")
    lines = [ln for ln in out.stdout.splitlines() if ln.endswith("claim(s)")]
    return seconds, (lines[-1] if lines else "?")


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--claims", type=int, default=100_000)
    ap.add_argument(
        "--checkpoint", type=int, default=0, help="measure every this many claims (default claims/5)"
    )
    ap.add_argument("--concurrency", type=int, default=64)
    ap.add_argument("--samples", type=int, default=7, help="claims on which the step is timed")
    ap.add_argument("--postgres", action="store_true")
    ap.add_argument("--max-cached-workflows", type=int, default=None)
    args = ap.parse_args()
    n = args.claims
    every = args.checkpoint or max(1, n // 5)
    print(f"machine: {machine()}")
    tag = uuid.uuid4().hex[:5]
    queue = f"bench-open-{tag}"
    with Stack("open") as stack, store_url(args.postgres, stack.dir) as url:
        engine = make_engine(url)
        sessions = make_sessionmaker(engine)
        t0 = time.perf_counter()
        reg = synthetic_register(n, tag)
        for k in range(0, n, 5000):
            with unit_of_work(sessions) as s:
                load_register(s, RegisterFile.model_validate({"households": reg["households"][k : k + 5000]}))
        print(
            f"store: {'PostgreSQL' if args.postgres else 'SQLite'}; register of {n:,} households loaded "
            f"in {time.perf_counter() - t0:.0f} s"
        )
        wargs = ["--mode", "engine", "--task-queue", queue, "--database-url", url]
        if args.max_cached_workflows is not None:
            wargs += ["--max-cached-workflows", str(args.max_cached_workflows)]
        worker = stack.start_worker(wargs, "worker0")
        client = await Client.connect(stack.address, data_converter=pydantic_data_converter)
        base_rss, base_db = rss_mb(worker.pid), stack.db_bytes()
        print(f"before: worker RSS {base_rss:.0f} MiB, server DB {base_db / 2**20:.1f} MiB")
        lat = Latencies()
        opened = 0
        t_open = time.perf_counter()
        points = []
        while opened < n:
            batch = min(every, n - opened)
            start = opened
            await gather_limited(
                batch,
                args.concurrency,
                lambda i, start=start: drive_engine_claim(
                    client, sessions, start + i, tag, queue, lat, stop_after="request_documents"
                ),
            )
            opened += batch
            rss, db = rss_mb(worker.pid), stack.db_bytes()
            points.append((opened, rss, db))
            rate = opened / (time.perf_counter() - t_open)
            print(
                f"  {opened:>7,} open: worker RSS {rss:.0f} MiB, server DB {db / 2**20:.1f} MiB, "
                f"{rate:.1f} claims opened/s",
                flush=True,
            )
        numbers = [
            f"JS20260310-B{tag}{i:06d}" for i in random.Random(1).sample(range(n), min(args.samples, n))
        ]
        times = []
        for number in numbers:
            t = time.perf_counter()
            await engine_step(
                client,
                number,
                ReceiveDocumentsInput(actor=SECRETARY, documents=["claim_form"]),
                lat,
            )
            times.append(time.perf_counter() - t)
        over = [overdue_seconds(url, stack.address, []) for _ in range(3)]
        over_all = [overdue_seconds(url, stack.address, ["--due-within", "60d"]) for _ in range(3)]
        vis = []
        for _ in range(3):
            t = time.perf_counter()
            count = (
                await client.count_workflows("ClaimStage = 'documents' AND ExecutionStatus = 'Running'")
            ).count
            vis.append(time.perf_counter() - t)
        per_k_rss = (points[-1][1] - base_rss) / (n / 1000)
        per_k_db = (points[-1][2] - base_db) / (n / 1000) / 2**20
        print(f"{n:,} claims open in stage documents ({count:,} by visibility)")
        print(f"  per 1,000 open claims: worker RSS +{per_k_rss:.1f} MiB, server DB +{per_k_db:.2f} MiB")
        tail_rss: float | None = None
        if len(points) >= 2:
            (n0, rss0, db0), (n1, rss1, db1) = points[-2], points[-1]
            k = (n1 - n0) / 1000
            tail_rss = (rss1 - rss0) / k
            print(
                f"  over the last {n1 - n0:,} opened: worker RSS {tail_rss:+.1f} MiB and server DB "
                f"{(db1 - db0) / 2**20 / k:+.2f} MiB per 1,000 (the worker levels off at its sticky cache, "
                "max_cached_workflows; the server's database does not)"
            )
        if tail_rss is not None and tail_rss < 5:
            worker_100k = (
                f"~{points[-1][1]:.0f} MiB (levelled off: bounded by the sticky cache, not by open claims)"
            )
        else:
            worker_100k = (
                f"{base_rss + per_k_rss * 100:.0f} MiB (linear; not yet levelled off at the sticky cache)"
            )
        print(
            f"  extrapolated to 100,000: worker RSS {worker_100k}, "
            f"server DB {(base_db / 2**20) + per_k_db * 100:,.0f} MiB"
        )
        print(
            "  one handler step (receive_documents) while they are open: "
            f"median {median(times) * 1000:.0f} ms "
            f"(min {min(times) * 1000:.0f}, max {max(times) * 1000:.0f}) over {len(times)} random claims"
        )
        print(
            f"  claims overdue: median {median([s for s, _ in over]) * 1000:.0f} ms ({over[0][1]}); "
            f"--due-within 60d: median {median([s for s, _ in over_all]) * 1000:.0f} ms ({over_all[0][1]})"
        )
        print(f"  visibility count of open claims in documents: median {median(vis) * 1000:.0f} ms")
        engine.dispose()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        print("interrupted; everything started was stopped", file=sys.stderr)
        sys.exit(130)
