"""Audit, export, replay and archive of claims.

Claims are driven on the embedded dev server (``temporal server start-dev``): unlike the
time-skipping server it has visibility queries (the archiver's sweep) and deletes
workflows (what retention does to a closed claim's history).
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy import delete, select
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.workflowservice.v1 import DeleteWorkflowExecutionRequest
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment

from claims.audit.archiver import archive_closed_claims
from claims.audit import (
    ClaimNotFound,
    HistoryError,
    audit_claim,
    audit_json,
    build_audit,
    export_history,
    format_audit,
    histories_from_files,
    parse_history_json,
    read_history,
    replay_history,
    replay_many,
    summarize,
)
from claims.services.client import claim_state, perform_step
from claims.store.archive import load_archive
from claims.store.db import Claim, ClaimArchive, Payout
from claims.models import Actor, ClaimState, RegisterInput, Role
from claims.store import workflow_id_for
from claims.domain.timeutil import local
from claims.domain.workdays import WorkingCalendar
from rules.engine import RulesEngine
from rules.sla import load_sla_policy
from rules.terms import TERMS_DIR, load_catalogue
from tests.conftest import BIN, REPO, TEST_PAYLOAD_KEYS
from tests.support.env import decrypted
from tests.support.harness import NO_REOPEN_POLICY, activities_run, ended_state
from tests.test_workflow import Harness
from worker import build_worker

AUDITOR = Actor(id="aud.provincial", role=Role.AUDITOR)
GOLDEN = REPO / "tests" / "golden"


@pytest_asyncio.fixture(loop_scope="session")
async def harness(dev_env: WorkflowEnvironment, sqlite_sessions: Any) -> AsyncIterator[Harness]:
    h = Harness(dev_env.client, sqlite_sessions)
    async with build_worker(
        dev_env.client,
        sqlite_sessions,
        task_queue=h.task_queue,
        rules_engine=RulesEngine.shared(),
        calendar=WorkingCalendar(),
        sla_policy=NO_REOPEN_POLICY,  # closed claims end at once: the dev server cannot skip 90 days
    ):
        yield h


async def closed(client: Client, number: str) -> ClaimState:
    return await ended_state(client, number)


async def test_audit_of_a_paid_claim_shows_the_amounts_actors_and_deadlines_of_the_store(
    harness: Harness,
) -> None:
    case = harness.cases[1]  # drowning, two policies, 132,000 yuan, supervisor approval
    state = await harness.drive(case)
    final = await closed(harness.client, state.claim_number)
    report = await audit_claim(harness.client, harness.sessions, state.claim_number, AUDITOR)
    assert (report.source, report.status, report.stage) == ("temporal", "completed", "closed")
    with harness.sessions() as s:
        rows = s.scalars(select(Payout).where(Payout.claim_number == state.claim_number)).all()
        ledger = sorted((r.payment_number, r.policy_number, Decimal(r.amount)) for r in rows)
    assert [(p.payment_number, p.policy_number, p.amount) for p in report.payouts] == ledger
    assert report.total_paid == Decimal("132000.00")
    assert report.decisions[-1].decision.total == Decimal("132000.00")
    steps = {(e.name, e.actor.id if e.actor else None) for e in report.entries if e.kind == "step"}
    assert {("register", case.handler), ("adjudicate", case.handler), ("pay", case.handler)} <= steps
    assert ("receive_documents", case.report.reporter.id) in steps
    reported = next(e for e in report.entries if e.kind == "reported")
    assert reported.actor == case.report.reporter
    # every clock of the final state appears with its deadline, calendar version and name
    recorded = {(d.clock, d.deadline.due_at) for d in report.deadlines}
    assert {(c.name, c.deadline.due_at) for c in final.clocks} <= recorded
    text = format_audit(report)
    resolution = next(c for c in final.clocks if c.name == "resolution")
    for needle in ("132000.00", "100000.00", "32000.00", case.handler, local(resolution.deadline.due_at)):
        assert needle in text
    assert "green.hardship" in text and "stage payout -> closed" in text


PROJECTED_STAGES = [
    ("reported", False),
    ("documents", False),
    ("documents", True),
    ("documents", False),
    ("adjudication", False),
    ("payout", False),
    ("closed", False),
]
"""One projection write per change the supervisors see, (stage, paused): reported; registered;
documents requested (the resolution clock paused, 暂停·等待资料: in the projection since
lean-history); received (resumed); complete, adjudicated, paid."""

SHORT_STEPS = {
    "triage_claim",
    "choose_sla_target",
    "document_checklist",
    "compute_deadline",
    "compute_statutory_deadline",
    "count_working_days",
}


async def test_short_steps_run_as_local_activities_and_the_audit_still_shows_their_results(
    harness: Harness,
) -> None:
    case = harness.cases[2]  # grade-1 disability, 45,000 yuan, green channel: 2 working days
    state = await harness.drive(case)
    await closed(harness.client, state.claim_number)
    history = await harness.client.get_workflow_handle(workflow_id_for(state.claim_number)).fetch_history()
    ran = activities_run(history.events)
    local_steps = {n.removeprefix("local:") for n in ran if n.startswith("local:")}
    ordinary = {n for n in ran if not n.startswith("local:")}
    assert {"triage_claim", "choose_sla_target", "document_checklist", "compute_deadline"} <= local_steps
    assert "compute_statutory_deadline" in local_steps and local_steps - {"archive_decision"} <= SHORT_STEPS
    assert not ordinary & SHORT_STEPS
    # coverage keeps its request in the history (auditors' replay); store writes stay ordinary,
    # but the archive (its input the whole final state) is local since lean-history
    assert {"evaluate_coverage", "record_payout", "project_claim"} <= ordinary
    assert "archive_decision" in local_steps and "archive_decision" not in ordinary
    # a view equal to the last one written is not written again (skip-unchanged-projection)
    scheduled = [
        e.activity_task_scheduled_event_attributes.input.payloads[0]
        for e in history.events
        if e.HasField("activity_task_scheduled_event_attributes")
        and e.activity_task_scheduled_event_attributes.activity_type.name == "project_claim"
    ]
    views = [json.loads(p.data) for p in await decrypted(harness.client, scheduled)]
    # seq: the run's start (workflow.info().start_time, ms) x 10^6 + the publish counter 1..n
    started_ms = history.events[0].event_time.ToMilliseconds()
    bases = {v["seq"] // 1_000_000 for v in views}
    assert len(bases) == 1 and started_ms <= bases.pop() < started_ms + 60_000
    assert [v["seq"] % 1_000_000 for v in views] == list(range(1, len(views) + 1))
    bare = [{k: v for k, v in view.items() if k != "seq"} for view in views]
    assert all(a != b for a, b in zip(bare, bare[1:], strict=False))
    assert [(v["stage"], v["paused"]) for v in views] == PROJECTED_STAGES
    with harness.sessions() as s:
        row = s.get(Claim, state.claim_number)
        assert row is not None and (row.stage, row.projection_seq) == ("closed", views[-1]["seq"])

    report = await audit_claim(harness.client, harness.sessions, state.claim_number, AUDITOR)
    markers = [e.summary for e in report.entries if e.kind == "marker"]
    # a claim started today asks one patch, which stands for every earlier one (lean-history)
    assert markers == [
        "code change marker (workflow.patched) lean-history "
        "(takes every earlier change's new path without a marker of its own)"
    ]
    triaged = next(e for e in report.entries if e.kind == "triaged")
    assert "green.grade1_disability" in triaged.rule_ids and "green channel yes" in triaged.summary
    target = next(e for e in report.entries if e.kind == "sla_target")
    assert target.summary.startswith("SLA target 2 working days to payment")
    art23 = next(d for d in report.deadlines if d.clock == "art23_decision")
    assert art23.calendar_days == 30 and art23.deadline.working_days == 0
    registration = next(d for d in report.deadlines if d.clock == "registration")
    assert registration.deadline.working_days == 0 and registration.calendar_days is None
    assert "30 calendar days" in format_audit(report)
    assert report.total_paid == Decimal("45000.00")


async def test_audit_of_a_running_claim_shows_the_deadline_the_store_has(harness: Harness) -> None:
    number = await harness.report(harness.cases[2])
    handler = Actor(id="handler.yuhua", role=Role.HANDLER)
    await perform_step(harness.client, number, RegisterInput(actor=handler))
    report = await audit_claim(harness.client, harness.sessions, number, AUDITOR)
    assert report.status == "running" and report.stage == "documents"
    with harness.sessions() as s:
        row = s.get(Claim, number)
        assert row is not None and row.sla_deadline is not None
        due = row.sla_deadline
    assert ("resolution", due) in {(d.clock, d.deadline.due_at) for d in report.deadlines}
    assert local(due) in format_audit(report)


async def test_an_auditor_can_read_but_not_advance_a_claim(harness: Harness) -> None:
    from claims.errors import StepRejected

    number = await harness.report(harness.cases[0])
    with pytest.raises(StepRejected, match="role 'auditor' may not do this"):
        await perform_step(harness.client, number, RegisterInput(actor=AUDITOR))
    report = await audit_claim(harness.client, harness.sessions, number, AUDITOR)
    assert [e.kind for e in report.entries if e.kind == "step"] == []


async def sweep_until_archived(harness: Harness, number: str) -> Any:
    """Run the archive sweep until claim ``number``'s history is archived (visibility catches
    up with the close within moments); the last sweep's result."""
    for _ in range(50):
        swept = await archive_closed_claims(harness.client, harness.sessions)
        with harness.sessions() as s:
            row = s.get(ClaimArchive, number)
            if row is not None and row.history_json:
                return swept
        await asyncio.sleep(0.2)
    return swept


