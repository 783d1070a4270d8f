"""Benchmark: the web console under 20 concurrent users with 10,000 claims in the projection.

One job: measure what a county office's handlers wait for in the browser, and what the
console adds to a step. In one run, on a private dev server with one engine worker
(``bench/common.py``), a SQLite store in the run's temporary folder and the console served by
``claims web`` (uvicorn, its own process) on a free port:

- **10,000 claims in the projection**, inserted as rows directly (no workflows; as
  ``bench_overdue.py`` does), all in the handlers' county ``县00`` (the worst case for the
  county-scoped queries): stages documents / adjudication / investigation / payout assigned
  round-robin to the 20 handlers, 10 % new reports not yet assigned, deadlines spread from
  400 hours overdue to 40 days ahead (~5 % breached, ~5 % due within two days);
- **real claims** (``--rounds`` × users × 3, default 300) reported through the service's
  intake and opened by the worker, on the same county: the claim pages read their workflow's
  state (a Query answered by the worker), and each is registered (立案) once in the step
  comparison;
- **20 users** (``--users``), each its own handler account (``claims.services.accounts``)
  logged in through ``POST /login`` with its own httpx client (cookies, CSRF token), all at
  once with asyncio.

Printed: the load average at the start and the end, p50/p95 of ``GET /inbox`` (the landing
page: the five tab counts and a page of 50 rows) and of ``GET /claims/{number}``
(projection row + workflow Query + render; on the real claims only: the 10,000 inserted rows
have no workflow), and p95 of the ``register`` step performed
(a) through the service layer directly (``claims.services.steps.perform``, in this process),
(b) through the console as a plain form post (``POST /claims/{n}/steps/register`` → 303) and
(c) as htmx does it (the same POST with ``HX-Request``: the claim panel rendered from the
state the step returned), rounds interleaved and their order rotated; the ratios (b)/(a) and
(c)/(a). Targets (issue 14): inbox p95 under 150 ms, step overhead under 20 %. Latencies are
measured by the load generator (this process, also the service-path caller), so they include
its own share of the two cores.

    .venv/bin/python bench/bench_console.py [--claims 10000] [--users 20] [--inbox-requests 25]
        [--page-requests 10] [--rounds 5]

``CLAIMS_BENCH_DIR=/dev/shm`` puts the server database and the store on tmpfs.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_throughput import start_profiler, stop_profiler, summarise_profile  # noqa: E402
from common import (  # noqa: E402
    BIN,
    REPO,
    Stack,
    cpu_seconds,
    free_port,
    gather_limited,
    machine,
    median,
    pct,
    report_for,
    rss_mb,
    store_url,
    synthetic_register,
)
from sqlalchemy import func, insert, select  # noqa: E402

from claims.errors import StepRejected  # noqa: E402
from claims.infra.settings import Settings, StoreSettings, TemporalSettings, WebSettings  # noqa: E402
from claims.models import Actor, ClaimReport, RegisterInput, RejectionCode, Role  # noqa: E402
from claims.models.common import TASK_QUEUE  # noqa: E402
from claims.services import accounts, steps  # noqa: E402
from claims.services.client import report_claim  # noqa: E402
from claims.services.context import Services  # noqa: E402
from claims.store import RegisterFile, load_register  # noqa: E402
from claims.store.db import Claim, Household, InsuredPerson, make_engine, make_sessionmaker, unit_of_work  # noqa: E402

COUNTY = "县00"
PASSWORD = "bench console password"
SECRET = "bench-console-secret-" + "x" * 32
OFFSET = 1_000_000
"""Ids of the inserted households and persons start here (the register's own rows are below)."""


# --------------------------------------------------------------------------- data


def fill_projection(sessions: Any, n: int, users: int, now: datetime) -> None:
    """``n`` open claims in :data:`COUNTY`, inserted as projection rows (module docstring)."""
    rng = random.Random(14)
    persons = max(1, n // 10)
    stages = ["documents", "adjudication", "investigation", "payout"]
    with sessions() as s:
        s.execute(
            insert(Household),
            [dict(id=OFFSET, household_no="HBENCHCONSOLE", county=COUNTY, township="乡0", village="村0")],
        )
        s.execute(
            insert(InsuredPerson),
            [
                dict(
                    id=OFFSET + i,
                    person_ref=f"PBC{i:06d}",
                    household_id=OFFSET,
                    name="王某某",
                    id_number=f"9{i:017d}",
                    sex="F",
                    birth_date=date(1970, 1, 1),
                )
                for i in range(persons)
            ],
        )
        rows = []
        for i in range(n):
            r = rng.random()
            if r < 0.05:
                due, state = now - timedelta(hours=rng.randint(1, 400)), "breached"
            elif r < 0.10:
                due, state = now + timedelta(hours=rng.randint(1, 47)), "at_risk"
            else:
                due, state = now + timedelta(days=rng.randint(3, 40)), "on_track"
            new = i % 10 == 0
            rows.append(
                dict(
                    claim_number=f"JS20260101-C{i:06d}",
                    workflow_id=f"claim-JS20260101-C{i:06d}",
                    person_id=OFFSET + i % persons,
                    accident_date=date(2020, 1, 1) + timedelta(days=i // persons),
                    reported_on=date(2026, 11, 1),
                    policy_numbers="FABENCH",
                    outcome="disability",
                    stage="reported" if new else stages[i % len(stages)],
                    county=COUNTY,
                    township=f"乡{i % 7}",
                    village=f"村{i % 13}",
                    assigned_handler=None if new else f"handler.w{i % users:02d}",
                    green_channel=i % 17 == 0,
                    case_class="ordinary",
                    sla_state=state,
                    sla_deadline=due,
                    target_working_days=5,
                    reported_at=now - timedelta(days=5),
                    updated_at=now,
                )
            )
        for k in range(0, n, 5_000):
            s.execute(insert(Claim), rows[k : k + 5_000])
        s.commit()


async def open_real_claims(services: Services, n: int, tag: str) -> list[str]:
    """Report ``n`` claims of the synthetic register (all moved to :data:`COUNTY`) and wait
    until the worker has opened them (registration clock running)."""
    client = await services.client()

    async def one(i: int) -> str:
        report = ClaimReport.model_validate(report_for(i, tag))
        with services.sessions() as s:
            result = await report_claim(client, s, report, task_queue=TASK_QUEUE)
        return result.claim.claim_number

    numbers = await gather_limited(n, 16, one)
    end = time.monotonic() + 300
    while time.monotonic() < end:
        with services.sessions() as s:
            opened = s.execute(
                select(func.count()).where(Claim.claim_number.in_(numbers), Claim.sla_deadline.is_not(None))
            ).scalar_one()
        if opened == n:
            break
        await asyncio.sleep(0.5)
    else:
        print(f"  warning: only {opened} of {n} claims opened after 300 s")
    return numbers


# --------------------------------------------------------------------------- the console


def start_console(stack: Stack, url: str, port: int) -> subprocess.Popen[bytes]:
    """``claims web --port PORT`` on the run's store and server (own process group)."""
    env = {
        **os.environ,
        "TEMPORAL_ADDRESS": stack.address,
        "DATABASE_URL": url,
        "CLAIMS_DATA_DIR": str(stack.dir),
        "CLAIMS_WEB_SECRET": SECRET,
        "CLAIMS_LOG_LEVEL": "WARNING",
        "CLAIMS_LOG_FORMAT": "json",
    }
    for name in ("CLAIMS_ACTOR", "CLAIMS_ROLE", "CLAIMS_COUNTY", "CLAIMS_VILLAGE", "CLAIMS_PAYLOAD_KEYS"):
        env.pop(name, None)
    log = (stack.dir / "console.log").open("ab")
    proc = subprocess.Popen(
        [str(BIN / "claims"), "web", "--port", str(port)],
        cwd=REPO,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    end = time.monotonic() + 60
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise RuntimeError(
                f"claims web exited {proc.returncode}:\n{(stack.dir / 'console.log').read_text()[-3000:]}"
            )
        try:
            if httpx.get(f"http://127.0.0.1:{port}/login", timeout=2).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError("the console did not answer in 60 s")


def stop_console(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)  # its own group, by id
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


class User:
    """One logged-in handler: an httpx client with its session and CSRF cookies."""

    def __init__(self, base: str, uid: str) -> None:
        self.uid = uid
        self.actor = Actor(id=uid, role=Role.HANDLER, county=COUNTY)
        self.http = httpx.AsyncClient(base_url=base, timeout=60, follow_redirects=False)

    async def login(self) -> None:
        page = await self.http.get("/login")
        token = self.http.cookies.get("csrftoken")
        if token is None:
            raise RuntimeError("the login page set no CSRF cookie")
        r = await self.http.post(
            "/login", data={"username": self.uid, "password": PASSWORD, "csrftoken": token}
        )
        if r.status_code != 303 or page.status_code != 200:
            raise RuntimeError(f"login of {self.uid}: {r.status_code} {r.text[:200]}")

    @property
    def token(self) -> str:
        return self.http.cookies.get("csrftoken") or ""


async def timed(fn: Callable[[], Awaitable[httpx.Response]], expect: int) -> float:
    t0 = time.perf_counter()
    r = await fn()
    seconds = time.perf_counter() - t0
    if r.status_code != expect:
        raise RuntimeError(
            f"{r.request.method} {r.request.url.path}: {r.status_code} (expected {expect}): {r.text[:300]}"
        )
    return seconds


def load() -> str:
    """The machine's 1, 5 and 15-minute load averages (other work on the cores skews latencies)."""
    return ", ".join(f"{v:.2f}" for v in os.getloadavg())


def ms(values: list[float], p: float) -> str:
    return f"{pct(values, p) * 1000:.0f}"


# --------------------------------------------------------------------------- main


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--claims", type=int, default=10_000, help="projection rows inserted (default 10,000)")
    ap.add_argument("--users", type=int, default=20, help="concurrent users, each its own handler account")
    ap.add_argument("--inbox-requests", type=int, default=25, help="GET /inbox per user")
    ap.add_argument("--page-requests", type=int, default=10, help="GET /claims/{n} per user")
    ap.add_argument("--rounds", type=int, default=5, help="step rounds (each: users × 3 registrations)")
    ap.add_argument(
        "--sequential", type=int, default=20, help="then steps one at a time, per path (the bare overhead)"
    )
    ap.add_argument("--keep", action="store_true", help="keep the run's folder (logs, databases)")
    ap.add_argument(
        "--profile",
        action="store_true",
        help="record the console process with py-spy during the inbox and the step phases "
        "(pip install -e '.[bench]'); raw stacks in $BENCH_PROFILE-{inbox,steps}.txt",
    )
    args = ap.parse_args()
    n_real = args.rounds * args.users * 3 + args.sequential * 3
    base = os.environ.get("BENCH_PROFILE", "/tmp/claims-bench-console-profile")
    profiles = {phase: Path(f"{base}-{phase}.txt") for phase in ("inbox", "steps")}
    for path in profiles.values():
        path.unlink(missing_ok=True)
    tag = uuid.uuid4().hex[:5]
    print(f"machine: {machine()}")
    print(f"load average at the start: {load()}")
    with Stack("console", keep=args.keep) as stack, store_url(False, stack.dir) as url:
        engine = make_engine(url)
        sessions = make_sessionmaker(engine)
        register = synthetic_register(n_real, tag)
        for household in register["households"]:
            household["county"] = COUNTY
        with unit_of_work(sessions) as s:
            load_register(s, RegisterFile.model_validate(register))
        stack.start_worker(["--mode", "engine", "--task-queue", TASK_QUEUE, "--database-url", url], "worker")
        now = datetime.now(UTC)
        t0 = time.perf_counter()
        fill_projection(sessions, args.claims, args.users, now)
        print(f"projection: {args.claims:,} claims in {COUNTY} inserted in {time.perf_counter() - t0:.1f} s")
        settings = Settings(
            store=StoreSettings(data_dir=stack.dir, database_url=url),
            temporal=TemporalSettings(address=stack.address),
            web=WebSettings(secret=SECRET),
        )
        services = Services(settings, sessions=sessions)
        uids = [f"handler.w{u:02d}" for u in range(args.users)]
        for uid in uids:
            accounts.add_user(services, uid, "handler", PASSWORD, county=COUNTY)
        t0 = time.perf_counter()
        numbers = await open_real_claims(services, n_real, tag)
        print(f"real claims: {n_real} reported and opened in {time.perf_counter() - t0:.1f} s")
        with sessions() as s:
            total = s.execute(select(func.count()).select_from(Claim)).scalar_one()
        print(f"projection now holds {total:,} claims; {args.users} handler accounts in {COUNTY}")

        port = free_port()
        console = start_console(stack, url, port)
        users = [User(f"http://127.0.0.1:{port}", uid) for uid in uids]
        try:
            # the first login alone: the console's first store access migrates the store
            # (claims.services.context.Services.sessions), which is not safe to run twice at once
            await users[0].login()
            await asyncio.gather(*(u.login() for u in users[1:]))
            pages = numbers[: max(args.users, min(len(numbers), 100))]
            # warm-up: templates compiled, connections pooled, each user's first page
            await asyncio.gather(*(u.http.get("/inbox") for u in users))
            await asyncio.gather(
                *(u.http.get(f"/claims/{pages[i % len(pages)]}") for i, u in enumerate(users))
            )

            # ---- inbox
            inbox: list[float] = []
            spy = start_profiler(console.pid, profiles["inbox"]) if args.profile else None
            cpu0 = cpu_seconds(console.pid)
            t0 = time.perf_counter()

            async def read_inbox(u: User) -> None:
                for _ in range(args.inbox_requests):
                    inbox.append(await timed(lambda: u.http.get("/inbox"), 200))

            await asyncio.gather(*(read_inbox(u) for u in users))
            wall = time.perf_counter() - t0
            inbox_cpu = (cpu_seconds(console.pid) - cpu0) / len(inbox)
            rss = {"after the inbox phase": rss_mb(console.pid)}
            stop_profiler(spy)
            sample = (await users[0].http.get("/inbox")).text
            rows = sample.count("<tr") - 1

            # ---- claim page
            page_lat: list[float] = []

            async def read_pages(k: int, u: User) -> None:
                for j in range(args.page_requests):
                    number = pages[(k * args.page_requests + j) % len(pages)]
                    page_lat.append(await timed(lambda n=number: u.http.get(f"/claims/{n}"), 200))

            cpu0 = cpu_seconds(console.pid)
            await asyncio.gather(*(read_pages(k, u) for k, u in enumerate(users)))
            page_cpu = (cpu_seconds(console.pid) - cpu0) / len(page_lat)
            rss["after the claim pages"] = rss_mb(console.pid)

            # ---- a step: the service directly, the console's form post, the console's htmx post
            lat: dict[str, list[float]] = {"service": [], "form": [], "htmx": []}
            retries = {"service": 0, "form": 0, "htmx": 0}
            todo = iter(numbers)

            async def by_service(u: User, number: str) -> None:
                while True:
                    t = time.perf_counter()
                    try:
                        await steps.perform(services, u.actor, number, RegisterInput(actor=u.actor))
                    except StepRejected as e:
                        if e.code != RejectionCode.CLAIM_OPENING:
                            raise
                        retries["service"] += 1
                        await asyncio.sleep(0.05)
                        continue
                    lat["service"].append(time.perf_counter() - t)
                    return

            async def by_console(u: User, number: str, how: str) -> None:
                headers = {"x-csrftoken": u.token}
                expect = 303
                if how == "htmx":
                    headers["hx-request"] = "true"
                    expect = 200
                t = time.perf_counter()
                r = await u.http.post(
                    f"/claims/{number}/steps/register", data={"csrftoken": u.token}, headers=headers
                )
                seconds = time.perf_counter() - t
                if r.status_code != expect or (how == "htmx" and "已完成" not in r.text):
                    raise RuntimeError(f"console {how} register {number}: {r.status_code} {r.text[:300]}")
                lat[how].append(seconds)

            async def batch(how: str) -> None:
                work = [(u, next(todo)) for u in users]
                if how == "service":
                    await asyncio.gather(*(by_service(u, n) for u, n in work))
                else:
                    await asyncio.gather(*(by_console(u, n, how) for u, n in work))

            order = ["service", "form", "htmx"]
            spy = start_profiler(console.pid, profiles["steps"]) if args.profile else None
            for r in range(args.rounds):
                for how in order[r % 3 :] + order[: r % 3]:
                    await batch(how)
            stop_profiler(spy)
            rss["after the steps"] = rss_mb(console.pid)
            concurrent, lat = lat, {"service": [], "form": [], "htmx": []}
            for r in range(args.sequential):  # one user, one step at a time
                for how in order[r % 3 :] + order[: r % 3]:
                    if how == "service":
                        await by_service(users[0], next(todo))
                    else:
                        await by_console(users[0], next(todo), how)
            sequential = lat
        finally:
            await asyncio.gather(*(u.http.aclose() for u in users), return_exceptions=True)
            stop_console(console)
            engine.dispose()

    inbox_p95 = pct(inbox, 95)
    print(f"load average at the end: {load()} (the figures share the cores with whatever else ran)")
    print()
    print(f"inbox  GET /inbox (all, {rows} rows shown), {len(inbox)} requests by {args.users} users at once:")
    print(
        f"  p50 {ms(inbox, 50)} ms, p95 {ms(inbox, 95)} ms, max {max(inbox) * 1000:.0f} ms; "
        f"{len(inbox) / wall:.0f} pages/s; console CPU {inbox_cpu * 1000:.1f} ms a page; "
        f"target p95 < 150 ms: "
        + ("met" if inbox_p95 < 0.150 else f"NOT met (by {(inbox_p95 - 0.150) * 1000:.0f} ms)")
    )
    print(f"claim  GET /claims/{{n}} ({len(pages)} real claims, workflow Query), {len(page_lat)} requests:")
    print(
        f"  p50 {ms(page_lat, 50)} ms, p95 {ms(page_lat, 95)} ms, max {max(page_lat) * 1000:.0f} ms; "
        f"console CPU {page_cpu * 1000:.1f} ms a page"
    )
    for title, lat in (
        (f"{args.rounds} rounds of {args.users} at once per path", concurrent),
        (f"one at a time, {args.sequential} per path", sequential),
    ):
        if not lat["service"]:
            continue
        s95 = pct(lat["service"], 95)
        print(f"step   register, {title} (ms):")
        for how, label in (
            ("service", "service layer (steps.perform)"),
            ("form", "console, form post → 303"),
            ("htmx", "console, htmx post → panel"),
        ):
            values = lat[how]
            ratio = pct(values, 95) / s95
            extra = (
                ""
                if how == "service"
                else f"; p95 ratio to the service {ratio:.2f} ({(ratio - 1) * 100:+.0f} %), "
                f"median {(median(values) - median(lat['service'])) * 1000:+.0f} ms"
            )
            print(
                f"  {label:32s} n={len(values):3d} p50 {ms(values, 50):>5s} p95 {ms(values, 95):>5s}{extra}"
            )
        for how in ("form", "htmx"):
            over = pct(lat[how], 95) / s95 - 1
            print(
                f"  step overhead ({how}) target < 20 %: "
                f"{'met' if over < 0.20 else f'NOT met ({over * 100:.0f} %)'}"
            )
    if any(retries.values()):
        print(f"  retries (claim still opening): {retries}")
    print("console RSS: " + ", ".join(f"{mib:.0f} MiB {when}" for when, mib in rss.items()))
    if args.profile:
        for phase, path in profiles.items():
            print(f"\nconsole profile, {phase} phase ({path}):")
            print("\n".join(summarise_profile(path, top=30)))


if __name__ == "__main__":
    asyncio.run(main())
