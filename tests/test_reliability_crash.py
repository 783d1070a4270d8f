"""Crash tests: the worker is SIGKILLed and the server is killed mid-run; no claim is lost,
stuck or paid twice.

The dev server and the worker run as separate processes, as in production. A driver in the
test process carries every claim of a generated register (valid GB 11643 identity numbers)
through the whole flow (report, register, request/receive/complete documents, adjudicate,
supervisor approval above the authority limit, pay) the way handlers would: idempotently by
stage, retrying what failed, with a stable update id per step. Payloads are encrypted
(``CLAIMS_PAYLOAD_KEYS``) on both sides.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import socket
import subprocess
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from claims.errors import StepRejected
from claims.services.client import claim_state, perform_step, report_claim
from claims.infra.codec import data_converter
from claims.store.db import Claim, Payout, make_engine, make_sessionmaker, unit_of_work, upgrade_database
from claims.domain.identity import check_digit
from claims.models import (
    Actor,
    AdjudicateInput,
    ApprovePayoutInput,
    ClearReviewInput,
    ClaimReport,
    ClaimState,
    CompleteDocumentsInput,
    LossFacts,
    PayInput,
    ReceiveDocumentsInput,
    RegisterInput,
    RejectionCode,
    RequestDocumentsInput,
    Role,
    Stage,
)
from claims.infra.temporal import dev_server_command
from claims.store import RegisterFile, load_register
from tests.conftest import BIN, REPO, TEST_PAYLOAD_KEYS

pytestmark = [pytest.mark.slow, pytest.mark.e2e]

DOCS = ["claim_form", "death_certificate"]
STEPS_PER_CLAIM = 6.4
"""Steps per claim on average: six, seven with a supervisor's approval (one in five)."""
WINDOW = 60
"""Claims carried at once."""
CLAIM_BUDGET = 240.0
"""Seconds one claim may take from being taken up to closed, through every crash. An activity
lost with a killed worker is retried after its 30 s start-to-close timeout; adjudication runs
three ordinary activities since benefits are reserved (find, evaluate, reserve), so a claim hit
by two or three kills in its store steps, or deciding again after another member's claim on the
same household policy reserved first, can take over two minutes (it did at 120 s twice, and at
180 s on a machine loaded by other test runs)."""
MIN_KILL_GAP = 6.0
"""Seconds between two kills at least, so each new worker gets some work done."""
COUNTIES = [("宁乡市", "大成桥镇"), ("醴陵市", "左权镇"), ("长沙市雨花区", "黎托街道")]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --------------------------------------------------------------------------- the register


@dataclass
class Person:
    """An insured person of the generated register and the claim reported for them."""

    ref: str
    name: str
    id_number: str
    phone: str
    bank_account: str
    county: str
    village: str
    policies: list[str]
    expected: list[Decimal]  # the ledger amounts, in payment-number order
    accident: date


