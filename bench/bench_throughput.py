"""End-to-end throughput: claims carried report → payout, against the bare-workflow floor.

Each phase gets its own dev server (headless, free port, temporary folder) and its own
worker process(es); a driver in this process reports claims and performs every handler
step (register, request / receive / complete documents, adjudicate, approve_payout for
every other claim — above the handler's authority limit — and pay) with ``--concurrency``
claims in flight. The floor (``bench/floor.py``) runs in the same run with the same
number of activities, Updates, upserts and timer re-arms per claim, read from the
engine's own recorded histories. Prints claims/s, p50/p95 per step, CPU seconds per claim
of server, worker(s) and driver, the ratio engine/floor (target ≥ 70 %), and the history
bytes per claim of engine and floor (target ≤ 1.3×).

    .venv/bin/python bench/bench_throughput.py                  # 2,000 claims, 1 worker
    .venv/bin/python bench/bench_throughput.py --workers 2      # horizontal: 1 and 2 workers
    .venv/bin/python bench/bench_throughput.py --claims 500 --repeat 3 --postgres --profile

Everything it starts (servers, workers, py-spy) is stopped on exit, error or Ctrl-C.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (  # noqa: E402
    BIN,
    Shape,
    Stack,
    cpu_seconds,
    gather_limited,
    machine,
    median,
    pct,
    shape_of,
    store_url,
    synthetic_register,
)
from drive import Latencies, drive_engine_claim, drive_floor, plan_of  # noqa: E402
from temporalio.client import Client  # noqa: E402
from temporalio.contrib.pydantic import pydantic_data_converter  # noqa: E402

from claims.store import RegisterFile, load_register  # noqa: E402
from claims.store.db import make_engine, make_sessionmaker, unit_of_work  # noqa: E402

STEP_ORDER = [
    "report",
    "register",
    "request_documents",
    "receive_documents",
    "complete_documents",
    "adjudicate",
    "approve_payout",
    "pay",
]


@dataclass
class Phase:
    """What one phase measured."""

    kind: str
    workers: int
    claims: int
    seconds: float
    lat: Latencies
    cpu: dict[str, float]
    shapes: list[Shape]
    gc_seconds: float = 0.0
    """The workers' cyclic-collector time (``bench_worker.py --stats-file``), all collections."""

    @property
    def rate(self) -> float:
        return self.claims / self.seconds


def worker_args(args: argparse.Namespace) -> list[str]:
    out = ["--activity-threads", str(args.activity_threads)]
    if args.max_concurrent_workflow_tasks:
        out += ["--max-concurrent-workflow-tasks", str(args.max_concurrent_workflow_tasks)]
    if args.max_cached_workflows is not None:
        out += ["--max-cached-workflows", str(args.max_cached_workflows)]
    if args.sdk_sandbox:
        out += ["--sdk-sandbox"]
    out += ["--gc", args.gc]
    return out


