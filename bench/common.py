"""Shared pieces of the Temporal benchmarks: a private dev server, worker processes, the store,
a synthetic policy register, and the plan that makes the floor workflow match the engine.

Everything started here is stopped by :class:`Stack` on exit, on an exception and on
Ctrl-C / SIGTERM (each child runs in its own process group, which is signalled by id).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from claims.infra.temporal import dev_server_command  # noqa: E402
from claims.domain.identity import check_digit  # noqa: E402

BIN = Path(sys.executable).parent
PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rss_mb(pid: int) -> float:
    """Resident set size of a process in MiB (``/proc/<pid>/status``)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds used so far by a process (``/proc/<pid>/stat``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine() -> str:
    """``nproc``, CPU model and RAM of this machine, for the figures' provenance."""
    model = next(
        (
            ln.split(":", 1)[1].strip()
            for ln in Path("/proc/cpuinfo").read_text().splitlines()
            if ln.startswith("model name")
        ),
        "?",
    )
    mem_kb = next(
        int(ln.split()[1])
        for ln in Path("/proc/meminfo").read_text().splitlines()
        if ln.startswith("MemTotal")
    )
    ram = mem_kb / 1024 / 1024
    return f"{os.cpu_count()} cores ({model}), {ram:.0f} GB RAM, Python {sys.version.split()[0]}"


def pct(values: Sequence[float], p: float) -> float:
    """The ``p``-th percentile (nearest rank) of ``values``; NaN when empty."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))]


def median(values: Sequence[float]) -> float:
    """Median, NaN when empty."""
    return statistics.median(values) if values else float("nan")


# --------------------------------------------------------------------------- processes


class Stack:
    """A dev server on free ports in its own temporary folder, plus worker processes.

    Use as a context manager; :meth:`close` stops workers first (SIGTERM, then SIGKILL),
    then the server, and removes nothing the caller did not ask for. SIGTERM to the
    benchmark is turned into ``KeyboardInterrupt`` so the same clean-up runs.

    Args:
        label: a name for the temporary folder.
        keep: keep the temporary folder (server database, logs) after closing.

    The folder is made under ``$CLAIMS_BENCH_DIR`` when set (e.g. ``/dev/shm``: no fsync cost),
    else under the system's temporary directory.
    """

    def __init__(self, label: str, keep: bool = False) -> None:
        base = os.environ.get("CLAIMS_BENCH_DIR") or None
        self.dir = Path(tempfile.mkdtemp(prefix=f"claims-bench-{label}-", dir=base))
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.server: subprocess.Popen[bytes] | None = None
        self.workers: list[subprocess.Popen[bytes]] = []
        self.keep = keep

    def __enter__(self) -> Stack:
        signal.signal(signal.SIGTERM, _raise_interrupt)
        self.start_server()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def db_path(self) -> Path:
        return self.dir / "temporal.db"

    def db_bytes(self) -> int:
        """Size of the server's SQLite database, WAL included."""
        return sum(p.stat().st_size for p in self.dir.glob("temporal.db*"))

    def start_server(self) -> None:
        """``temporal server start-dev --headless`` with the claims' search attributes."""
        cmd = dev_server_command(port=self.port, db_file=self.db_path, log_level="error")
        log = (self.dir / "server.log").open("ab")
        self.server = subprocess.Popen(
            cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True
        )
        end = time.monotonic() + 30
        while time.monotonic() < end:
            if self.server.poll() is not None:
                raise RuntimeError(
                    f"dev server exited {self.server.returncode}; see {self.dir / 'server.log'}"
                )
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.1)
        raise RuntimeError("dev server did not answer in 30 s")

    def start_worker(
        self, args: Sequence[str], name: str, env: dict[str, str] | None = None
    ) -> subprocess.Popen[bytes]:
        """Start ``bench/bench_worker.py`` with ``args``; waits for its ``ready`` line."""
        log_path = self.dir / f"{name}.log"
        ready = self.dir / f"{name}.ready"
        proc = subprocess.Popen(
            [
                sys.executable,
                str(REPO / "bench" / "bench_worker.py"),
                "--address",
                self.address,
                "--ready-file",
                str(ready),
                *args,
            ],
            cwd=REPO,
            stdout=log_path.open("ab"),
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            env={**os.environ, **(env or {})},
        )
        self.workers.append(proc)
        end = time.monotonic() + 60
        while not ready.exists():
            if proc.poll() is not None:
                raise RuntimeError(f"worker {name} exited {proc.returncode}:\n{log_path.read_text()[-3000:]}")
            if time.monotonic() > end:
                raise RuntimeError(f"worker {name} not ready in 60 s; see {log_path}")
            time.sleep(0.1)
        return proc

    def stop_workers(self) -> None:
        """SIGTERM every worker this stack started (SIGKILL after 15 s)."""
        for proc in self.workers:
            _stop(proc, 15)
        self.workers.clear()

    def close(self) -> None:
        """Stop the workers, then the server; remove the folder unless ``keep``."""
        self.stop_workers()
        if self.server is not None:
            _stop(self.server, 10)
            self.server = None
        if not self.keep:
            subprocess.run(["rm", "-rf", str(self.dir)], check=False)