def make_register(n: int, seed: int = 6) -> tuple[dict[str, Any], list[Person]]:
    """``n`` insured persons in households of four; every fifth household is a hardship
    family with a second policy (100,000 on death), so its claims pay 140,000 in two ledger
    rows and need a supervisor's approval."""
    rng = random.Random(seed)
    households: list[dict[str, Any]] = []
    people: list[Person] = []
    for h in range(n // 4):
        county, township = COUNTIES[h % len(COUNTIES)]
        village = f"测试村{h:03d}"
        hardship = h % 5 == 0
        members = []
        refs = []
        for m in range(4):
            idx = h * 4 + m
            born = date(1970, 1, 1) + timedelta(days=rng.randrange(0, 25 * 365))
            first17 = f"430182{born:%Y%m%d}{rng.randrange(0, 1000):03d}"
            id_number = first17 + check_digit(first17)
            ref = f"C{idx:04d}"
            person = Person(
                ref=ref,
                name=f"测试人员{idx:03d}号",
                id_number=id_number,
                phone=f"139{rng.randrange(10**7, 10**8)}",
                bank_account=f"62170{rng.randrange(10**13, 10**14)}",
                county=county,
                village=village,
                policies=[f"FA2026T{h:04d}"] + ([f"HC2026T{h:04d}"] if hardship else []),
                expected=[Decimal("40000.00")] + ([Decimal("100000.00")] if hardship else []),
                accident=date(2026, 9, 1) + timedelta(days=idx % 60),
            )
            people.append(person)
            refs.append(ref)
            members.append(
                {
                    "person_ref": ref,
                    "name": person.name,
                    "id_number": id_number,
                    "phone": person.phone,
                    "bank_account": person.bank_account,
                }
            )
        policy = {
            "start_date": "2026-01-01",
            "end_date": "2026-12-31",
            "issued_on": "2025-12-15",
            "insured": refs,
        }
        policies = [
            {
                **policy,
                "policy_number": f"FA2026T{h:04d}",
                "product_code": "family_accident",
                "terms_version": "family_accident@2020",
                "premium": "100.00",
                "sum_insured": "40000.00",
            }
        ]
        if hardship:
            policies.append(
                {
                    **policy,
                    "policy_number": f"HC2026T{h:04d}",
                    "product_code": "hardship_comprehensive",
                    "terms_version": "hardship_comprehensive@2020",
                    "premium": "0.00",
                    "sum_insured": "100000.00",
                }
            )
        households.append(
            {
                "household_no": f"T-{h:04d}",
                "county": county,
                "township": township,
                "village": village,
                "hardship": hardship,
                "members": members,
                "policies": policies,
            }
        )
    return {"households": households}, people


def personal_data(people: list[Person]) -> list[str]:
    """Every identity number, phone, bank account and name of the register."""
    return [v for p in people for v in (p.id_number, p.phone, p.bank_account, p.name)]


# --------------------------------------------------------------------------- processes


@dataclass
class Cluster:
    """A dev server and a worker, each its own process, over one data folder."""

    data_dir: Path
    port: int = field(default_factory=free_port)
    server: subprocess.Popen[bytes] | None = None
    worker: subprocess.Popen[bytes] | None = None
    worker_starts: int = 0
    worker_kills: int = 0
    persistent: bool = True

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def worker_log(self) -> Path:
        return self.data_dir / "worker.log"

    def start_server(self) -> None:
        cmd = dev_server_command(
            port=self.port,
            db_file=self.data_dir / "temporal.db" if self.persistent else None,
            # WAL without an fsync per commit: survives a killed process (not a power cut).
            sqlite_pragmas={"journal_mode": "wal", "synchronous": "normal"} if self.persistent else None,
        )
        log = (self.data_dir / "temporal-server.log").open("ab")
        self.server = subprocess.Popen(
            cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            assert self.server.poll() is None, (self.data_dir / "temporal-server.log").read_text()[-2000:]
            with socket.socket() as s:
                s.settimeout(0.2)
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.1)
        raise AssertionError("the dev server did not start")

    def kill_server(self) -> None:
        assert self.server is not None
        self.server.send_signal(signal.SIGKILL)
        self.server.wait()

    def worker_env(self) -> dict[str, str]:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith("CLAIMS_") and k not in ("DATABASE_URL", "TEMPORAL_ADDRESS")
        }
        env.update(
            CLAIMS_DATA_DIR=str(self.data_dir),
            TEMPORAL_ADDRESS=self.address,  # never start a server of its own
            CLAIMS_PAYLOAD_KEYS=TEST_PAYLOAD_KEYS,
            CLAIMS_LOG_FORMAT="json",
        )
        return env

    def start_worker(self) -> None:
        log = self.worker_log.open("ab")
        self.worker = subprocess.Popen(
            [str(BIN / "python"), "worker.py"],
            cwd=REPO,
            env=self.worker_env(),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        self.worker_starts += 1

    def kill_worker(self) -> None:
        assert self.worker is not None
        self.worker.send_signal(signal.SIGKILL)
        self.worker.wait()
        self.worker_kills += 1

    def stop(self) -> None:
        for proc in (self.worker, self.server):
            if proc is not None and proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()


# --------------------------------------------------------------------------- the driver


def next_step(state: ClaimState, person: Person, limit: Decimal) -> tuple[str, Any]:
    """The step a handler would take next on this claim, as the demo driver does."""
    handler = Actor(id=f"handler.{person.ref.lower()}", role=Role.HANDLER, county=person.county)
    if state.stage == Stage.REPORTED:
        return "register", RegisterInput(actor=handler)
    if state.stage == Stage.DOCUMENTS:
        if not state.documents_requested:
            # one notice naming the claim's checklist (enforced at complete_documents) and DOCS
            wanted = list(dict.fromkeys(state.documents_required + DOCS))
            return "request_documents", RequestDocumentsInput(actor=handler, documents=wanted)
        missing = [d for d in state.documents_requested if d not in state.documents_received]
        if missing:
            secretary = Actor(id="sec.test", role=Role.VILLAGE_SECRETARY, village=person.village)
            return "receive_documents", ReceiveDocumentsInput(actor=secretary, documents=missing)
        return "complete_documents", CompleteDocumentsInput(actor=handler)
    if state.stage == Stage.ADJUDICATION:
        facts = LossFacts(outcome="death", cause="drowning")  # type: ignore[arg-type]
        return "adjudicate", AdjudicateInput(actor=handler, facts=facts)
    if state.stage == Stage.PAYOUT:
        assert state.decision is not None
        limit = state.payout_authority_limit or limit
        supervisor = Actor(id="supervisor.test", role=Role.SUPERVISOR, county=person.county)
        if state.review is not None and state.review.open:  # held by rules/review.json: cleared
            return "clear_review", ClearReviewInput(actor=supervisor)
        if state.decision.total > limit and not state.payout_approved:
            return "approve_payout", ApprovePayoutInput(actor=supervisor)
        return "pay", PayInput(actor=handler, transfer_ref=f"TRF-{person.ref}")
    raise AssertionError(f"{state.claim_number}: unexpected stage {state.stage.value}")


@dataclass
class Progress:
    steps: int = 0
    retries: Counter[str] = field(default_factory=Counter)
    samples: dict[str, str] = field(default_factory=dict)
    closed: int = 0


async def carry(client: Any, number: str, person: Person, progress: Progress, budget: float) -> ClaimState:
    """Perform every step the claim still needs until it is closed, retrying through crashes.

    A step that timed out or found nobody to answer is sent again with the same update id:
    the claim performs it once and answers the repeat with the first outcome. The state is
    queried again only after a rejection (a query of a claim not in the new worker's cache
    replays its whole history, so a query storm after each crash is avoided).
    """
    loop = asyncio.get_running_loop()
    end = loop.time() + budget
    state: ClaimState | None = None
    while loop.time() < end:
        try:
            if state is None:
                state = await asyncio.wait_for(claim_state(client, number), 30)
            if state.stage == Stage.CLOSED:
                progress.closed += 1
                return state
            if state.stage == Stage.REPORTED and not state.clocks:  # still being opened
                state = None
                await asyncio.sleep(0.5)
                continue
            name, inp = next_step(state, person, Decimal("50000.00"))
            state = await perform_step(
                client, number, inp, timeout=timedelta(seconds=60), update_id=f"{number}/{name}"
            )
            progress.steps += 1
        except StepRejected as e:
            progress.retries[e.step] += 1
            progress.samples.setdefault(str(e)[:60], str(e)[:200])
            if e.code not in (RejectionCode.CLAIM_BUSY, RejectionCode.CLAIM_OPENING):
                state = None
            await asyncio.sleep(1.0)
        except Exception as e:  # noqa: BLE001 - the worker or server is down: send the same again
            progress.retries[type(e).__name__] += 1
            progress.samples.setdefault(type(e).__name__ + str(e)[:40], str(e)[:200])
            await asyncio.sleep(1.0)
    raise AssertionError(f"{number} not closed within {budget:.0f} s; last state {state and state.stage}")


async def report(client: Any, sessions: Any, p: Person, budget: float = 60) -> str:
    """Report one claim (intake and workflow start), again until it is recorded: a repeat
    finds the same claim."""
    report = ClaimReport(
        policy_numbers=p.policies,
        id_number=p.id_number,
        accident_date=p.accident,
        reported_on=p.accident + timedelta(days=1),
        outcome="death",  # type: ignore[arg-type]
        cause="drowning",
        reporter=Actor(id="sec.test", role=Role.VILLAGE_SECRETARY, village=p.village),
    )
    loop = asyncio.get_running_loop()
    end = loop.time() + budget
    while True:
        try:
            with sessions() as s:
                result = await report_claim(client, s, report)
            return result.claim.claim_number
        except Exception:  # noqa: BLE001 - the server is restarting
            if loop.time() > end:
                raise
            await asyncio.sleep(0.5)


async def report_all(client: Any, sessions: Any, people: list[Person]) -> dict[str, Person]:
    """Report every claim (intake, workflow start); returns them by claim number."""
    numbers: dict[str, Person] = {}
    for person in people:
        numbers[await report(client, sessions, person)] = person
    return numbers


async def drive(client: Any, numbers: dict[str, Person], progress: Progress) -> None:
    """Carry every claim until all are closed, ``WINDOW`` at a time (as a county office
    works: a bounded number of claims in hand); each must close within ``CLAIM_BUDGET``
    seconds of being taken up, crashes included."""
    gate = asyncio.Semaphore(WINDOW)

    async def one(number: str, person: Person) -> ClaimState:
        async with gate:
            return await carry(client, number, person, progress, budget=CLAIM_BUDGET)

    await asyncio.gather(*(one(n, p) for n, p in numbers.items()))


def check_everything_closed_and_paid_once(sessions: Any, numbers: dict[str, Person]) -> None:
    with sessions() as s:
        rows = s.scalars(select(Payout)).all()
        ledger: dict[str, list[tuple[int, Decimal]]] = {}
        for r in rows:
            ledger.setdefault(r.claim_number, []).append((r.payment_number, Decimal(r.amount)))
        for number, person in numbers.items():
            expected = [(i, a) for i, a in enumerate(person.expected, start=1)]
            assert sorted(ledger.get(number, [])) == expected, number
            row = s.get(Claim, number)
            assert row is not None and row.stage == "closed", number
        assert len(rows) == sum(len(p.expected) for p in numbers.values())
        assert set(ledger) == set(numbers)
        assert s.query(Claim).count() == len(numbers)


async def check_workflows(client: Any, numbers: dict[str, Person]) -> None:
    for number in numbers:
        state = await claim_state(client, number)
        assert state.stage == Stage.CLOSED, number
        assert [t.event for t in state.timeline].count("paid") == 1, number
        assert [p.amount for p in state.payments] == numbers[number].expected
    total = await client.count_workflows("WorkflowType = 'ClaimWorkflow'")
    assert total.count == len(numbers)  # none duplicated
    # none left running short of closed (a closed claim's workflow waits out the SLA policy's
    # reopen period, 90 calendar days, still Running with ClaimStage 'closed')
    for _ in range(50):
        running = await client.count_workflows(
            "WorkflowType = 'ClaimWorkflow' AND ExecutionStatus = 'Running' AND ClaimStage != 'closed'"
        )
        if running.count == 0:
            break
        await asyncio.sleep(0.2)
    assert running.count == 0


def check_logs_hold_no_personal_data(texts: list[str], people: list[Person]) -> None:
    for text in texts:
        assert text, "empty log"
        leaked = [v for v in personal_data(people) if v in text]
        assert not leaked, f"personal data in the logs: {len(leaked)} values, e.g. {leaked[0][:6]}…"


def prepare(tmp_path: Path, n: int) -> tuple[Cluster, Any, Any, list[Person]]:
    register, people = make_register(n)
    url = f"sqlite:///{tmp_path / 'claims.db'}"
    upgrade_database(url)
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    with unit_of_work(sessions) as s:
        load_register(s, RegisterFile.model_validate(register))
    (tmp_path / "register.json").write_text(json.dumps(register, ensure_ascii=False), "utf-8")
    return Cluster(tmp_path), engine, sessions, people


async def connect_client(address: str) -> Any:
    """A client of the dev server at ``address``; the server's port opens before its frontend
    is healthy ("Frontend is not healthy yet"), so connecting is tried again for up to 30 s."""
    from temporalio.client import Client

    deadline = time.monotonic() + 30
    while True:
        try:
            return await Client.connect(address, data_converter=data_converter(TEST_PAYLOAD_KEYS))
        except RuntimeError as e:
            if "not healthy" not in str(e) or time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.2)


