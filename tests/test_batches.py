"""Payout batches (现场理赔, issue 17) on the time-skipping server: three 宁乡市 claims in stage
payout gathered by the county's supervisor and paid once with one transfer reference (three
ledger rows carrying the batch id, the claims closed); a batch naming a closed claim, a claim
of another county, a claim above the authority limit not approved, or a handler's batch is
refused, naming the claim or the reason."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select

from claims.domain.timeutil import today_in_shanghai
from claims.errors import ClaimNotFound, InputError, NotAllowed
from claims.infra.settings import get_settings
from claims.models import (
    Actor,
    AdjudicateInput,
    ClaimReport,
    LossFacts,
    Outcome,
    PayInput,
    RegisterInput,
    Role,
    Stage,
)
from claims.services.batches import NotPayable, batch_id_for, batch_sheet, create_batch, pay_batch
from claims.services.client import claim_state, perform_step, report_claim, wait_until_open
from claims.services.context import Services
from claims.store.batches import ledger_batch_ids
from claims.store.db import Payout
from tests.support.harness import Harness, complete_documents

COUNTY = "宁乡市"
HANDLER = Actor(id="handler.ningxiang", role=Role.HANDLER)
SUPERVISOR = Actor(id="sup.ningxiang", role=Role.SUPERVISOR, county=COUNTY)
SECRETARY = Actor(id="sec.dachengqiao", role=Role.VILLAGE_SECRETARY)
ID_NUMBERS = ("430182197503120314", "430182197805200424", "430182200209150533")  # P0001..P0003, FA2021NX0001


async def to_payout(h: Harness, id_number: str, grade: int) -> str:
    """A road accident on the 宁乡市 family accident plan, taken to stage payout."""
    report = ClaimReport(
        policy_numbers=["FA2021NX0001"],
        id_number=id_number,
        accident_date=date(2021, 9, 1),
        reported_on=date(2021, 9, 3),
        outcome=Outcome.DISABILITY,
        cause="road_accident",
        disability_grade=grade,
        third_party_record=True,
        reporter=SECRETARY,
    )
    with h.sessions() as s:
        result = await report_claim(h.client, s, report, task_queue=h.task_queue)
    number = result.claim.claim_number
    await wait_until_open(h.client, number)
    await perform_step(h.client, number, RegisterInput(actor=HANDLER))
    await complete_documents(h.client, number, HANDLER)
    facts = LossFacts(outcome=Outcome.DISABILITY, cause="road_accident", disability_grades=[grade])
    state = await perform_step(h.client, number, AdjudicateInput(actor=HANDLER, facts=facts))
    assert state.stage == Stage.PAYOUT, state.timeline[-1]
    return number


def services(h: Harness) -> Services:
    return Services(get_settings(), sessions=h.sessions, client=h.client)


async def test_a_batch_of_three_claims_is_paid_once_with_one_transfer(harness: Harness) -> None:
    numbers = [await to_payout(harness, n, 5) for n in ID_NUMBERS]
    states = [await claim_state(harness.client, n) for n in numbers]
    amounts = [s.decision.total for s in states if s.decision is not None]
    assert len(amounts) == 3 and all(a > 0 for a in amounts)
    svc = services(harness)

    sheet = await create_batch(svc, SUPERVISOR, COUNTY, numbers, "2021年9月20日 大成桥镇现场理赔会")
    assert sheet.status == "open" and sheet.county == COUNTY and sheet.batch_id.startswith("PB")
    # named by the office's date in Asia/Shanghai (the day the batch was made up there)
    assert sheet.batch_id[2:10] == f"{today_in_shanghai(sheet.created_at):%Y%m%d}"
    assert [r.claim_number for r in sheet.rows] == numbers
    assert [r.position for r in sheet.rows] == [1, 2, 3]
    assert all(r.stage == "payout" and r.paid == Decimal("0.00") for r in sheet.rows)
    # a claim already in an open batch cannot be in a second one
    with pytest.raises(NotPayable, match=f"already in open batch {sheet.batch_id}"):
        await create_batch(svc, SUPERVISOR, COUNTY, numbers[:1], "another event")

    result = await pay_batch(svc, SUPERVISOR, sheet.batch_id, "TRF-NX-BATCH-01")
    assert result.refused == {}
    paid = result.sheet
    assert (
        paid.status == "paid" and paid.transfer_ref == "TRF-NX-BATCH-01" and paid.paid_by == "sup.ningxiang"
    )
    assert [r.paid for r in paid.rows] == amounts and paid.total_paid == sum(amounts)
    with harness.sessions() as s:
        rows = s.scalars(select(Payout).where(Payout.claim_number.in_(numbers))).all()
        assert len(rows) == 3
        assert {r.transfer_ref for r in rows} == {"TRF-NX-BATCH-01"}
        for n in numbers:
            assert ledger_batch_ids(s, n) == [sheet.batch_id]
    for n in numbers:
        state = await claim_state(harness.client, n)
        assert state.stage == Stage.CLOSED and len(state.payments) == 1

    # paying the batch again pays nobody twice; another reference is refused
    again = await pay_batch(svc, SUPERVISOR, sheet.batch_id, "TRF-NX-BATCH-01")
    assert again.refused == {} and again.sheet.total_paid == sum(amounts)
    with harness.sessions() as s:
        assert len(s.scalars(select(Payout).where(Payout.claim_number.in_(numbers))).all()) == 3
    with pytest.raises(NotPayable, match="is paid with transfer TRF-NX-BATCH-01"):
        await pay_batch(svc, SUPERVISOR, sheet.batch_id, "TRF-OTHER")
    assert batch_sheet(svc, SUPERVISOR, sheet.batch_id).status == "paid"


async def test_a_batch_with_a_closed_claim_or_of_the_wrong_people_is_refused(harness: Harness) -> None:
    open_one = await to_payout(harness, ID_NUMBERS[0], 5)
    closed = await to_payout(harness, ID_NUMBERS[1], 5)
    await perform_step(harness.client, closed, PayInput(actor=HANDLER, transfer_ref="TRF-ALONE"))
    svc = services(harness)
    with pytest.raises(
        NotPayable, match=rf"claim {closed} is at stage 'closed' \(already paid\), not payout"
    ):
        await create_batch(svc, SUPERVISOR, COUNTY, [open_one, closed], "现场理赔会")
    with pytest.raises(NotAllowed, match="payout batches are a supervisor's"):
        await create_batch(svc, HANDLER, COUNTY, [open_one], "现场理赔会")
    elsewhere = Actor(id="sup.liling", role=Role.SUPERVISOR, county="醴陵市")
    with pytest.raises(NotAllowed, match="acts for 醴陵市 only"):
        await create_batch(svc, elsewhere, COUNTY, [open_one], "现场理赔会")
    with pytest.raises(ClaimNotFound):
        await create_batch(svc, SUPERVISOR, COUNTY, ["JS20210901-NOBODY"], "现场理赔会")
    with pytest.raises(InputError, match="named twice"):
        await create_batch(svc, SUPERVISOR, COUNTY, [open_one, open_one], "现场理赔会")
    with pytest.raises(InputError, match="event"):
        await create_batch(svc, SUPERVISOR, COUNTY, [open_one], "")
    with pytest.raises(InputError, match="transfer_ref"):
        await pay_batch(svc, SUPERVISOR, "PB-NONE", "TRF\nX")
    with pytest.raises(InputError, match="no batch PB-NONE") as missing:
        batch_sheet(svc, SUPERVISOR, "PB-NONE")
    assert str(missing.value) == "batch: no batch PB-NONE"  # the field named once
    # a handler is refused alike whether the batch exists or not: no batch id is confirmed
    with pytest.raises(NotAllowed, match="payout batches are a supervisor's"):
        batch_sheet(svc, HANDLER, "PB-NONE")
    with pytest.raises(NotAllowed, match="payout batches are a supervisor's"):
        await pay_batch(svc, HANDLER, "PB-NONE", "TRF-X")
    # nothing was created by the refusals: the open claim can still be batched
    sheet = await create_batch(svc, SUPERVISOR, COUNTY, [open_one], "现场理赔会")
    assert [r.claim_number for r in sheet.rows] == [open_one]


async def test_the_console_prints_the_batch_sheet_with_signature_lines(harness: Harness) -> None:
    import re

    import httpx

    from claims.services import accounts
    from claims.web.app import create_app

    numbers = [await to_payout(harness, n, 5) for n in ID_NUMBERS[:2]]
    svc = services(harness)
    sheet = await create_batch(svc, SUPERVISOR, COUNTY, numbers, "大成桥镇现场理赔会")
    await pay_batch(svc, SUPERVISOR, sheet.batch_id, "TRF-NX-BATCH-02")
    app = create_app(svc)
    password = "batch-sheet-Pw-2026!"

    async def browser(user: str, role: str, county: str) -> httpx.AsyncClient:
        accounts.add_user(svc, user, role, password, county=county)
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://console.test")
        page = await client.get("/login")
        token = re.search(r'name="csrftoken" value="([^"]+)"', page.text)
        assert token is not None
        r = await client.post(
            "/login", data={"username": user, "password": password, "csrftoken": token.group(1), "next": ""}
        )
        assert r.status_code == 303, r.text
        return client

    sup = await browser("sup.ningxiang", "supervisor", COUNTY)
    page = await sup.get(f"/batches/{sheet.batch_id}")
    assert page.status_code == 200, page.text
    for text in (
        "现场理赔发放表",
        "大成桥镇现场理赔会",
        "TRF-NX-BATCH-02",
        "领款人签字",
        "审核人（主管）签字",
        *numbers,
    ):
        assert text in page.text, text
    assert page.text.count('<td class="sign"></td>') == 4  # a signature and a date cell per claim
    assert "/static/batch_sheet.css" in page.text and "<style>" not in page.text  # CSP: no inline style
    other = await browser("sup.liling", "supervisor", "醴陵市")
    assert (await other.get(f"/batches/{sheet.batch_id}")).status_code == 404
    handler = await browser("handler.ningxiang", "handler", COUNTY)
    assert (await handler.get(f"/batches/{sheet.batch_id}")).status_code == 403
    assert (await sup.get("/batches/PB-NONE")).status_code == 404
    for c in (sup, other, handler):
        await c.aclose()


def test_a_batch_made_in_the_evening_utc_carries_the_next_day_of_the_office() -> None:
    """20:00 UTC on 1 December is 04:00 on 2 December in Shanghai: the id says 2 December."""
    evening = datetime(2026, 12, 1, 20, 0, tzinfo=UTC)
    assert batch_id_for(evening).startswith("PB20261202-")
    assert batch_id_for(datetime(2026, 12, 1, 15, 59, tzinfo=UTC)).startswith("PB20261201-")
    assert len(batch_id_for(evening)) == len("PB20261202-3F9A1C")


async def test_an_attempt_without_answer_fixes_the_transfer_and_a_corrected_one_is_refused(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first attempt fixes the batch's one transfer: after a timed-out attempt (the first
    claim paid), another reference is refused and the same one pays the rest, once."""
    from claims.services import batches as batch_service
    from claims.services.client import NoAnswer

    numbers = [await to_payout(harness, n, 5) for n in ID_NUMBERS[:2]]
    svc = services(harness)
    sheet = await create_batch(svc, SUPERVISOR, COUNTY, numbers, "现场理赔会")
    real = batch_service.perform
    calls = {"n": 0}

    async def second_unanswered(
        services: Services, actor: Actor, number: str, inp: PayInput, timeout: object
    ) -> object:
        calls["n"] += 1
        if calls["n"] == 2:
            raise NoAnswer(number, "pay", 20, f"{number}/pay", False)
        return await real(services, actor, number, inp, timeout=timeout)  # type: ignore[arg-type]

    monkeypatch.setattr(batch_service, "perform", second_unanswered)
    with pytest.raises(NoAnswer):
        await pay_batch(svc, SUPERVISOR, sheet.batch_id, "TRF-0920")
    with pytest.raises(NotPayable, match="is paid with transfer TRF-0920"):
        await pay_batch(svc, SUPERVISOR, sheet.batch_id, "TRF-0921")
    done = await pay_batch(svc, SUPERVISOR, sheet.batch_id, "TRF-0920")
    assert done.sheet.status == "paid" and done.sheet.transfer_ref == "TRF-0920" and not done.refused
    with harness.sessions() as s:
        rows = [(p.claim_number, p.transfer_ref) for p in s.scalars(select(Payout))]
        assert sorted(rows) == sorted((n, "TRF-0920") for n in numbers)  # one row each, one transfer
        assert all(ledger_batch_ids(s, n) == [sheet.batch_id] for n in numbers)


