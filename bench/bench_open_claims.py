"""Open claims at scale: many claims open at once in document collection, each with its SLA clocks.

On a private dev server with one engine worker, reports ``--claims`` claims and takes each
through ``register`` and ``request_documents`` (stage ``documents``: the registration
clock stopped, the resolution clock paused with its pause-cap timer, the run loop's timer
armed), through the same public path a handler uses (``claims.services.client``). The
console (``claims web``, its own process) runs beside them from the start, with one handler
and one supervisor account in county 县00 (a twentieth of the claims; the handler is the one
who registered them).

At every checkpoint (``--checkpoints``, default 10,000, 50,000 and 100,000 open claims) it
measures, with everything still open: the worker's and the server's RSS and the server's
database size; one handler step (``receive_documents``) on ``--samples`` claims picked at
random among the open ones, one at a time (p50/p95); the ``claims overdue`` command (whole
command, Python start-up included); ``GET /inbox`` as the handler and as the supervisor and
``GET /supervise``, ``--page-requests`` each, one at a time (p50/p95); a visibility count of
the open claims. Each checkpoint prints one row of a markdown table as soon as it is
measured (and appends it to ``--table`` when given), so a run stopped before the end still
leaves the rows it reached. The floor of the step is the same step's p50 in the throughput
benchmark's floor (printed there).

    .venv/bin/python bench/bench_open_claims.py [--claims 100000] [--checkpoints 10000,50000,100000]
        [--samples 20] [--page-requests 20] [--table FILE] [--postgres]

``CLAIMS_BENCH_DIR=/dev/shm`` puts the server database and the store on tmpfs (100,000 open
claims: about 4.5 GB). Everything it starts is stopped on exit, error or Ctrl-C.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import subprocess
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_console import PASSWORD, SECRET, User, load, start_console, stop_console, timed  # noqa: E402
from common import (  # noqa: E402
    BIN,
    REPO,
    Stack,
    free_port,
    gather_limited,
    machine,
    median,
    pct,
    rss_mb,
    store_url,
    synthetic_register,
)
from drive import HANDLER, SECRETARY, Latencies, drive_engine_claim, engine_step  # noqa: E402
from temporalio.client import Client  # noqa: E402
from temporalio.contrib.pydantic import pydantic_data_converter  # noqa: E402

from claims.infra.settings import Settings, StoreSettings, TemporalSettings, WebSettings  # noqa: E402
from claims.models import ReceiveDocumentsInput  # noqa: E402
from claims.models.common import TASK_QUEUE  # noqa: E402
from claims.services import accounts  # noqa: E402
from claims.services.context import Services  # noqa: E402
from claims.store.db import make_engine, make_sessionmaker, unit_of_work  # noqa: E402
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


HEADER = (
    "| open claims | opened/s (so far) | worker RSS MiB | server RSS MiB | server DB MiB (per 1,000) "
    "| step p50 / p95 ms | claims overdue ms | inbox handler p50 / p95 ms | inbox supervisor p50 / p95 ms "
    "| /supervise p50 / p95 ms | visibility count ms |\n"
    "|---|---|---|---|---|---|---|---|---|---|---|"
)


COUNTY = "县00"
"""The console accounts' county: claim ``i`` of the synthetic register is in ``县{i % 20:02d}``."""


async def get_times(user: User, path: str, n: int) -> list[float]:
    """``n`` requests of ``path`` one after another, each expected 200; their seconds."""
    return [await timed(lambda: user.http.get(path), 200) for _ in range(n)]