def _raise_interrupt(*_: object) -> None:
    raise KeyboardInterrupt


def _stop(proc: subprocess.Popen[bytes], grace: float) -> None:
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)  # its own group (start_new_session), by id
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    except ProcessLookupError:
        pass


# --------------------------------------------------------------------------- the store


@contextmanager
def store_url(postgres: bool, folder: Path) -> Iterator[str]:
    """A fresh, migrated store: SQLite in ``folder``, or a dedicated PostgreSQL schema that is
    dropped afterwards."""
    from sqlalchemy import text

    from claims.store.db import make_engine, upgrade_database

    if not postgres:
        url = f"sqlite:///{folder / 'claims.db'}"
        upgrade_database(url)
        yield url
        return
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = make_engine(PG_URL)
    with admin.begin() as c:
        c.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        url = f"{PG_URL}?options=-csearch_path%3D{schema}"
        upgrade_database(url)
        yield url
    finally:
        with admin.begin() as c:
            c.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def id_number(i: int) -> str:
    """A made-up GB 11643 identity number with a valid check digit, unique for i < 9,000,000:
    born 1970-01-01 + (i % 9000) days, sequence number i // 9000."""
    born = date(1970, 1, 1) + timedelta(days=i % 9000)
    first17 = f"430111{born:%Y%m%d}{(i // 9000) % 1000:03d}"
    return first17 + check_digit(first17)


def synthetic_register(n: int, tag: str) -> dict[str, Any]:
    """``n`` households of one insured person each, on the family accident plan (45,000 yuan)."""
    households = []
    for i in range(n):
        ref = f"B{tag}{i:06d}"
        households.append(
            {
                "household_no": f"H{tag}{i:06d}",
                "county": f"县{i % 20:02d}",
                "township": f"乡{i % 7}",
                "village": f"村{i % 13}",
                "members": [{"person_ref": ref, "name": "某", "id_number": id_number(i)}],
                "policies": [
                    {
                        "policy_number": f"FA{tag}{i:06d}",
                        "product_code": "family_accident",
                        "terms_version": "family_accident@2020",
                        "start_date": "2026-01-01",
                        "end_date": "2026-12-31",
                        "issued_on": "2025-12-20",
                        "premium": "100.00",
                        "sum_insured": "45000.00",
                        "insured": [ref],
                    }
                ],
            }
        )
    return {"households": households}


def report_for(i: int, tag: str) -> dict[str, Any]:
    """The claim report of household ``i``: a road accident, grade-1 disability, reported in time."""
    return {
        "policy_numbers": [f"FA{tag}{i:06d}"],
        "id_number": id_number(i),
        "accident_date": "2026-03-10",
        "reported_on": "2026-03-12",
        "outcome": "disability",
        "cause": "road_accident",
        "disability_grade": 1,
        "third_party_record": True,
        "reporter": {"id": "sec.bench", "role": "village_secretary"},
    }


DOCUMENTS = [
    "claim_form",
    "claimant_id",
    "bank_card",
    "power_of_attorney",
    "agent_id",
    "disability_assessment",
    "traffic_police_certificate",
]
"""The bench claim's checklist (``rules/documents.json``: grade-1 road accident, green channel,
filed by the village secretary), so ``complete_documents`` finds it received."""


