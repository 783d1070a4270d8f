"""Golden claim histories replay with the current workflow code.

The histories in ``tests/golden/`` (one per path: ordinary paid, green channel,
investigation, declined, breached and escalated, paused for documents) were recorded on the
time-skipping server by ``tests/golden/generate.py``. Any change to ``workflows/claim.py``
must keep every one of them replaying: a change to the sequence of commands (activities,
timers, ...) goes behind ``workflow.patched("change-id")``, as the last two tests show.

Regenerate them (one command) only when new histories are *meant* to differ:

    .venv/bin/python tests/golden/generate.py            # every path
    .venv/bin/python tests/golden/generate.py declined   # one path

and keep an old file beside the new one while claims recorded under the old code may
still be running.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from temporalio import workflow
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from claims.audit import read_history, replay_history
from claims.audit.timeline import ACTIVITY_TYPES, UPDATE_TYPES, build_audit
from claims.models import (
    Ack,
    ChecklistRequest,
    ChecklistResult,
    ClaimInput,
    ClaimState,
    PriorBenefitsRequest,
    PriorBenefitsResult,
    StepResult,
)
from claims.models.steps import STEP_RULES
from workflows.claim import ClaimWorkflow

GOLDEN = Path(__file__).resolve().parent / "golden"
GOLDEN_FILES = sorted(GOLDEN.glob("*.json"))
"""The current histories, one per path (``tests/golden/generate.py``)."""
OLDER_FILES = sorted(GOLDEN.glob("v*/*.json"))
"""Histories recorded by earlier versions of the workflow: ``v1`` before any ``workflow.patched``
change; ``v2`` with ``document-checklist``, ``prior-benefits`` and ``archive-decision`` but before
``local-short-steps`` and ``skip-unchanged-projection`` (what claims in flight at that upgrade hold);
``v3`` before ``benefit-reservation``; ``v4`` before the lifecycle (``lifecycle-*``) and review
(``review-*``) steps; ``v5`` before ``lifecycle-archive-at-close``; ``v6`` before
``small-step-results`` (steps answered with the whole state); ``v7`` before ``lean-history`` (each
earlier patch asked and recorded, the final state written twice at the end)."""
PATHS = {
    "ordinary_paid",
    "green_channel",
    "investigation",
    "declined",
    "breached_escalated",
    "paused_for_documents",
}


async def golden(name: str) -> WorkflowHistory:
    path = GOLDEN / f"{name}.json"
    return await read_history(path.read_bytes(), str(path))


def test_there_is_a_golden_history_for_every_path() -> None:
    assert {p.stem for p in GOLDEN_FILES} >= PATHS


def test_the_histories_of_earlier_versions_are_kept_for_every_path() -> None:
    for version in ("v1", "v2", "v3", "v4", "v5", "v6", "v7"):
        assert {p.stem for p in OLDER_FILES if p.parent.name == version} >= PATHS, version


@pytest.mark.parametrize("path", GOLDEN_FILES + OLDER_FILES, ids=lambda p: f"{p.parent.name}/{p.stem}")
async def test_golden_history_replays_with_the_current_workflow(path: Path) -> None:
    history = await read_history(path.read_bytes(), str(path))
    report = await replay_history(history, path.stem, data_converter=pydantic_data_converter)
    assert report.outcome not in ("nondeterministic", "replay_failed", "unreadable"), report.message


# A later version of the claim workflow that runs one more activity after triage. Without
# ``workflow.patched`` an old history (recorded without that activity) no longer replays.


@workflow.defn(name="ClaimWorkflow", sandboxed=False)
class ClaimWorkflowWithRecheck(ClaimWorkflow):
    @workflow.run
    async def run(self, inp: ClaimInput) -> object:
        return await super().run(inp)

    async def _triage_claim(self) -> None:
        await super()._triage_claim()
        if workflow.patched("recheck-triage"):
            await workflow.execute_activity(
                "recheck_triage", self._inp, result_type=Ack, start_to_close_timeout=timedelta(seconds=30)
            )


@workflow.defn(name="ClaimWorkflow", sandboxed=False)
class ClaimWorkflowWithUnpatchedRecheck(ClaimWorkflow):
    @workflow.run
    async def run(self, inp: ClaimInput) -> object:
        return await super().run(inp)

    async def _triage_claim(self) -> None:
        await super()._triage_claim()
        await workflow.execute_activity(
            "recheck_triage", self._inp, result_type=Ack, start_to_close_timeout=timedelta(seconds=30)
        )


async def test_a_change_behind_workflow_patched_keeps_an_old_history_replaying() -> None:
    history = await golden("ordinary_paid")
    replayer = Replayer(workflows=[ClaimWorkflowWithRecheck], data_converter=pydantic_data_converter)
    result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    assert result.replay_failure is None


async def test_the_same_change_without_workflow_patched_is_caught_as_nondeterministic() -> None:
    history = await golden("ordinary_paid")
    report = await replay_history(
        history,
        "ordinary_paid",
        data_converter=pydantic_data_converter,
        workflows=[ClaimWorkflowWithUnpatchedRecheck],
    )
    assert report.outcome == "nondeterministic", report.message
    assert "recheck_triage" in report.message or "Nondeterminism" in report.message


def test_the_audit_decodes_every_step_and_activity_the_code_defines() -> None:
    # steps come from the registry, so the four the hand-kept lists missed are there
    assert UPDATE_TYPES == {name: rule.input for name, rule in STEP_RULES.items()}
    assert set(workflow._Definition.must_from_class(ClaimWorkflow).updates) == set(UPDATE_TYPES)
    assert {"refer_to_consultation", "approve_payout"} <= set(UPDATE_TYPES)
    # activities come from their @activity.defn methods
    assert ACTIVITY_TYPES["find_prior_benefits"] == (PriorBenefitsRequest, PriorBenefitsResult)
    assert ACTIVITY_TYPES["document_checklist"] == (ChecklistRequest, ChecklistResult)


@pytest.mark.parametrize("path", GOLDEN_FILES, ids=lambda p: p.stem)
async def test_every_activity_a_golden_history_ran_has_its_models(path: Path) -> None:
    history = await read_history(path.read_bytes(), str(path))
    ran = {
        e.activity_task_scheduled_event_attributes.activity_type.name
        for e in history.events
        if e.HasField("activity_task_scheduled_event_attributes")
    }
    assert ran and ran <= set(ACTIVITY_TYPES)
    assert all(ACTIVITY_TYPES[name][0] is not None for name in ran)


async def test_steps_of_a_current_history_answer_small_and_those_recorded_before_with_the_state() -> None:
    """Issue 18 (``small-step-results``): an Update's recorded answer is a ``StepResult`` in the
    current goldens and the whole ``ClaimState`` in ``v6``; the audit reads both and names every
    recorded deadline after its clock alike."""
    reports = {}
    for name, path, answer_type in (
        ("current", GOLDEN / "ordinary_paid.json", StepResult),
        ("v6", GOLDEN / "v6" / "ordinary_paid.json", ClaimState),
    ):
        history = await read_history(path.read_bytes(), str(path))
        answers = [
            e.workflow_execution_update_completed_event_attributes.outcome.success.payloads
            for e in history.events
            if e.HasField("workflow_execution_update_completed_event_attributes")
        ]
        convert = pydantic_data_converter.payload_converter
        decoded = [convert.from_payloads(p, [answer_type])[0] for p in answers]
        assert len(decoded) >= 5 and all(isinstance(d, answer_type) for d in decoded), name
        biggest = max(len(p[0].data) for p in answers)
        assert biggest < 4096 if answer_type is StepResult else biggest > 8192, (name, biggest)
        reports[name] = await build_audit(history, pydantic_data_converter, name)
    current, before = reports["current"], reports["v6"]
    assert [d.clock for d in current.deadlines] == [d.clock for d in before.deadlines]
    assert "clock" not in {d.clock for d in current.deadlines}
    assert [e.stage_after for e in current.entries if e.kind == "step"] == [
        e.stage_after for e in before.entries if e.kind == "step"
    ]


def _events(history: WorkflowHistory, field: str) -> list:
    return [getattr(e, field) for e in history.events if e.HasField(field)]


async def test_a_lean_history_records_one_patch_a_small_result_and_no_archived_state() -> None:
    """Issue 18 (``lean-history``): a claim started today asks one patch, not each earlier one;
    ends with a ``StepResult``; archives its decision with a local activity (the final state is
    not written to the history as its input); upserts a search attribute only when it changes.
    The history recorded before (``v7``) had each patch's marker and upsert and the state twice."""
    now, before = await golden("ordinary_paid"), await read_history(
        (GOLDEN / "v7" / "ordinary_paid.json").read_bytes(), "v7"
    )
    convert = pydantic_data_converter.payload_converter

    def patches(h: WorkflowHistory) -> list[str]:
        return [
            convert.from_payloads(m.details["patch-data"].payloads)[0]["id"]
            for m in _events(h, "marker_recorded_event_attributes")
            if m.marker_name == "core_patch"
        ]

    assert patches(now) == ["lean-history"]
    assert {"local-short-steps", "skip-unchanged-projection", "small-step-results"} <= set(patches(before))
    assert len(patches(before)) >= 10
    upserts = [u.search_attributes.indexed_fields for u in _events(now, "upsert_workflow_search_attributes_event_attributes")]
    assert [list(f) for f in upserts if "TemporalChangeVersion" in f] == [["TemporalChangeVersion"]]
    claim_upserts = [f for f in upserts if "TemporalChangeVersion" not in f]
    assert len(claim_upserts[0]) == 7  # the first sends every claim attribute
    assert all(len(f) < 7 for f in claim_upserts[1:]) and "ClaimCounty" not in claim_upserts[1]

    (done,) = _events(now, "workflow_execution_completed_event_attributes")
    (end,) = convert.from_payloads(done.result.payloads, [StepResult])
    assert (end.step, end.stage, end.total_paid) == ("end", "closed", Decimal("36000.00"))
    assert len(done.result.payloads[0].data) < 2048
    (old_done,) = _events(before, "workflow_execution_completed_event_attributes")
    assert len(old_done.result.payloads[0].data) > 8192

    scheduled = {a.activity_type.name for a in _events(now, "activity_task_scheduled_event_attributes")}
    assert "archive_decision" not in scheduled and "evaluate_coverage" in scheduled
    assert "archive_decision" in {a.activity_type.name for a in _events(before, "activity_task_scheduled_event_attributes")}
    size = {name: len(h.to_json()) for name, h in (("now", now), ("v7", before))}
    assert size["now"] < 0.65 * size["v7"], size

    # the audit reads both alike: the same steps, stages, amounts and the archive entry
    reports = {name: await build_audit(h, pydantic_data_converter, name) for name, h in (("now", now), ("v7", before))}
    for r in reports.values():
        assert r.stage == "closed" and [p.amount for p in r.payouts] == [Decimal("36000.00")]
        # archived when it closed and again when the 90-day reopen period ended
        assert [e.kind for e in r.entries].count("archived") == 2
    assert [(e.name, e.stage_after) for e in reports["now"].entries if e.kind == "step"] == [
        (e.name, e.stage_after) for e in reports["v7"].entries if e.kind == "step"
    ]