# --------------------------------------------------------------------------- the tests


async def test_200_claims_survive_a_worker_killed_at_random_points(tmp_path: Path) -> None:
    seed = int(os.environ.get("CLAIMS_CRASH_SEED", "20261129"))
    rng = random.Random(seed)
    cluster, engine, sessions, people = prepare(tmp_path, 200)
    cluster.persistent = False  # the worker crashes here, not the server: keep it fast
    progress = Progress()
    cluster.start_server()
    try:
        client = await connect_client(cluster.address)
        # Reported while no worker runs: the claims wait on the server, as after an outage.
        numbers = await report_all(client, sessions, people)
        cluster.start_worker()
        driver = asyncio.create_task(drive(client, numbers, progress))
        # SIGKILL the worker at random points while claims are in flight, 5 times; a kill
        # lands anywhere: in a workflow task, an activity, between a write and its answer.
        kill_points = sorted(rng.uniform(0.03, 0.75) for _ in range(5))
        last_kill = -1e9
        for point in kill_points:
            while (
                progress.steps < point * STEPS_PER_CLAIM * len(people)
                or time.monotonic() - last_kill < MIN_KILL_GAP
            ) and not driver.done():
                await asyncio.sleep(0.05)
            last_kill = time.monotonic()
            assert not driver.done(), f"claims finished before kill {cluster.worker_kills + 1} (seed {seed})"
            cluster.kill_worker()
            await asyncio.sleep(rng.uniform(0.0, 1.0))
            cluster.start_worker()
        await driver
        assert progress.closed == 200 and len(numbers) == 200
        await check_workflows(client, numbers)
        check_everything_closed_and_paid_once(sessions, numbers)
        assert cluster.worker_kills == 5 and cluster.worker_starts == 6
    finally:
        cluster.stop()
        engine.dispose()
    check_logs_hold_no_personal_data([cluster.worker_log.read_text("utf-8")], people)


