"""Regenerate the golden claim histories: ``.venv/bin/python tests/golden/generate.py``.

Runs each path of a claim on the time-skipping test server with the real activities (rules,
calendar, a throw-away SQLite store) and writes its whole history, in the Temporal CLI /
web UI JSON form (``WorkflowHistory.to_json()``), to ``tests/golden/<path>.json``:

- ``ordinary_paid``: road accident, grade-3 disability, ordinary class, paid.
- ``green_channel``: drowning of a hardship family's member, two policies, supervisor
  approval above the handlers' limit, paid.
- ``investigation``: late report, investigated, paid.
- ``declined``: drink driving established at adjudication; the rules refuse.
- ``breached_escalated``: not registered by the end of the working day: the registration
  clock breaches and escalates; then registered and paid.
- ``paused_for_documents``: documents requested (the resolution clock pauses), received
  three days later (it resumes with the deadline extended), paid.
- ``withdrawn`` (issue 17): registered, then withdrawn by the village secretary (撤案).
- ``advance_declined`` (issue 17): documents complete, an advance of 10,000 yuan paid (先予支付),
  drink driving established: declined, the advance a receivable (追偿); the reopen window waited out.
- ``reopened_paid`` (issue 17): declined by the handler, reopened by a supervisor on appeal,
  adjudicated again and paid; the reopen window waited out.

Recorded with a reopen period of 90 calendar days (the shipped SLA policy has none), so the
paths that end closed or declined wait out the reopen window (``lifecycle-reopen-window``).

- ``review_cleared`` (issue 17): an accident 9 days after the policy start: held for the
  investigation unit before payment (siu.early_claim), cleared by a supervisor (clear_review), paid.
- ``referred_to_siu`` (issue 17): the same pattern, referred to investigation (refer_to_siu),
  the investigator's finding, adjudicated again (no second hold), paid.
- ``document_sent_back`` (issue 15): documents received as files (id, item, sha256), one file
  sent back as unreadable (reject_document), asked for again (a re-request, not a second
  notice), received as a new file, paid.

The worker judges claims by the shipped review rules with every rule but ``siu.early_claim``
out of reach (``_golden_review_rules``), so only the two review paths are held.

Regenerate only when a change to the workflow is *meant* to change new histories; the old
files must keep replaying (``tests/test_audit_replay.py``) — keep them under another name
when a ``workflow.patched`` change needs both old and new to replay. ``v1/`` holds
histories recorded before any ``workflow.patched`` change, ``v2/`` those recorded with
``document-checklist``, ``prior-benefits`` and ``archive-decision`` but before
``local-short-steps`` (calendar and rules steps as ordinary activities) and
``skip-unchanged-projection``, ``v3/`` those recorded before ``benefit-reservation`` (no
reservation of the decided amounts, prior benefits without persons, the terms before
``age_basis``), ``v4/`` those recorded before the lifecycle steps (``lifecycle-*``: withdraw,
close, reopen, advance payment; the reopen window before ``run()`` returns) and the review steps
(``review-*``), ``v5/`` those recorded with the lifecycle and review steps but before
``lifecycle-archive-at-close`` (a claim with a reopen period archived only when the period
ended), ``v6/`` those recorded before ``small-step-results`` (every step answered with the
whole ``ClaimState``; since, with a ``StepResult``), ``v7/`` those recorded before
``lean-history`` (each earlier patch asked and recorded with its ``TemporalChangeVersion``
upsert, every search attribute upserted each time, the final state written as the archive's
input and as the workflow's result); every ``*.json`` under ``tests/golden`` is replayed.
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

GOLDEN = Path(__file__).resolve().parent
PATHS = (
    "ordinary_paid",
    "green_channel",
    "investigation",
    "declined",
    "breached_escalated",
    "paused_for_documents",
    "withdrawn",
    "advance_declined",
    "reopened_paid",
    "review_cleared",
    "referred_to_siu",
    "document_sent_back",
    "investigated_while_paused",
)


def _cases() -> tuple[Any, list[Any]]:
    from claims.services.demo import DemoFile
    from claims.store import RegisterFile

    reg = RegisterFile.model_validate(json.loads((REPO / "data/demo/register.json").read_text("utf-8")))
    demo = DemoFile.model_validate(json.loads((REPO / "data/demo/claims.json").read_text("utf-8")))
    return reg, demo.claims


def _golden_review_rules() -> Any:
    """The shipped review rules with only ``siu.early_claim`` (30 days) within reach."""
    from rules.review import ReviewRules, load_review

    raw = load_review().model_dump(mode="json")
    raw["version"] = raw["version"] + "-golden"
    raw["config"].update(
        sample_share_bp=0, review_amount_yuan="999999999.00", at_limit_percent=1000, repeat_claims=1000
    )
    return ReviewRules.model_validate(raw)


def _variant(case: Any, accident: date, grade: int, circumstances: list[str] | None = None) -> Any:
    """The road-accident case on another day (so another claim number), with another grade."""
    report = case.report.model_copy(
        update={
            "accident_date": accident,
            "reported_on": accident + timedelta(days=2),
            "disability_grade": grade,
        }
    )
    facts = case.facts.model_copy(update={"disability_grades": [grade], "circumstances": circumstances or []})
    return case.model_copy(
        update={"report": report, "facts": facts, "transfer_ref": f"TRF-GOLD-{accident:%m%d}"}
    )


async def generate(out_dir: Path = GOLDEN, only: tuple[str, ...] = PATHS) -> dict[str, Path]:
    """Run every path in ``only`` and write its history; returns path name -> file."""
    from temporalio.contrib.pydantic import pydantic_data_converter

    from claims.domain.workdays import WorkingCalendar
    from claims.models import (
        Actor,
        AdjudicateInput,
        ClearReviewInput,
        DeclineInput,
        DocumentFile,
        PayAdvanceInput,
        PayInput,
        ReceiveDocumentsInput,
        RegisterInput,
        RejectDocumentInput,
        RejectReason,
        ReopenInput,
        ReopenReason,
        RequestDocumentsInput,
        Role,
        SlaState,
        WithdrawInput,
    )
    from claims.services.client import claim_state, perform_step, report_claim, wait_until_open
    from claims.services.demo import drive_claim
    from claims.store import load_register, workflow_id_for
    from claims.store.db import make_engine, make_sessionmaker, unit_of_work, upgrade_database
    from rules.engine import RulesEngine
    from rules.review import ReviewEngine
    from rules.sla import load_sla_policy
    from tests.support.env import time_skipping_server
    from worker import build_worker

    reg, cases = _cases()
    road = cases[2]
    tmp = Path(tempfile.mkdtemp(prefix="golden-"))
    url = f"sqlite:///{tmp / 'claims.db'}"
    upgrade_database(url)
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    with unit_of_work(sessions) as s:
        load_register(s, reg)
    written: dict[str, Path] = {}
    # Recorded in clear: goldens are read in review and replayed without the test key.
    async with time_skipping_server(pydantic_data_converter) as env:
        client = env.client
        tq = "golden"
        # a reopen period of 90 days (the shipped policy has none), so ``reopened_paid`` can reopen
        # and every closed or declined path records the reopen window (lifecycle-reopen-window)
        policy = load_sla_policy().model_copy(update={"reopen_calendar_days": 90})
        async with build_worker(
            client,
            sessions,
            task_queue=tq,
            rules_engine=RulesEngine.shared(),
            calendar=WorkingCalendar(),
            sla_policy=policy,
            review_engine=ReviewEngine(_golden_review_rules()),
        ):

            async def drive(case: Any) -> str:
                with sessions() as s:
                    state = await drive_claim(client, s, case, tq)
                return state.claim_number

            async def report(case: Any) -> str:
                with sessions() as s:
                    result = await report_claim(client, s, case.report, task_queue=tq)
                await wait_until_open(client, result.claim.claim_number)
                return result.claim.claim_number

            async def ordinary_paid() -> str:
                return await drive(_variant(road, date(2022, 4, 6), 3))

            async def green_channel() -> str:
                return await drive(cases[1])

            async def investigation() -> str:
                return await drive(cases[0])

            async def declined() -> str:
                return await drive(_variant(road, date(2022, 5, 10), 3, ["drink_driving"]))

            async def breached_escalated() -> str:
                case = _variant(road, date(2022, 6, 14), 3)
                number = await report(case)
                state = await claim_state(client, number)
                reg_clock = next(c for c in state.clocks if c.name == "registration")
                await env.sleep(reg_clock.deadline.due_at - datetime.now(UTC) + timedelta(hours=1))
                for _ in range(200):
                    if (await claim_state(client, number)).sla_state == SlaState.BREACHED:
                        break
                    await asyncio.sleep(0.05)
                else:
                    raise RuntimeError("breached_escalated: the registration clock did not breach")
                return await drive(case)

            async def paused_for_documents() -> str:
                case = _variant(road, date(2022, 7, 12), 3)
                number = await report(case)
                handler = Actor(id=case.handler, role=Role.HANDLER)
                state = await perform_step(client, number, RegisterInput(actor=handler))
                # one notice naming the claim's checklist and the case's papers (art. 22), as the
                # demo asks; the case's papers alone leave the checklist short at complete_documents
                wanted = list(dict.fromkeys(state.documents_required + case.documents))
                await perform_step(
                    client,
                    number,
                    RequestDocumentsInput(actor=handler, documents=wanted),
                )
                await env.sleep(timedelta(days=3))
                await perform_step(
                    client,
                    number,
                    ReceiveDocumentsInput(actor=case.report.reporter, documents=wanted),
                )
                return await drive(case)

            async def investigated_while_paused() -> str:
                # an investigation asked while the claimant owes documents: the resolution clock
                # takes the investigation's target and stays paused (``reclassify-keeps-pause``)
                from claims.models import RequestInvestigationInput

                case = _variant(road, date(2022, 8, 9), 3).model_copy(
                    update={"investigation": cases[0].investigation}
                )
                number = await report(case)
                handler = Actor(id=case.handler, role=Role.HANDLER)
                state = await perform_step(client, number, RegisterInput(actor=handler))
                wanted = list(dict.fromkeys(state.documents_required + case.documents))
                await perform_step(client, number, RequestDocumentsInput(actor=handler, documents=wanted))
                reason = "伤情与事故经过需核实"
                await perform_step(client, number, RequestInvestigationInput(actor=handler, reason=reason))
                await env.sleep(timedelta(days=2))
                await perform_step(
                    client,
                    number,
                    ReceiveDocumentsInput(actor=case.report.reporter, documents=wanted),
                )
                return await drive(case)

            async def document_sent_back() -> str:
                case = _variant(road, date(2022, 9, 6), 3)
                number = await report(case)
                handler = Actor(id=case.handler, role=Role.HANDLER)
                state = await perform_step(client, number, RegisterInput(actor=handler))
                wanted = list(dict.fromkeys(state.documents_required + case.documents))
                await perform_step(client, number, RequestDocumentsInput(actor=handler, documents=wanted))

                def file(i: int, kind: str) -> DocumentFile:
                    return DocumentFile(id=f"D{i:020x}", kind=kind, sha256=f"{i:064x}")

                files = [file(i + 1, k) for i, k in enumerate(wanted)]
                await env.sleep(timedelta(days=1))
                await perform_step(
                    client, number, ReceiveDocumentsInput(actor=handler, documents=wanted, files=files)
                )
                blurred = files[0]
                await perform_step(
                    client,
                    number,
                    RejectDocumentInput(actor=handler, file=blurred, reason=RejectReason.UNREADABLE, note="看不清"),
                )
                await perform_step(
                    client, number, RequestDocumentsInput(actor=handler, documents=[blurred.kind])
                )
                await env.sleep(timedelta(days=2))
                again = file(100, blurred.kind)
                await perform_step(
                    client,
                    number,
                    ReceiveDocumentsInput(actor=handler, documents=[blurred.kind], files=[again]),
                )
                return await drive(case)

            async def to_adjudication(case: Any) -> tuple[str, Actor]:
                from tests.support.harness import complete_documents

                number = await report(case)
                handler = Actor(id=case.handler, role=Role.HANDLER)
                await perform_step(client, number, RegisterInput(actor=handler))
                await complete_documents(client, number, handler)
                return number, handler

            async def withdrawn() -> str:
                case = _variant(road, date(2022, 8, 9), 3)
                number = await report(case)
                await perform_step(
                    client, number, RegisterInput(actor=Actor(id=case.handler, role=Role.HANDLER))
                )
                await perform_step(
                    client, number, WithdrawInput(actor=case.report.reporter, reason="家属撤案：已和解")
                )
                return number

            async def advance_declined() -> str:
                number, handler = await to_adjudication(_variant(road, date(2022, 8, 16), 3))
                await perform_step(
                    client,
                    number,
                    PayAdvanceInput(actor=handler, amount=Decimal("10000"), transfer_ref="ADV-GOLD-0816"),
                )
                drunk = _variant(road, date(2022, 8, 16), 3, ["drink_driving"]).facts
                await perform_step(client, number, AdjudicateInput(actor=handler, facts=drunk))
                return number

            async def reopened_paid() -> str:
                case = _variant(road, date(2022, 8, 23), 3)
                number, handler = await to_adjudication(case)
                await perform_step(client, number, DeclineInput(actor=handler, reasons=["误认为酒后驾驶"]))
                supervisor = Actor(id="supervisor.demo", role=Role.SUPERVISOR)
                await perform_step(
                    client, number, ReopenInput(actor=supervisor, reason_code=ReopenReason.APPEAL)
                )
                state = await perform_step(client, number, AdjudicateInput(actor=handler, facts=case.facts))
                if state.review is not None and state.review.open:
                    await perform_step(client, number, ClearReviewInput(actor=supervisor))
                await perform_step(client, number, PayInput(actor=handler, transfer_ref=case.transfer_ref))
                return number

            async def review_cleared() -> str:
                case = _variant(road, date(2022, 1, 10), 3)
                number, handler = await to_adjudication(case)
                state = await perform_step(client, number, AdjudicateInput(actor=handler, facts=case.facts))
                assert state.review is not None and state.review.rule_ids == ["siu.early_claim"], state.review
                supervisor = Actor(id="supervisor.demo", role=Role.SUPERVISOR)
                cleared = ClearReviewInput(actor=supervisor, note="保单生效前已在他处投保")
                await perform_step(client, number, cleared)
                await perform_step(client, number, PayInput(actor=handler, transfer_ref=case.transfer_ref))
                return number

            async def referred_to_siu() -> str:
                from claims.models import RecordInvestigationInput, ReferToSiuInput

                case = _variant(road, date(2022, 1, 12), 3)
                number, handler = await to_adjudication(case)
                await perform_step(client, number, AdjudicateInput(actor=handler, facts=case.facts))
                supervisor = Actor(id="supervisor.demo", role=Role.SUPERVISOR)
                referral = ReferToSiuInput(actor=supervisor, reason="出险距保单起期仅 11 天")
                await perform_step(client, number, referral)
                investigator = Actor(id="inv.demo", role=Role.INVESTIGATOR)
                await perform_step(
                    client,
                    number,
                    RecordInvestigationInput(actor=investigator, findings="交警事故认定书与医院记录一致"),
                )
                await perform_step(client, number, AdjudicateInput(actor=handler, facts=case.facts))
                await perform_step(client, number, PayInput(actor=handler, transfer_ref=case.transfer_ref))
                return number

            runners = {
                "ordinary_paid": ordinary_paid,
                "green_channel": green_channel,
                "investigation": investigation,
                "declined": declined,
                "paused_for_documents": paused_for_documents,
                "withdrawn": withdrawn,
                "advance_declined": advance_declined,
                "reopened_paid": reopened_paid,
                "review_cleared": review_cleared,
                "referred_to_siu": referred_to_siu,
                "document_sent_back": document_sent_back,
                "investigated_while_paused": investigated_while_paused,
                "breached_escalated": breached_escalated,  # last: it moves the server clock
            }
            for name, run in runners.items():
                if name not in only:
                    continue
                number = await run()
                handle = client.get_workflow_handle(workflow_id_for(number))
                until = (await claim_state(client, number)).reopen_until
                if until is not None and until > await env.get_current_time():
                    # the time-skipping server's result() cannot wait across a long timer: skip it
                    await env.sleep(until - await env.get_current_time() + timedelta(hours=1))
                await handle.result()
                history = await handle.fetch_history()
                path = out_dir / f"{name}.json"
                path.write_text(history.to_json() + "\n", encoding="utf-8")
                written[name] = path
                print(f"{name}: {number}, {len(history.events)} events -> {path.relative_to(REPO)}")
        engine.dispose()
    return written


if __name__ == "__main__":
    asyncio.run(generate(only=tuple(sys.argv[1:]) or PATHS))