async def test_a_paid_batch_submitted_again_pays_nothing_even_for_a_claim_decided_again(
    skipping: object, sqlite_sessions: object
) -> None:
    """A claim of a paid batch reopened and decided higher is not paid its difference under the
    batch's signed transfer when the batch is submitted again: that is its own payment."""
    from claims.models import ReopenInput
    from claims.models.steps import ReopenReason
    from rules.engine import RulesEngine
    from rules.sla import load_sla_policy
    from tests.support.harness import CALENDAR
    from worker import build_worker

    env: Any = skipping
    h = Harness(env.client, sqlite_sessions)
    policy = load_sla_policy().model_copy(update={"reopen_calendar_days": 90})
    async with build_worker(
        env.client,
        sqlite_sessions,  # type: ignore[arg-type]
        task_queue=h.task_queue,
        rules_engine=RulesEngine.shared(),
        calendar=CALENDAR,
        sla_policy=policy,
    ):
        numbers = [await to_payout(h, n, 5) for n in ID_NUMBERS[:2]]
        svc = services(h)
        sheet = await create_batch(svc, SUPERVISOR, COUNTY, numbers, "现场理赔会")
        first = await pay_batch(svc, SUPERVISOR, sheet.batch_id, "TRF-0920")
        assert first.sheet.status == "paid"
        paid = first.sheet.total_paid
        await perform_step(
            h.client, numbers[0], ReopenInput(actor=SUPERVISOR, reason_code=ReopenReason.CALCULATION_ERROR)
        )
        facts = LossFacts(outcome=Outcome.DISABILITY, cause="road_accident", disability_grades=[4])
        state = await perform_step(h.client, numbers[0], AdjudicateInput(actor=HANDLER, facts=facts))
        assert state.stage == Stage.PAYOUT
        again = await pay_batch(svc, SUPERVISOR, sheet.batch_id, "TRF-0920")
        assert again.sheet.total_paid == paid and not again.refused
        assert (await claim_state(h.client, numbers[0])).stage == Stage.PAYOUT  # its difference waits
        with h.sessions() as s:
            assert len(list(s.scalars(select(Payout).where(Payout.claim_number == numbers[0])))) == 1