# --------------------------------------------------------------------------- history shape


@dataclass
class Shape:
    """What one claim costs Temporal, read from its history: the floor workflow repeats it.

    Attributes:
        open_activities: activities ``run()`` schedules before the first step.
        open_local: local activities (marker events) before the first step.
        step_activities: per step, in order: activities the Update schedules.
        step_local: per step, in order: local activities the Update runs.
        step_upserts: per step, in order: search-attribute upserts of the Update.
        open_upserts: upserts before the first step.
        close_activities: activities after the last step.
        close_local: local activities after the last step.
        step_timers: per step: timers started after it (the run loop re-arming its SLA timer).
        open_timers: timers started before the first step.
        timers, events, activities, local_activities, updates, upserts, bytes: totals, to
            compare engine and floor.
    """

    open_activities: int = 0
    open_local: int = 0
    open_upserts: int = 0
    steps: list[str] = field(default_factory=list)
    step_activities: list[int] = field(default_factory=list)
    step_local: list[int] = field(default_factory=list)
    step_upserts: list[int] = field(default_factory=list)
    close_activities: int = 0
    close_local: int = 0
    step_timers: list[int] = field(default_factory=list)
    open_timers: int = 0
    timers: int = 0
    events: int = 0
    activities: int = 0
    local_activities: int = 0
    updates: int = 0
    upserts: int = 0
    bytes: int = 0

    def brief(self) -> str:
        return (
            f"{self.events} events, {self.activities} activities + {self.local_activities} local, "
            f"{self.updates} updates, "
            f"{self.timers} timers, {self.upserts} upserts, {self.bytes / 1024:.0f} KiB"
        )


def shape_of(history: Any) -> Shape:
    """The :class:`Shape` of a ``temporalio.client.WorkflowHistory``."""
    from google.protobuf.json_format import MessageToDict

    sh = Shape(events=len(history.events))
    current: int | None = None  # index into steps while an update runs
    for ev in history.events:
        kind = MessageToDict(ev).get("eventType", "")
        kind = kind.removeprefix("EVENT_TYPE_")
        if kind == "WORKFLOW_EXECUTION_UPDATE_ACCEPTED":
            name = ev.workflow_execution_update_accepted_event_attributes.accepted_request.input.name
            current = len(sh.steps)
            sh.steps.append(name)
            sh.step_activities.append(0)
            sh.step_local.append(0)
            sh.step_upserts.append(0)
            sh.step_timers.append(0)
            sh.updates += 1
        elif kind == "WORKFLOW_EXECUTION_UPDATE_COMPLETED":
            current = None
        elif kind == "ACTIVITY_TASK_SCHEDULED":
            sh.activities += 1
            if current is not None:
                sh.step_activities[current] += 1
            elif not sh.steps:
                sh.open_activities += 1
            else:
                sh.close_activities += 1
        elif (
            kind == "MARKER_RECORDED"
            and ev.marker_recorded_event_attributes.marker_name == "core_local_activity"
        ):
            sh.local_activities += 1
            if current is not None:
                sh.step_local[current] += 1
            elif not sh.steps:
                sh.open_local += 1
            else:
                sh.close_local += 1
        elif kind == "UPSERT_WORKFLOW_SEARCH_ATTRIBUTES":
            sh.upserts += 1
            if current is not None:
                sh.step_upserts[current] += 1
            elif not sh.steps:
                sh.open_upserts += 1
        elif kind == "TIMER_STARTED":
            sh.timers += 1
            if sh.steps:
                sh.step_timers[-1] += 1  # the run loop re-arms its timer after a step
            else:
                sh.open_timers += 1
    sh.bytes = len(history.to_json())
    return sh


def shape_json(sh: Shape) -> str:
    return json.dumps(sh.__dict__)


async def gather_limited(n: int, limit: int, fn: Any) -> list[Any]:
    """Run ``fn(i)`` for ``i`` in ``range(n)`` with at most ``limit`` at once."""
    sem = asyncio.Semaphore(limit)

    async def one(i: int) -> Any:
        async with sem:
            return await fn(i)

    return await asyncio.gather(*(one(i) for i in range(n)))