def start_profiler(pid: int, out: Path, gil: bool = False) -> subprocess.Popen[bytes] | None:
    """py-spy the process ``pid`` into ``out`` (raw collapsed stacks, 50 samples/s); ``gil``
    samples only the thread holding the GIL (Python CPU, without threads waiting for it)."""
    spy = BIN / "py-spy"
    if not spy.exists():
        print("py-spy is not installed (pip install -e '.[bench]'); no profile", file=sys.stderr)
        return None
    return subprocess.Popen(
        [
            str(spy), "record", "-p", str(pid), "-f", "raw", "-o", str(out), "-r", "50",
            *(["--gil"] if gil else []),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def stop_profiler(proc: subprocess.Popen[bytes] | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


IDLE_LEAVES = ("_worker (concurrent/futures/thread.py:81)", "EpollSelector.select", "wait (threading.py")


def summarise_profile(path: Path, top: int = 25) -> list[str]:
    """Self and inclusive sample shares of the busiest functions in a py-spy raw profile."""
    if not path.exists():
        return []
    total = sandbox = compiling = 0
    incl: dict[str, int] = {}
    self_: dict[str, int] = {}
    for line in path.read_text(errors="replace").splitlines():
        stack, _, n = line.rpartition(" ")
        if not n.isdigit():
            continue
        count = int(n)
        frames = stack.split(";")
        if any(mark in frames[-1] for mark in IDLE_LEAVES):
            continue  # idle: an activity thread waiting for work, the event loop waiting in epoll
        total += count
        # A new workflow run's sandbox (``_Instance._create_instance``: importing the workflow
        # modules afresh), and within it the compiling of their source (``source_to_code``).
        if any("_create_instance (" in f and "workflow_sandbox" in f for f in frames):
            sandbox += count
            if any("source_to_code (" in f for f in frames):
                compiling += count
        for f in set(frames):
            incl[f] = incl.get(f, 0) + count
        self_[frames[-1]] = self_.get(frames[-1], 0) + count
    lines = [f"{total} busy samples; inclusive share of the top frames:"]
    if total:
        lines.insert(
            0,
            f"sandbox: new workflow instances {100 * sandbox / total:.1f} % of busy samples, "
            f"compiling module source {100 * compiling / total:.1f} %",
        )
    for f, n in sorted(incl.items(), key=lambda kv: -kv[1])[:top]:
        lines.append(f"  {100 * n / total:5.1f}%  {f}")
    lines.append("self share:")
    for f, n in sorted(self_.items(), key=lambda kv: -kv[1])[:top]:
        lines.append(f"  {100 * n / total:5.1f}%  {f}")
    return lines


async def run_phase(
    kind: str,
    n: int,
    workers: int,
    args: argparse.Namespace,
    shapes: list[Shape] | None,
    profile_to: Path | None = None,
) -> Phase:
    """One phase on a fresh server: ``kind`` is ``engine`` or ``floor``."""
    tag = uuid.uuid4().hex[:5]
    task_queue = f"bench-{kind}-{tag}"
    with Stack(f"{kind}{workers}", keep=args.keep) as stack:
        with store_url(args.postgres, stack.dir) as url:
            sessions = None
            if kind == "engine":
                engine = make_engine(url)
                sessions = make_sessionmaker(engine)
                with unit_of_work(sessions) as s:
                    load_register(s, RegisterFile.model_validate(synthetic_register(n, tag)))
            procs = [
                stack.start_worker(
                    [
                        "--mode",
                        kind,
                        "--task-queue",
                        task_queue,
                        "--database-url",
                        url,
                        "--stats-file",
                        str(stack.dir / f"worker{w}.stats.json"),
                        *worker_args(args),
                        *(["--floor-runner", args.floor_runner] if kind == "floor" else []),
                    ],
                    f"worker{w}",
                )
                for w in range(workers)
            ]
            client = await Client.connect(stack.address, data_converter=pydantic_data_converter)
            spy = start_profiler(procs[0].pid, profile_to, args.profile_gil) if profile_to else None
            lat = Latencies()
            cpu0 = {f"worker{w}": cpu_seconds(p.pid) for w, p in enumerate(procs)}
            assert stack.server is not None
            cpu0["server"] = cpu_seconds(stack.server.pid)
            me0 = resource.getrusage(resource.RUSAGE_SELF)
            t0 = time.perf_counter()
            try:
                if kind == "engine":
                    await gather_limited(
                        n,
                        args.concurrency,
                        lambda i: drive_engine_claim(client, sessions, i, tag, task_queue, lat),
                    )
                else:
                    assert shapes is not None
                    plans = [plan_of(s) for s in shapes]
                    await gather_limited(
                        n,
                        args.concurrency,
                        lambda i: drive_floor(
                            client, i, plans[i % 2], shapes[i % 2].steps, task_queue, tag, lat
                        ),
                    )
                seconds = time.perf_counter() - t0
            finally:
                stop_profiler(spy)
            me1 = resource.getrusage(resource.RUSAGE_SELF)
            cpu = {
                k: cpu_seconds(p.pid) - cpu0[f"worker{w}"]
                for w, p in enumerate(procs)
                for k in [f"worker{w}"]
            }
            cpu["server"] = cpu_seconds(stack.server.pid) - cpu0["server"]
            cpu["driver"] = (me1.ru_utime + me1.ru_stime) - (me0.ru_utime + me0.ru_stime)
            ids = (
                [f"claim-JS20260310-B{tag}{i:06d}" for i in (0, 1)]
                if kind == "engine"
                else [f"floor-{tag}-{i}" for i in (0, 1)]
            )
            got = [shape_of(await client.get_workflow_handle(w).fetch_history()) for w in ids]
            if kind == "engine":
                engine.dispose()
            stack.stop_workers()
            gc_seconds = 0.0
            for w in range(workers):
                stats = stack.dir / f"worker{w}.stats.json"
                if stats.exists():
                    gc_seconds += sum(json.loads(stats.read_text())["gc_seconds"])
    return Phase(kind, workers, n, seconds, lat, cpu, got, gc_seconds)


def worker_cpu(p: Phase) -> float:
    """CPU seconds per claim of the phase's worker process(es) together."""
    return sum(v for k, v in p.cpu.items() if k.startswith("worker")) / p.claims


def report_phase(p: Phase) -> None:
    cpu = ", ".join(f"{k} {v / p.claims * 1000:.0f} ms" for k, v in p.cpu.items())
    util = sum(p.cpu.values()) / p.seconds
    print(
        f"  {p.kind:<6} {p.workers} worker(s): {p.claims:,} claims in {p.seconds:.1f} s = "
        f"{p.rate:.2f} claims/s; "
        f"CPU per claim: {cpu} (all processes {util:.2f} of {os.cpu_count()} cores), of the workers' "
        f"garbage collector {p.gc_seconds / p.claims * 1000:.1f} ms; "
        f"refused-while-opening retries {p.lat.retries}; "
        f"load average {' / '.join(f'{x:.1f}' for x in os.getloadavg())}"
    )
    cells = []
    for name in STEP_ORDER:
        vals = p.lat.by_step.get(name)
        if vals:
            cells.append(f"{name} {pct(vals, 50) * 1000:.0f}/{pct(vals, 95) * 1000:.0f}")
    print("    p50/p95 ms: " + ", ".join(cells))


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--claims", type=int, default=2000)
    ap.add_argument("--concurrency", type=int, default=64, help="claims in flight in the driver")
    ap.add_argument("--workers", type=int, default=1, help="2: also run with two worker processes")
    ap.add_argument("--repeat", type=int, default=1, help="engine/floor pairs; medians are reported")
    ap.add_argument("--postgres", action="store_true", help="store on PostgreSQL 127.0.0.1:5432/test")
    ap.add_argument("--profile", action="store_true", help="py-spy the (first) engine worker")
    ap.add_argument(
        "--profile-gil",
        action="store_true",
        help="with --profile: sample only the thread holding the GIL, and profile the floor's worker too",
    )
    ap.add_argument(
        "--gc",
        default="tuned",
        help="both workers' collector: tuned (claims.infra.runtime.tune_gc, the claim worker's), "
        "CPython's default, or G0,G1,G2 thresholds",
    )
    ap.add_argument("--activity-threads", type=int, default=16)
    ap.add_argument("--max-concurrent-workflow-tasks", type=int, default=0)
    ap.add_argument("--max-cached-workflows", type=int, default=None)
    ap.add_argument(
        "--sdk-sandbox",
        action="store_true",
        help="engine workers on the SDK's default sandbox runner (the before of workflows/sandbox.py)",
    )
    ap.add_argument(
        "--floor-runner",
        choices=["sdk", "project"],
        default="sdk",
        help="the floor's sandbox runner: sdk (bare Temporal, the floor of record) or project "
        "(workflows.sandbox's runner, whose savings the engine has, given to the floor too)",
    )
    ap.add_argument("--skip-floor", action="store_true", help="engine only (tuning runs)")
    ap.add_argument("--keep", action="store_true", help="keep the servers' folders")
    ap.add_argument("--json", type=Path, help="also write the figures here")
    args = ap.parse_args()
    print(f"machine: {machine()}")
    print(
        f"store: {'PostgreSQL' if args.postgres else 'SQLite'}; driver concurrency {args.concurrency}; "
        f"worker: {' '.join(worker_args(args))}; floor's runner: {args.floor_runner}"
    )
    results: dict[int, dict[str, list[Phase]]] = {}
    profile = Path(os.environ.get("BENCH_PROFILE", "/tmp/claims-bench-profile.txt")) if args.profile else None
    floor_profile = profile.with_suffix(".floor.txt") if (profile and args.profile_gil) else None
    shapes: list[Shape] | None = None
    for workers in sorted({1, args.workers}):
        results[workers] = {"engine": [], "floor": []}
        for r in range(args.repeat):
            e = await run_phase(
                "engine",
                args.claims,
                workers,
                args,
                None,
                profile if (profile and r == 0 and workers == 1) else None,
            )
            shapes = shapes or e.shapes
            results[workers]["engine"].append(e)
            report_phase(e)
            if not args.skip_floor:
                f = await run_phase(
                    "floor",
                    args.claims,
                    workers,
                    args,
                    shapes,
                    floor_profile if (floor_profile and r == 0 and workers == 1) else None,
                )
                results[workers]["floor"].append(f)
                report_phase(f)
    assert shapes is not None
    floor_shapes = results[1]["floor"][0].shapes if results[1]["floor"] else []
    for k, s in enumerate(shapes):
        print(
            f"shape of one claim ({'with' if k == 0 else 'without'} approval): engine {s.brief()}"
            + (f"; floor {floor_shapes[k].brief()}" if floor_shapes else "")
        )
    out: dict[str, Any] = {
        "machine": machine(),
        "claims": args.claims,
        "postgres": args.postgres,
        "floor_runner": args.floor_runner,
    }
    if floor_shapes:
        # History bytes per claim (the JSON form ``temporal workflow show --output json`` prints),
        # both shapes averaged: what a claim costs the server's persistence against the floor's.
        e_kib = sum(s.bytes for s in shapes) / len(shapes) / 1024
        f_kib = sum(s.bytes for s in floor_shapes) / len(floor_shapes) / 1024
        out["history_kib_engine"], out["history_kib_floor"] = e_kib, f_kib
        print(
            f"history per claim: engine {e_kib:.0f} KiB, floor {f_kib:.0f} KiB, "
            f"engine/floor {e_kib / f_kib:.2f}x (target <= 1.3x)"
        )
    print("medians:")
    for workers, by in results.items():
        e = median([p.rate for p in by["engine"]])
        w_cpu = median([worker_cpu(p) for p in by["engine"]])
        line = f"  {workers} worker(s): engine {e:.2f} claims/s, worker CPU {w_cpu * 1000:.0f} ms per claim"
        out[f"engine_{workers}"] = e
        out[f"engine_{workers}_worker_cpu_ms"] = round(w_cpu * 1000, 1)
        e_gc = median([p.gc_seconds / p.claims for p in by["engine"]])
        out[f"engine_{workers}_gc_ms"] = round(e_gc * 1000, 2)
        if by["floor"]:
            f = median([p.rate for p in by["floor"]])
            f_cpu = median([worker_cpu(p) for p in by["floor"]])
            out[f"floor_{workers}"] = f
            out[f"floor_{workers}_worker_cpu_ms"] = round(f_cpu * 1000, 1)
            f_gc = median([p.gc_seconds / p.claims for p in by["floor"]])
            out[f"floor_{workers}_gc_ms"] = round(f_gc * 1000, 2)
            line += (
                f", floor {f:.2f} claims/s (worker CPU {f_cpu * 1000:.0f} ms per claim), "
                f"engine/floor {100 * e / f:.0f} % (target >= 70 %)"
            )
        print(line)
    if 2 in results and 1 in results:
        e1, e2 = out["engine_1"], out["engine_2"]
        print(
            f"  horizontal: 2 workers / 1 worker = {e2 / e1:.2f}x (engine)"
            + (f", {out['floor_2'] / out['floor_1']:.2f}x (floor)" if "floor_2" in out else "")
        )
    if profile:
        print("\n".join(summarise_profile(profile)))
        print(f"raw profile (py-spy collapsed stacks): {profile}")
    if floor_profile:
        print("floor's worker:")
        print("\n".join(summarise_profile(floor_profile)))
        print(f"raw profile of the floor's worker: {floor_profile}")
    if args.json:
        args.json.write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        print("interrupted; everything started was stopped", file=sys.stderr)
        sys.exit(130)