@pytest.mark.parametrize("number", ["JS\x1bX", "x" * 49, "", "JS 2021"])
def test_a_batch_refuses_what_is_not_a_claim_number(number: str) -> None:
    from claims.services.batches import BatchRequest

    with pytest.raises(ValueError, match="not a claim number"):
        BatchRequest(county=COUNTY, claims=[number], event="现场理赔会")


def _sheet(status: str, rows: list[Any]) -> Any:
    from claims.services.batches import BatchSheet

    return BatchSheet(
        batch_id="PB-20260310-01",
        county="宁乡市",
        event="现场理赔会 3月10日",
        status=status,
        created_by="sup.a",
        created_at=datetime(2026, 3, 10, 1, 0, tzinfo=UTC),
        transfer_ref="TRF-1" if status == "paid" else None,
        paid_by=None,
        paid_at=None,
        rows=rows,
    )


def test_the_command_line_sheet_says_due_before_payment_and_paid_after(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from claims.cli.batches import _print
    from claims.store.batches import BatchClaimRow

    def row(n: int, paid: str, due: str | None) -> BatchClaimRow:
        return BatchClaimRow(
            n,
            f"JS2026-{n}",
            "张三",
            "城郊街道",
            "一村",
            "payout",
            Decimal(paid),
            None if due is None else Decimal(due),
        )

    _print(_sheet("open", [row(1, "0.00", "45000.00"), row(2, "0.00", "2000.50")]))
    out = capsys.readouterr().out.splitlines()
    assert out[1].endswith("45,000.00 due") and out[2].endswith("2,000.50 due")
    assert out[-1] == "2 claims, 47,000.50 yuan due, not yet paid"
    _print(_sheet("paid", [row(1, "45000.00", None), row(2, "2000.50", None)]))
    out = capsys.readouterr().out.splitlines()
    assert "transfer TRF-1" in out[0]
    assert out[1].endswith("45,000.00 paid")
    assert out[-1] == "2 claims, 47,000.50 yuan paid under this batch"


async def test_two_supervisors_racing_for_a_claim_get_one_batch_and_a_named_refusal(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    number = await to_payout(harness, ID_NUMBERS[0], 5)
    svc = services(harness)
    first = await create_batch(svc, SUPERVISOR, COUNTY, [number], "上午的现场理赔会")
    # the second supervisor's check ran before the first batch was committed: it saw no batch
    from claims.store import batches as store_batches

    real = store_batches.open_batches_of
    calls: list[list[str]] = []

    def check_before_the_commit(s: Any, numbers: list[str]) -> dict[str, str]:
        calls.append(numbers)
        return {} if len(calls) == 1 else real(s, numbers)

    monkeypatch.setattr(store_batches, "open_batches_of", check_before_the_commit)
    with pytest.raises(NotPayable, match=f"claim {number} is already in open batch {first.batch_id}") as e:
        await create_batch(svc, SUPERVISOR, COUNTY, [number], "下午的现场理赔会")
    assert e.value.params == {"claim": number, "reason": "in_batch", "batch": first.batch_id}
    assert len(calls) == 2  # the check, then the naming after the database refused the write
    monkeypatch.undo()
    with harness.sessions() as s:
        assert store_batches.open_batches_of(s, [number]) == {number: first.batch_id}
        assert s.scalar(select(func.count()).select_from(store_batches.PayoutBatch)) == 1
    # once the first batch is paid, the claim is in no open batch
    result = await pay_batch(svc, SUPERVISOR, first.batch_id, "TRF-RACE-1")
    assert result.refused == {} and result.sheet.status == "paid"
    with harness.sessions() as s:
        assert store_batches.open_batches_of(s, [number]) == {}


async def test_a_batch_pays_its_claims_several_at_once_and_a_silent_one_waits_for_the_others(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Up to ``PAY_CONCURRENCY`` pay steps at once (a 200-claim sheet in one request of seconds);
    a claim without answer is raised only after every other claim's step has ended, paid."""
    import asyncio

    from claims.services import batches as batch_service
    from claims.services.client import NoAnswer

    numbers = [await to_payout(harness, n, 5) for n in ID_NUMBERS]
    svc = services(harness)
    sheet = await create_batch(svc, SUPERVISOR, COUNTY, numbers, "现场理赔会")
    real = batch_service.perform
    in_flight = {"now": 0, "most": 0}
    silent = numbers[0]  # the first on the sheet: the ones after it are still paid

    async def slow_pay(
        services: Services, actor: Actor, number: str, inp: PayInput, timeout: object
    ) -> object:
        in_flight["now"] += 1
        in_flight["most"] = max(in_flight["most"], in_flight["now"])
        try:
            await asyncio.sleep(0.2)
            if number == silent:
                raise NoAnswer(number, "pay", 20, f"{number}/pay", False)
            return await real(services, actor, number, inp, timeout=timeout)  # type: ignore[arg-type]
        finally:
            in_flight["now"] -= 1

    monkeypatch.setattr(batch_service, "PAY_CONCURRENCY", 2)
    monkeypatch.setattr(batch_service, "perform", slow_pay)
    with pytest.raises(NoAnswer):
        await pay_batch(svc, SUPERVISOR, sheet.batch_id, "TRF-PAR-1")
    assert in_flight["most"] == 2  # two at once, never more
    with harness.sessions() as s:
        assert sorted(p.claim_number for p in s.scalars(select(Payout))) == sorted(numbers[1:])
    monkeypatch.undo()
    done = await pay_batch(svc, SUPERVISOR, sheet.batch_id, "TRF-PAR-1")
    assert done.sheet.status == "paid" and not done.refused
    assert [r.claim_number for r in done.sheet.rows] == numbers and all(r.paid > 0 for r in done.sheet.rows)


async def test_a_batch_is_cancelled_before_payment_only_and_its_claims_go_in_another(
    harness: Harness,
) -> None:
    from claims.services.batches import cancel_batch

    numbers = [await to_payout(harness, n, 5) for n in ID_NUMBERS[:2]]
    svc = services(harness)
    first = await create_batch(svc, SUPERVISOR, COUNTY, numbers, "9月20日现场理赔会")
    with pytest.raises(InputError, match="reason"):
        cancel_batch(svc, SUPERVISOR, first.batch_id, "")
    with pytest.raises(NotAllowed, match="payout batches are a supervisor's"):
        cancel_batch(svc, HANDLER, first.batch_id, "改期")
    cancelled = cancel_batch(svc, SUPERVISOR, first.batch_id, "暴雨，活动改期")
    assert cancelled.status == "cancelled" and cancelled.cancel_reason == "暴雨，活动改期"
    assert cancelled.cancelled_by == "sup.ningxiang" and cancelled.cancelled_at is not None
    assert cancel_batch(svc, SUPERVISOR, first.batch_id, "again") == cancelled  # the same sheet
    with pytest.raises(NotPayable, match="was cancelled: 暴雨，活动改期") as e:
        await pay_batch(svc, SUPERVISOR, first.batch_id, "TRF-NEVER")
    assert e.value.params["reason"] == "cancelled"
    # the claims go in a new batch, which is paid; that one cannot be cancelled any more
    second = await create_batch(svc, SUPERVISOR, COUNTY, numbers, "9月27日现场理赔会")
    assert second.status == "open" and [r.claim_number for r in second.rows] == numbers
    assert (await pay_batch(svc, SUPERVISOR, second.batch_id, "TRF-0927")).sheet.status == "paid"
    with pytest.raises(NotPayable, match="is paid") as e:
        cancel_batch(svc, SUPERVISOR, second.batch_id, "too late")
    assert e.value.params["reason"] == "paid"
    with harness.sessions() as s:
        assert sorted(p.transfer_ref for p in s.scalars(select(Payout))) == ["TRF-0927", "TRF-0927"]


async def test_a_batch_whose_payment_was_tried_is_finished_not_cancelled(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    from claims.services import batches as batch_service
    from claims.services.batches import cancel_batch
    from claims.services.client import NoAnswer

    number = await to_payout(harness, ID_NUMBERS[2], 5)
    svc = services(harness)
    sheet = await create_batch(svc, SUPERVISOR, COUNTY, [number], "现场理赔会")

    async def unanswered(
        services: Services, actor: Actor, number: str, inp: PayInput, timeout: object
    ) -> object:
        raise NoAnswer(number, "pay", 20, f"{number}/pay", False)

    monkeypatch.setattr(batch_service, "perform", unanswered)
    with pytest.raises(NoAnswer):
        await pay_batch(svc, SUPERVISOR, sheet.batch_id, "TRF-TRIED")
    monkeypatch.undo()
    with pytest.raises(NotPayable, match="payment was tried with transfer TRF-TRIED") as e:
        cancel_batch(svc, SUPERVISOR, sheet.batch_id, "活动取消")
    assert e.value.params == {
        "batch": sheet.batch_id,
        "reason": "payment_started",
        "transfer_ref": "TRF-TRIED",
    }
    done = await pay_batch(svc, SUPERVISOR, sheet.batch_id, "TRF-TRIED")
    assert done.sheet.status == "paid" and not done.refused


async def test_one_claim_s_error_is_raised_after_the_other_claims_are_paid_and_stamped(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Temporal away for one claim: the request ends only when every other claim's step has
    ended, paid and stamped with the batch (nothing left paying in the background)."""
    import asyncio

    from claims.errors import Unavailable
    from claims.services import batches as batch_service

    numbers = [await to_payout(harness, n, 5) for n in ID_NUMBERS]
    svc = services(harness)
    sheet = await create_batch(svc, SUPERVISOR, COUNTY, numbers, "现场理赔会")
    real = batch_service.perform

    async def away_for_the_first(
        services: Services, actor: Actor, number: str, inp: PayInput, timeout: object
    ) -> object:
        if number == numbers[0]:
            raise Unavailable("pay: the frontend did not answer")
        await asyncio.sleep(0.3)
        return await real(services, actor, number, inp, timeout=timeout)  # type: ignore[arg-type]

    monkeypatch.setattr(batch_service, "perform", away_for_the_first)
    with pytest.raises(Unavailable):
        await pay_batch(svc, SUPERVISOR, sheet.batch_id, "TRF-AWAY")
    with harness.sessions() as s:
        assert sorted(p.claim_number for p in s.scalars(select(Payout))) == sorted(numbers[1:])
        assert [ledger_batch_ids(s, n) for n in numbers] == [[], [sheet.batch_id], [sheet.batch_id]]
    monkeypatch.undo()
    done = await pay_batch(svc, SUPERVISOR, sheet.batch_id, "TRF-AWAY")
    assert done.sheet.status == "paid" and not done.refused


async def test_a_claim_with_an_advance_shows_the_rest_due_and_is_paid_by_the_batch(harness: Harness) -> None:
    """先予支付 5,000 of a 24,000 decision: the sheet shows 19,000 due, the batch pays 19,000
    with its reference (not refused because the advance is the claim's latest payment row)."""
    from claims.models import PayAdvanceInput

    report = ClaimReport(
        policy_numbers=["FA2021NX0001"],
        id_number=ID_NUMBERS[0],
        accident_date=date(2021, 9, 1),
        reported_on=date(2021, 9, 3),
        outcome=Outcome.DISABILITY,
        cause="road_accident",
        disability_grade=5,
        third_party_record=True,
        reporter=SECRETARY,
    )
    with harness.sessions() as s:
        number = (
            await report_claim(harness.client, s, report, task_queue=harness.task_queue)
        ).claim.claim_number
    await wait_until_open(harness.client, number)
    await perform_step(harness.client, number, RegisterInput(actor=HANDLER))
    await complete_documents(harness.client, number, HANDLER)
    advance = PayAdvanceInput(actor=HANDLER, amount=Decimal("5000.00"), transfer_ref="TRF-ADV-1")
    await perform_step(harness.client, number, advance)
    facts = LossFacts(outcome=Outcome.DISABILITY, cause="road_accident", disability_grades=[5])
    state = await perform_step(harness.client, number, AdjudicateInput(actor=HANDLER, facts=facts))
    assert state.stage == Stage.PAYOUT and state.decision is not None
    assert state.decision.total == Decimal("24000.00")
    svc = services(harness)
    sheet = await create_batch(svc, SUPERVISOR, COUNTY, [number], "现场理赔会")
    assert sheet.rows[0].due == Decimal("19000.00") and sheet.total_amount == Decimal("19000.00")
    result = await pay_batch(svc, SUPERVISOR, sheet.batch_id, "TRF-BATCH-ADV")
    assert result.refused == {} and result.sheet.status == "paid"
    assert result.sheet.rows[0].paid == Decimal("19000.00")
    with harness.sessions() as s:
        ledger = sorted((p.transfer_ref, p.amount) for p in s.scalars(select(Payout)))
        assert ledger == [("TRF-ADV-1", Decimal("5000.00")), ("TRF-BATCH-ADV", Decimal("19000.00"))]


async def test_a_claim_in_an_open_batch_is_not_paid_on_its_own_until_the_batch_is_cancelled(
    harness: Harness,
) -> None:
    """Paid alone, the claim would stay on the signed sheet, refused there, and keep the batch
    open for good: the handler's pay step is refused naming the batch (the workflow is not asked)."""
    from claims.errors import StepRejected
    from claims.services.batches import cancel_batch
    from claims.services.steps import perform

    number = await to_payout(harness, ID_NUMBERS[1], 5)
    svc = services(harness)
    sheet = await create_batch(svc, SUPERVISOR, COUNTY, [number], "现场理赔会")
    alone = PayInput(actor=HANDLER, transfer_ref="TRF-ALONE")
    with pytest.raises(StepRejected, match=f"is in open payout batch {sheet.batch_id}") as e:
        await perform(svc, HANDLER, number, alone)
    assert e.value.code == "payout.in_batch" and e.value.params["batch"] == sheet.batch_id
    assert (await claim_state(harness.client, number)).stage == Stage.PAYOUT  # nothing paid
    cancel_batch(svc, SUPERVISOR, sheet.batch_id, "改为单独赔付")
    paid = await perform(svc, HANDLER, number, alone)
    assert paid.result.stage == Stage.CLOSED and paid.result.transfer_ref == "TRF-ALONE"