async def test_claims_resume_after_the_server_is_killed_and_restarted_on_the_same_database(
    tmp_path: Path,
) -> None:
    cluster, engine, sessions, people = prepare(tmp_path, 60)
    progress = Progress()
    cluster.start_server()
    try:
        client = await connect_client(cluster.address)
        # Reported while no worker runs: the claims wait on the server, as after an outage.
        numbers = await report_all(client, sessions, people)
        cluster.start_worker()
        driver = asyncio.create_task(drive(client, numbers, progress))
        while progress.steps < 0.4 * STEPS_PER_CLAIM * len(people) and not driver.done():
            await asyncio.sleep(0.05)
        assert not driver.done(), "the claims finished before the server crash"
        closed_before = progress.closed
        cluster.kill_server()  # SIGKILL: no clean shutdown
        await asyncio.sleep(1.0)
        cluster.start_server()  # the same database file and port
        await driver
        assert closed_before < 60 and progress.closed == 60 and len(numbers) == 60
        await check_workflows(client, numbers)
        check_everything_closed_and_paid_once(sessions, numbers)
        assert cluster.worker_starts == 1  # the worker rode through the outage
    finally:
        cluster.stop()
        engine.dispose()
    check_logs_hold_no_personal_data([cluster.worker_log.read_text("utf-8")], people)