def p50_95(values: list[float]) -> str:
    return f"{pct(values, 50) * 1000:.0f} / {pct(values, 95) * 1000:.0f}"


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--claims", type=int, default=100_000)
    ap.add_argument(
        "--checkpoints",
        default="10000,50000,100000",
        help="measure when this many claims are open (comma-separated; --claims is always one)",
    )
    ap.add_argument("--concurrency", type=int, default=64)
    ap.add_argument("--samples", type=int, default=20, help="claims on which the step is timed, per checkpoint")
    ap.add_argument("--page-requests", type=int, default=20, help="requests of each console page, per checkpoint")
    ap.add_argument("--table", type=Path, default=None, help="append each checkpoint's row to this file")
    ap.add_argument("--postgres", action="store_true")
    ap.add_argument("--max-cached-workflows", type=int, default=None)
    ap.add_argument(
        "--gc",
        default="tuned",
        help="the worker's collector: tuned (claims.infra.runtime.tune_gc), default, or G0,G1,G2 thresholds",
    )
    args = ap.parse_args()
    n = args.claims
    marks = sorted({int(x) for x in args.checkpoints.split(",") if x.strip() and int(x) < n} | {n})
    print(f"machine: {machine()}")
    print(f"load average at the start: {load()}", flush=True)
    tag = uuid.uuid4().hex[:5]
    queue = TASK_QUEUE
    rng = random.Random(1)
    with Stack("open") as stack, store_url(args.postgres, stack.dir) as url:
        engine = make_engine(url)
        sessions = make_sessionmaker(engine)
        t0 = time.perf_counter()
        reg = synthetic_register(n, tag)
        for k in range(0, n, 5000):
            with unit_of_work(sessions) as s:
                load_register(s, RegisterFile.model_validate({"households": reg["households"][k : k + 5000]}))
        del reg
        print(
            f"store: {'PostgreSQL' if args.postgres else 'SQLite'}; register of {n:,} households loaded "
            f"in {time.perf_counter() - t0:.0f} s",
            flush=True,
        )
        wargs = ["--mode", "engine", "--task-queue", queue, "--database-url", url]
        if args.max_cached_workflows is not None:
            wargs += ["--max-cached-workflows", str(args.max_cached_workflows)]
        wargs += ["--gc", args.gc, "--stats-file", str(stack.dir / "worker0.stats.json")]
        worker = stack.start_worker(wargs, "worker0")
        client = await Client.connect(stack.address, data_converter=pydantic_data_converter)
        settings = Settings(
            store=StoreSettings(data_dir=stack.dir, database_url=url),
            temporal=TemporalSettings(address=stack.address),
            web=WebSettings(secret=SECRET),
        )
        services = Services(settings, sessions=sessions)
        accounts.add_user(services, HANDLER.id, "handler", PASSWORD, county=COUNTY)
        accounts.add_user(services, "supervisor.open", "supervisor", PASSWORD, county=COUNTY)
        port = free_port()
        console = start_console(stack, url, port)
        handler = User(f"http://127.0.0.1:{port}", HANDLER.id)
        supervisor = User(f"http://127.0.0.1:{port}", "supervisor.open")
        try:
            await handler.login()
            await supervisor.login()
            assert stack.server is not None
            base_rss, base_db = rss_mb(worker.pid), stack.db_bytes()
            print(f"before: worker RSS {base_rss:.0f} MiB, server DB {base_db / 2**20:.1f} MiB")
            print(HEADER, flush=True)
            if args.table is not None:
                with args.table.open("a") as f:
                    f.write(f"\n<!-- {machine()}; load {load()}; {n:,} claims, tag {tag} -->\n{HEADER}\n")
            lat = Latencies()
            opened = 0
            timed_claims: set[int] = set()
            t_open = time.perf_counter()
            open_seconds = 0.0
            for mark in marks:
                start = opened
                t_batch = time.perf_counter()
                await gather_limited(
                    mark - start,
                    args.concurrency,
                    lambda i, start=start: drive_engine_claim(
                        client, sessions, start + i, tag, queue, lat, stop_after="request_documents"
                    ),
                )
                open_seconds += time.perf_counter() - t_batch
                opened = mark
                rss, server_rss, db = rss_mb(worker.pid), rss_mb(stack.server.pid), stack.db_bytes()
                # one handler step, one at a time, on claims not timed before
                pick = [i for i in rng.sample(range(opened), min(opened, args.samples * 3)) if i not in timed_claims]
                pick = pick[: args.samples]
                timed_claims.update(pick)
                steps_s = []
                for i in pick:
                    t = time.perf_counter()
                    await engine_step(
                        client,
                        f"JS20260310-B{tag}{i:06d}",
                        ReceiveDocumentsInput(actor=SECRETARY, documents=["claim_form"]),
                        lat,
                    )
                    steps_s.append(time.perf_counter() - t)
                over, over_line = overdue_seconds(url, stack.address, [])
                inbox_h = await get_times(handler, "/inbox", args.page_requests)
                inbox_s = await get_times(supervisor, "/inbox", args.page_requests)
                sup = await get_times(supervisor, "/supervise", args.page_requests)
                vis = []
                for _ in range(3):
                    t = time.perf_counter()
                    count = (
                        await client.count_workflows(
                            "ClaimStage = 'documents' AND ExecutionStatus = 'Running'"
                        )
                    ).count
                    vis.append(time.perf_counter() - t)
                per_k = (db - base_db) / 2**20 / (opened / 1000)
                row = (
                    f"| {opened:,} | {opened / open_seconds:.1f} | {rss:.0f} | {server_rss:.0f} "
                    f"| {db / 2**20:,.0f} ({per_k:.1f}) | {p50_95(steps_s)} | {over * 1000:,.0f} "
                    f"| {p50_95(inbox_h)} | {p50_95(inbox_s)} | {p50_95(sup)} | {median(vis) * 1000:.0f} |"
                )
                print(row, flush=True)
                rows = (await handler.http.get("/inbox")).text.count("<tr") - 1
                print(
                    f"    ({count:,} open by visibility; the handler's inbox page shows {rows} rows; "
                    f"overdue: {over_line}; load {load()}; "
                    f"steps asked again after no answer: {lat.no_answer}; "
                    f"{time.perf_counter() - t_open:,.0f} s since the first report)",
                    flush=True,
                )
                if args.table is not None:
                    with args.table.open("a") as f:
                        f.write(row + "\n")
        finally:
            for u in (handler, supervisor):
                await u.http.aclose()
            stop_console(console)
            engine.dispose()
            stack.stop_workers()
            stats = stack.dir / "worker0.stats.json"
            if stats.exists():
                got = json.loads(stats.read_text())
                print(
                    f"worker: garbage collector {sum(got['gc_seconds']):.1f} s in "
                    f"{got['gc_collections']} collections (generations 0/1/2), "
                    f"peak RSS {got['max_rss_mib']:.0f} MiB (--gc {args.gc})",
                    flush=True,
                )


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        print("interrupted; everything started was stopped", file=sys.stderr)
        sys.exit(130)