async def test_a_closed_claim_still_audits_from_the_archive_after_temporal_deleted_its_history(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    state = await harness.drive(harness.cases[2])
    final = await closed(harness.client, state.claim_number)
    number = state.claim_number
    live = await build_audit(
        await harness.client.get_workflow_handle(workflow_id_for(number)).fetch_history(),
        data_converter=harness.client.data_converter,
    )
    assert live.claim is not None
    # The workflow archived its decision record itself when it closed (archive_decision).
    swept = await sweep_until_archived(harness, number)
    assert not swept.failed
    again = await archive_closed_claims(harness.client, harness.sessions)
    assert again.archived == 0  # nothing archived twice
    await harness.client.workflow_service.delete_workflow_execution(
        DeleteWorkflowExecutionRequest(
            namespace=harness.client.namespace,
            workflow_execution=WorkflowExecution(workflow_id=workflow_id_for(number)),
        )
    )
    for _ in range(100):  # deletion runs in the background on the server
        try:
            await harness.client.get_workflow_handle(workflow_id_for(number)).fetch_history()
        except RPCError as e:
            if e.status == RPCStatusCode.NOT_FOUND:
                break
        await asyncio.sleep(0.1)
    else:
        # The dev server sometimes takes longer to delete; answer NOT_FOUND as it then will.
        async def gone(client: Client, claim_number: str) -> Any:
            raise ClaimNotFound(claim_number, f"no claim {claim_number!r} in Temporal")

        monkeypatch.setattr("claims.audit.history.fetch_claim_history", gone)
    report = await audit_claim(harness.client, harness.sessions, number, AUDITOR)
    assert report.source == "archive" and report.stage == "closed"
    assert report.total_paid == Decimal("45000.00")
    text, source = await export_history(harness.client, number, AUDITOR, harness.sessions)
    archived = await read_history(text, data_converter=harness.client.data_converter)
    assert source == "archive" and archived.workflow_id == workflow_id_for(number)
    # with only the decision bundle left, the audit still shows decision and payouts
    with harness.sessions() as s:
        row = s.get(ClaimArchive, number)
        assert row is not None
        bundle = json.loads(row.decision_bundle)
        assert bundle["source"] == "activity" and bundle["sla_policy_version"] == load_sla_policy().version
        assert bundle["terms"][0]["terms_hash"] == final.decision.lines[0].terms_hash  # type: ignore[union-attr]
        row.history_json = row.history_sha256 = None
        s.commit()
        assert load_archive(s, number) is not None
    only_bundle = await audit_claim(harness.client, harness.sessions, number, AUDITOR)
    assert only_bundle.source == "archive-bundle" and only_bundle.total_paid == Decimal("45000.00")
    with pytest.raises(ClaimNotFound, match="in Temporal or in the archive"):
        await audit_claim(harness.client, harness.sessions, "JS20990101-NOBODY", AUDITOR)


async def test_a_changed_terms_file_shows_up_in_replay_as_a_decision_difference(tmp_path: Path) -> None:
    terms = tmp_path / "terms"
    shutil.copytree(TERMS_DIR, terms)
    f = terms / "family_accident@2020.json"
    f.write_text(f.read_text("utf-8").replace('"3": "0.80"', '"3": "0.75"'), encoding="utf-8")
    changed = RulesEngine(catalogue=load_catalogue(terms))
    history = await read_history((GOLDEN / "ordinary_paid.json").read_bytes(), "ordinary_paid")
    report = await replay_history(history, "ordinary_paid", engine=changed)
    assert report.outcome == "decision_differs"
    diffs = [d for c in report.decision_checks for d in c.differences]
    assert 'lines[0].amount: recorded "36000.00", now "33750.00"' in diffs
    assert any(d.startswith("lines[0].terms_hash:") for d in diffs)
    assert any(d.startswith("total:") for d in diffs)
    unchanged = await replay_history(history, "ordinary_paid")
    assert unchanged.outcome == "ok" and unchanged.decision_checks


def _golden_json() -> dict[str, Any]:
    return json.loads((GOLDEN / "declined.json").read_text("utf-8"))


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda t: t[: len(t) // 2], "not valid JSON at line .* corrupted or truncated"),
        (lambda t: "\x00garbage" + t, "not valid JSON"),
        (lambda t: json.dumps({"workflows": []}), "no 'events' list"),
        (
            lambda t: t.replace('"name": "ClaimWorkflow"', '"name": "PayrollWorkflow"', 1),
            "workflow type 'PayrollWorkflow', not 'ClaimWorkflow'",
        ),
        (
            lambda t: json.dumps({"events": [e for i, e in enumerate(json.loads(t)["events"]) if i != 5]}),
            "events are missing",
        ),
    ],
    ids=["truncated", "corrupted", "not-a-history", "other-workflow-type", "events-missing"],
)
def test_bad_history_files_are_refused_naming_the_problem(make: Any, match: str) -> None:
    text = (GOLDEN / "declined.json").read_text("utf-8")
    with pytest.raises(HistoryError, match=match):
        parse_history_json(make(text), "bad.json")


def test_a_history_exported_with_decoded_payloads_is_refused() -> None:
    data = _golden_json()
    attrs = data["events"][0]["workflowExecutionStartedEventAttributes"]
    attrs["input"]["payloads"] = [{"claim_number": "JS20220510-P0006", "county": "长沙市雨花区"}]
    with pytest.raises(HistoryError, match="exported with decoded payloads"):
        parse_history_json(json.dumps(data), "decoded.json")


async def test_a_bulk_replay_goes_on_past_bad_files_and_counts_each_outcome(tmp_path: Path) -> None:
    bad = tmp_path / "truncated.json"
    bad.write_text((GOLDEN / "declined.json").read_text("utf-8")[:500], encoding="utf-8")
    files = [GOLDEN / "declined.json", bad, tmp_path / "missing.json", GOLDEN / "green_channel.json"]
    reports = await replay_many(histories_from_files(files), AUDITOR)
    assert [r.outcome for r in reports] == ["ok", "unreadable", "unreadable", "ok"]
    counts = summarize(reports)
    assert (counts["ok"], counts["unreadable"], counts["total"]) == (2, 2, 4)


def test_replay_command_replays_files_without_a_server_and_exits_1_on_a_bad_one(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{", encoding="utf-8")
    env = {
        **os.environ,
        "CLAIMS_ACTOR": "aud.provincial",
        "CLAIMS_ROLE": "auditor",
        "CLAIMS_LOG_FORMAT": "json",
    }
    env["CLAIMS_DATA_DIR"] = str(tmp_path)
    args = [str(BIN / "claims"), "replay", "--file", str(GOLDEN / "declined.json")]
    ok = subprocess.run(args, cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0, ok.stderr[-2000:]
    assert "1 replayed: 1 ok" in ok.stdout
    assert '"actor": "aud.provincial"' in ok.stderr and "claim replayed" in ok.stderr
    failed = subprocess.run(
        args + ["--file", str(bad)], cwd=REPO, env=env, capture_output=True, text=True, timeout=120
    )
    assert failed.returncode == 1
    assert "not valid JSON" in failed.stdout and "2 replayed: 1 ok" in failed.stdout


async def test_audit_reads_are_logged_with_the_actor(harness: Harness) -> None:
    from structlog.testing import capture_logs

    number = await harness.report(harness.cases[1])
    with capture_logs() as logs:
        await audit_claim(harness.client, harness.sessions, number, AUDITOR)
    assert any(
        e["event"] == "claim audited" and e["actor"] == "aud.provincial" and e["role"] == "auditor"
        for e in logs
    )
    assert (await claim_state(harness.client, number)).claim_number == number


async def test_the_audit_command_prints_the_same_report_as_json_and_as_text(
    harness: Harness, tmp_path: Path
) -> None:
    number = (await harness.drive(harness.cases[2])).claim_number
    await closed(harness.client, number)
    report = await audit_claim(harness.client, harness.sessions, number, AUDITOR)
    env = {
        **os.environ,
        "TEMPORAL_ADDRESS": harness.client.service_client.config.target_host,
        "CLAIMS_PAYLOAD_KEYS": TEST_PAYLOAD_KEYS,  # the dev server's payloads are encrypted
        "CLAIMS_ACTOR": AUDITOR.id,
        "CLAIMS_ROLE": "auditor",
        "CLAIMS_DATA_DIR": str(tmp_path),
        "CLAIMS_LOG_FORMAT": "json",
    }
    args = [str(BIN / "claims"), "audit", number]

    def run(*extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*args, *extra], cwd=REPO, env=env, capture_output=True, text=True, timeout=120)

    as_json = await asyncio.to_thread(run, "--json")
    assert as_json.returncode == 0, as_json.stderr[-2000:]
    assert json.loads(as_json.stdout) == json.loads(audit_json(report))
    assert json.loads(as_json.stdout)["terms"][0]["terms_version"] == report.terms[0].terms_version
    as_text = await asyncio.to_thread(run)
    assert as_text.returncode == 0, as_text.stderr[-2000:]
    assert as_text.stdout.rstrip("\n") == format_audit(report)


async def test_a_bundle_rebuilt_from_a_lean_history_keeps_clocks_timeline_and_documents(
    harness: Harness,
) -> None:
    """A lean claim's history records no final state (``lean-history``): when its decision
    record is missing, the sweep rebuilds the bundle from the history and the closed workflow's
    ``state`` Query, so clocks, documents and the timeline are not lost."""
    state = await harness.drive(harness.cases[2])
    final = await closed(harness.client, state.claim_number)
    number = state.claim_number
    history = await harness.client.get_workflow_handle(workflow_id_for(number)).fetch_history()
    assert (await build_audit(history, data_converter=harness.client.data_converter)).final_state is None
    with harness.sessions() as s:  # as if archive_decision had never written (e.g. a restored store)
        s.execute(delete(ClaimArchive).where(ClaimArchive.claim_number == number))
        s.commit()
    swept = await sweep_until_archived(harness, number)
    assert not swept.failed
    with harness.sessions() as s:
        row = s.get(ClaimArchive, number)
        assert row is not None
        bundle = json.loads(row.decision_bundle)
    assert bundle["source"] == "history"
    assert [c["name"] for c in bundle["clocks"]] == [c.name for c in final.clocks] and len(final.clocks) >= 4
    assert len(bundle["timeline"]) == len(final.timeline) and bundle["timeline"][-1]["event"] == final.timeline[-1].event
    assert [p["amount"] for p in bundle["payouts"]] == ["45000.00"]
